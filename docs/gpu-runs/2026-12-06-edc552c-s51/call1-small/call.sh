# Prepared in session 50 (carry [".dlmc/ab", ".dlmc/slim", ".dlmc/union"]; about 1-2 minutes).
# Build first on the CPU machine: bash docs/gpu-runs/2026-12-06-edc552c-s51/call1-small/build.sh.
# small-stream (small-stream.patch: the wide panel in blocks of 16 warps, three an SM, one wave)
# against the heuristic's choice, each call twice in turn, with the probe's one-row-a-warp walk
# in the same shape (R = 1, W = 16) beside them: the four one-wave calls where the probe won
# (ResNet-50's 128 x 256 at 70% and 95% and 64 x 64 at 50%, N = 3136; synthetic 128 x 256 at
# 50%), bfloat16 on the 70% call, the synthetic 256 x 256 at 30% (two waves: the probe lost), the
# 64 x 576 at 90% (one panel an SM fits) and the transformer's 98% layer at N = 256. Then
# correctness on odd shapes (the harness checks against float64) and memcheck on two calls.
set -u
D=$PWD/.dlmc/slim
T0=$(date +%s)
RN=$D/rn50/magnitude_pruning TR=$D/transformer/magnitude_pruning
gunzip -c $RN/0.5/bottleneck_1_block_group_projection_block_group1.smtx.gz > /tmp/r50.smtx
gunzip -c $RN/0.7/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/r70.smtx
gunzip -c $RN/0.9/bottleneck_2_block_group1_1_1.smtx.gz > /tmp/r90.smtx
gunzip -c $RN/0.95/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/r95.smtx
gunzip -c $TR/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected.smtx.gz > /tmp/t98.smtx
one() {  # one PATTERN N DTYPE VARIANT [HARNESS]
  echo "== $(basename $1) n=$2 $3 ${5:-head} $4 round $R"
  if [ "$4" != - ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  timeout 30 $PWD/.dlmc/ab/spmm_harness_${5:-head} $1 $2 $3 9 || echo "!! exit $?"
}
specs=("/tmp/r70.smtx 3136 float32" "/tmp/r70.smtx 3136 bfloat16" "/tmp/r50.smtx 3136 float32"
  "/tmp/r95.smtx 3136 float32" "128,256,0.5 3136 float32" "256,256,0.3 3136 float32"
  "/tmp/r90.smtx 3136 float32" "/tmp/t98.smtx 256 float32")
{
  for R in 1 2; do
    for spec in "${specs[@]}"; do
      if [ $R = 1 ]; then one $spec - head; one $spec small-stream small
      else one $spec small-stream small; one $spec - head; fi
      set -- $spec
      if [ $3 = float32 ] && [ $((${2} % 64)) = 0 ]; then
        echo "== $(basename $1) n=$2 probe R=1 W=16 round $R"
        timeout 30 $PWD/.dlmc/union/spmm_union_probe $1 $2 1 16 1 9 || echo "!! exit $?"
      fi
    done
  done
  R=c
  for s in "/tmp/r70.smtx 3136 float32" "/tmp/r70.smtx 3136 bfloat16"; do
    for rows in 8 12 24 32; do one $s small-stream:$rows small; done
  done
  one 77,100,0.2 1000 float32 small-stream small
  one 500,100,0.3 3136 bfloat16 small-stream small
  one 3,50,0.5 200 float32 small-stream:1 small
  one 1000,400,0.05 300 float32 small-stream small
  for spec in "77,100,0.2 1000 float32" "500,100,0.3 3136 bfloat16"; do
    set -- $spec
    JSDL_SPMM_VARIANT=small-stream timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $PWD/.dlmc/ab/spmm_harness_small $1 $2 $3 1 2>&1 | tail -3
    echo "memcheck exit ${PIPESTATUS[0]}"
  done
} > $OUT/small.log 2>&1
echo "small $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/small.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp .dlmc/ab/commit $OUT/harness-commit.txt
