# Session 33, call 1: the patch prepared in session 32 (parts over k for the SpMM wgmma tile),
# applied on main 9df4856 as d836b85. Main's sources in .dlmc/old (git archive main cuda scripts |
# tar -x -C .dlmc/old), the DLMC sample in .dlmc, the commit in .dlmc/commit; run with carry
# [".dlmc"], 325 s: build (harnesses old and new; the package), the harness on the calls of few
# work items (the transformer matrices at N = 256, two ResNet-50 layers at batch 1) in 3xTF32,
# TF32 and bfloat16: main's choice, the patched heuristic's, and the tile in 1, 4 and 8 parts;
# memcheck / racecheck with parts; the SpMM GPU tests (test_spmm_wgmma_k_parts among them).
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1 &
wait; ls /tmp/sh_new /tmp/sh_old; tail -n 1 $OUT/build-pkg.log; echo "built $(( $(date +%s) - T0 )) s"
grep -c C7520 $OUT/build-new.log  # 0 expected (README: the loops' forms)
M=.dlmc/transformer/magnitude_pruning; RN=.dlmc/rn50/magnitude_pruning
run() {  # label binary variant file n dtype
  echo "== $(basename $4 .smtx) n=$5 $6 $1"; JSDL_SPMM_VARIANT=$3 timeout 10 $2 $4 $5 $6 7
}
{
  for f in $M/0.6/body_decoder_layer_0_ffn_conv2_fully_connected $M/0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
      $M/0.7/body_decoder_layer_0_ffn_conv1_fully_connected $M/0.95/body_decoder_layer_0_ffn_conv1_fully_connected \
      $M/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
      $M/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
      $RN/0.8/bottleneck_1_block_group2_1_1 $RN/0.9/bottleneck_2_block_group1_1_1; do
    s=/tmp/$(echo $f | cut -d/ -f2,4,5 | tr / -).smtx; gunzip -c $f.smtx.gz > $s
    case $f in *group2_1_1) n=784;; *group1_1_1) n=3136;; *) n=256;; esac
    for dt in float32 tf32 bfloat16; do
      run old /tmp/sh_old "" $s $n $dt; run new /tmp/sh_new "" $s $n $dt
      for p in 1 4 8; do run parts$p /tmp/sh_new wgmma:$p $s $n $dt; done
    done
  done
} > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
awk '/^==/ {key = $2 " " $3 " " $4; label = $5; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
     /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, label] = substr($i, 4)}
     END {for (j = 1; j <= c; ++j) {k = keys[j]; printf "%-60s old %7.2f new %7.2f (%.2fx) parts 1/4/8: %7.2f %7.2f %7.2f\n",
          substr(k, 1, 60), us[k, "old"], us[k, "new"], us[k, "old"] / us[k, "new"], us[k, "parts1"], us[k, "parts4"], us[k, "parts8"]}}' \
  $OUT/harness.log | tee $OUT/pairs.txt
for dt in float32 tf32 bfloat16; do
  for p in 3 8; do
    JSDL_SPMM_VARIANT=wgmma:$p compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_new 130,700,0.3 136 $dt 1 2>&1 | tail -n 1
  done
  JSDL_SPMM_VARIANT=wgmma:4 compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh_new 200,900,0.4 256 $dt 1 2>&1 | tail -n 1
done > $OUT/sanitize.log 2>&1
echo "sanitize $(( $(date +%s) - T0 )) s"; cat $OUT/sanitize.log
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
left=$(( ${TOTAL:-540} - ($(date +%s) - T0) - 10 ))
(cd /tmp && JAX_PLATFORMS=cuda timeout $left python3 -m pytest -q -n 15 $R/tests/test_spmm.py $R/tests/test_spmm_heuristic.py \
  $R/tests/test_gpu_variants.py -k "not sddmm and not softmax" -rs) > $OUT/pytest-spmm.log 2>&1
echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 2 $OUT/pytest-spmm.log
{ echo "commit: $(cat .dlmc/commit)"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz *.log *.txt && rm -f build-old.log build-pkg.log
