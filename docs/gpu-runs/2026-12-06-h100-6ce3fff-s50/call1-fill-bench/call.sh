# Prepared in session 49 (carry [".dlmc/ab", ".dlmc/slim"]; about 1-2 minutes). Build first on
# the CPU machine: bash docs/prepared/s50-bench/build.sh.
# fill-stream (fill-stream.patch: the wide panel over one wave of blocks of (tile, row) pairs)
# against the heuristic's choice, each call twice in turn: ResNet-50's 128 x 256 at 70%,
# N = 3136 (the last loser to dense fp32 from 70%: 98 blocks of the wide kernel on 132 SMs, 3
# rows a warp; fill: 132 blocks, 2), float32 and bfloat16; its 64 x 64 at 50% and 128 x 256 at
# 95% (rows-stream) at N = 3136; synthetic calls at N = 3136 and 784. Then its correctness on odd
# shapes (the harness checks every output against float64) and memcheck on two calls.
set -u
D=$PWD/.dlmc/slim
T0=$(date +%s)
RN=rn50/magnitude_pruning
gunzip -c $D/$RN/0.5/bottleneck_1_block_group_projection_block_group1.smtx.gz > /tmp/r50.smtx
gunzip -c $D/$RN/0.7/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/r70.smtx
gunzip -c $D/$RN/0.95/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/r95.smtx
one() {  # one PATTERN N DTYPE VARIANT [HARNESS]
  echo "== $(basename $1) n=$2 $3 ${5:-head} $4 round $R"
  if [ "$4" != - ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  timeout 30 $PWD/.dlmc/ab/spmm_harness_${5:-head} $1 $2 $3 9 || echo "!! exit $?"
}
specs=("/tmp/r70.smtx 3136 float32" "/tmp/r70.smtx 3136 bfloat16" "/tmp/r50.smtx 3136 float32"
  "/tmp/r95.smtx 3136 float32" "256,256,0.3 3136 float32" "128,256,0.3 784 float32"
  "96,200,0.2 3136 bfloat16")
{
  for R in 1 2; do
    for spec in "${specs[@]}"; do
      if [ $R = 1 ]; then one $spec - head; one $spec fill-stream fill
      else one $spec fill-stream fill; one $spec - head; fi
    done
  done
  R=c
  one 77,100,0.2 1000 float32 fill-stream fill
  one 500,100,0.3 3136 bfloat16 fill-stream fill
  one 3,50,0.5 200 float32 fill-stream fill
  one 1000,400,0.05 300 float32 fill-stream fill
  for spec in "77,100,0.2 1000 float32" "500,100,0.3 3136 bfloat16"; do
    set -- $spec
    JSDL_SPMM_VARIANT=fill-stream timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $PWD/.dlmc/ab/spmm_harness_fill $1 $2 $3 1 2>&1 | tail -3
    echo "memcheck exit ${PIPESTATUS[0]}"
  done
} > $OUT/fill.log 2>&1
echo "fill $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/fill.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp .dlmc/ab/commit $OUT/harness-commit.txt
