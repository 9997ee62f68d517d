# Session 33, call 2: parts over k with the fitted cost (see ../2026-12-04-h200-d836b85-k-parts).
# Build (package; harness of this commit and of main 9df4856 in .dlmc/old); harness: 512 x 2048 at
# N = 256 (main's choice, the new heuristic's, wgmma in 2 and 3 parts) and the calls where call 1's
# heuristic had chosen parts and lost (main's choice against the new one); the wgmma GPU tests;
# the SpMM benchmark by the device clock. Run with carry [".dlmc"].
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
export COMMIT=$(cat .dlmc/commit)
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1 &
wait; tail -n 1 $OUT/build-pkg.log; echo "built $(( $(date +%s) - T0 )) s"
M=.dlmc/transformer/magnitude_pruning
run() { echo "== $(basename $4 .smtx) n=$5 $6 $1"; JSDL_SPMM_VARIANT=$3 timeout 10 $2 $4 $5 $6 7; }
{
  for f in $M/0.6/body_decoder_layer_0_ffn_conv2_fully_connected $M/0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
      $M/0.7/body_decoder_layer_0_ffn_conv1_fully_connected \
      $M/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected; do
    s=/tmp/$(echo $f | cut -d/ -f2,4,5 | tr / -).smtx; gunzip -c $f.smtx.gz > $s
    for dt in float32 tf32 bfloat16; do
      run old /tmp/sh_old "" $s 256 $dt; run new /tmp/sh_new "" $s 256 $dt
      case $f in *conv2*) for p in 2 3 4; do run parts$p /tmp/sh_new wgmma:$p $s 256 $dt; done;; esac
    done
  done
} > $OUT/harness.log 2>&1
awk '/^==/ {key = $2 " " $3 " " $4; label = $5; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
     /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, label] = substr($i, 4)}
     END {for (j = 1; j <= c; ++j) {k = keys[j]; printf "%-60s old %7.2f new %7.2f (%.2fx) parts 2/3/4: %7.2f %7.2f %7.2f\n",
          substr(k, 1, 60), us[k, "old"], us[k, "new"], us[k, "old"] / us[k, "new"], us[k, "parts2"], us[k, "parts3"], us[k, "parts4"]}}' \
  $OUT/harness.log | tee $OUT/pairs.txt
echo "harness $(( $(date +%s) - T0 )) s"
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
(cd /tmp && JAX_PLATFORMS=cuda timeout 90 python3 -m pytest -q -n 15 $R/tests/test_spmm_heuristic.py \
  $R/tests/test_gpu_variants.py -k "wgmma and not sddmm" -rs) > $OUT/pytest-wgmma.log 2>&1
echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 1 $OUT/pytest-wgmma.log
left=$(( ${TOTAL:-575} - ($(date +%s) - T0) - 25 ))
(cd /tmp && timeout $left python3 -m jax_sparse_dl.bench $R/.dlmc --out $OUT/bench --ops spmm --limit-per-level 1 \
  --skip-contenders 'bcsr*' --time-budget $(( left - 40 ))) > $OUT/bench.log 2>&1
echo "bench rc=$? $(( $(date +%s) - T0 )) s"; tail -n 30 $OUT/bench/summary.md
{
  echo "commit: ${COMMIT:-unknown}"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"
  nvcc --version | tail -n 2
} > "$OUT/env.txt" 2>&1
cp $OUT/bench/summary.md $OUT/summary.md; cd $OUT && tar -czf all.tgz --exclude=all.tgz * && find . -mindepth 1 ! -name all.tgz ! -name summary.md ! -name pairs.txt ! -name env.txt -delete
