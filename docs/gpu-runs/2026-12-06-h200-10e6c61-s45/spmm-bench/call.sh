# Prepared in session 40: the SpMM wgmma tile's 3xTF32 chunk as landed (session 40 measured it only
# as a patch on an H100, then landed it as the same machine code: docs/kernels.md). One call (about
# 9.5 min) with carry [".dlmc"]: e7ae363's sources in .dlmc/old (the build before the landing).
# - build: the harness of this commit and of .dlmc/old, and the package, at once;
# - harness side by side, old and new, on the 36 problems the time model was fitted to (session 32),
#   then the model refitted to new's runs (fit-new.txt; on an H200 its constants replace
#   SpmmWgmmaConfig's, with SOURCE_LOG in tests/test_fit_wgmma_time.py pointing at this log);
# - the SpMM benchmark by the device clock in the time left (as session 33's a05c5a4 call).
# Set-up from the repository root: mkdir -p .dlmc/old && cp -r ../shared/dlmc/* .dlmc/ &&
#   git rev-parse --short HEAD > .dlmc/commit && git archive e7ae363 cuda scripts | tar -x -C .dlmc/old
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
T0=$(date +%s)
export COMMIT=$(cat .dlmc/commit)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1 &
wait; ls /tmp/sh_new /tmp/sh_old; tail -n 1 $OUT/build-pkg.log; echo "built $(( $(date +%s) - T0 )) s"
# The tile forced for the harness only (session 41's call left it exported for the benchmark).
for f in transformer/magnitude_pruning/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.6/body_decoder_layer_0_ffn_conv2_fully_connected \
    transformer/magnitude_pruning/0.7/body_decoder_layer_0_ffn_conv1_fully_connected \
    transformer/magnitude_pruning/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
    rn50/magnitude_pruning/0.8/bottleneck_1_block_group1_1_1; do
  name=$(echo $f | cut -d/ -f1,3,4 | tr / -); gunzip -c .dlmc/$f.smtx.gz > /tmp/$name.smtx
  case $f in rn50*) ns="3136 200704";; *) ns="256 2048";; esac
  for n in $ns; do for dt in float32 tf32 bfloat16; do for v in old new; do
    echo "== $name n=$n $dt $v"; JSDL_SPMM_VARIANT=wgmma timeout 10 /tmp/sh_$v /tmp/$name.smtx $n $dt 7
  done; done; done
done > $OUT/harness.log 2>&1
awk '/^==/ {key = $2 " " $3 " " $4; label = $5; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
     /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, label] = substr($i, 4)}
     END {for (j = 1; j <= c; ++j) {k = keys[j]; printf "%-62s old %8.2f new %8.2f (%.3fx)\n", k,
          us[k, "old"], us[k, "new"], (us[k, "new"] > 0 ? us[k, "old"] / us[k, "new"] : 0)}}' \
  $OUT/harness.log | tee $OUT/pairs.txt
echo "harness $(( $(date +%s) - T0 )) s"
python3 scripts/fit_wgmma_time.py $OUT/harness.log --label new > $OUT/fit-new.txt 2>&1; head -n 1 $OUT/fit-new.txt
python3 scripts/fit_wgmma_time.py $OUT/harness.log --label old | head -n 1
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
left=$(( ${TOTAL:-575} - ($(date +%s) - T0) - 25 ))
(cd /tmp && timeout $left python3 -m jax_sparse_dl.bench $R/.dlmc --out $OUT/bench --ops spmm --limit-per-level 1 \
  --skip-contenders 'bcsr*' --time-budget $(( left - 40 ))) > $OUT/bench.log 2>&1
echo "bench rc=$? $(( $(date +%s) - T0 )) s"; tail -n 30 $OUT/bench/summary.md
{ echo "commit: $COMMIT"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cp $OUT/bench/summary.md $OUT/summary.md
cd $OUT && tar -czf all.tgz --exclude=all.tgz * && rm -rf bench && find . -maxdepth 1 -type f ! -name all.tgz \
  ! -name summary.md ! -name pairs.txt ! -name env.txt ! -name fit-new.txt -delete
