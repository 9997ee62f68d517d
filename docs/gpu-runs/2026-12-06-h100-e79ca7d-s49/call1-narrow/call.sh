# Session 49, after two starts found no machine (budget short): the narrow-stream A/B of call.sh
# (with four synthetic problems of the speculative rule's scope), its checks and memcheck, and
# 3abd5ef's rule through the heuristic; then the GPU suite's variant tests on the wheel of
# e79ca7d (narrow-stream + the rule) in the time left. Run from a checkout of e79ca7d, carry
# [".dlmc/ab", ".dlmc/slim", ".dlmc/wheel-narrow"]. Writes narrow.log, harness-commit.txt and
# gpu_run.sh's env.txt, build-wheel.log, pytest-gpu.log.
set -u
D=$PWD/.dlmc/slim
T0=$(date +%s)
RN=rn50/magnitude_pruning
TR=transformer/magnitude_pruning
gunzip -c $D/$RN/0.98/bottleneck_1_block_group2_1_1.smtx.gz > /tmp/r98.smtx
gunzip -c $D/$TR/0.9/body_decoder_layer_0_ffn_conv2_fully_connected.smtx.gz > /tmp/t90.smtx
gunzip -c $D/$TR/0.6/body_decoder_layer_0_ffn_conv2_fully_connected.smtx.gz > /tmp/t60.smtx
one() {  # one PATTERN N DTYPE VARIANT [HARNESS]
  echo "== $(basename $1) n=$2 $3 ${5:-head} $4 round $R"
  if [ "$4" != - ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  timeout 30 $PWD/.dlmc/ab/spmm_harness_${5:-head} $1 $2 $3 9 || echo "!! exit $?"
}
narrow=("/tmp/t90.smtx 256 float32" "/tmp/t60.smtx 256 float32" "/tmp/t90.smtx 256 bfloat16"
  "/tmp/t60.smtx 256 bfloat16" "/tmp/t90.smtx 2048 float32" "256,2304,0.1 256 float32"
  "256,2304,0.1 256 bfloat16" "512,2048,0.2 256 float32" "1024,3300,0.05 256 float32")
{
  for R in 1 2; do
    for spec in "${narrow[@]}"; do
      if [ $R = 1 ]; then one $spec - head; one $spec narrow-stream narrow
      else one $spec narrow-stream narrow; one $spec - head; fi
    done
  done
  R=c
  one 777,3000,0.05 200 float32 narrow-stream:100 narrow
  one 1000,2048,0.1 264 bfloat16 narrow-stream:37 narrow
  one 2000,300,0.03 1000 float32 narrow-stream:2000 narrow
  one 513,129,0.06 100 float32 narrow-stream:1 narrow
  one 4099,256,0.02 520 bfloat16 narrow-stream narrow
  for spec in "777,3000,0.05 200 float32 narrow-stream:100" "513,129,0.06 104 bfloat16 narrow-stream:7"; do
    set -- $spec
    JSDL_SPMM_VARIANT=$4 timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $PWD/.dlmc/ab/spmm_harness_narrow $1 $2 $3 1 2>&1 | tail -3
    echo "memcheck exit ${PIPESTATUS[0]}"
  done
  for R in 1 2; do
    for v in - rows-stream gather; do one /tmp/r98.smtx 200704 float32 $v; done
  done
} > $OUT/narrow.log 2>&1
unset JSDL_SPMM_VARIANT
echo "harness $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/narrow.log)"
cp .dlmc/ab/commit $OUT/harness-commit.txt
LEFT=$(( 560 - ($(date +%s) - T0) ))
WHEEL=$(ls $PWD/.dlmc/wheel-narrow/*.whl) COMMIT=e79ca7d DLMC=$D STAGES="build pytest" \
  PYTEST_WORKERS=16 PYTEST_SECONDS=$(( LEFT - 20 )) PYTEST_PATHS="$PWD/tests/test_gpu_variants.py" \
  bash scripts/gpu_run.sh
