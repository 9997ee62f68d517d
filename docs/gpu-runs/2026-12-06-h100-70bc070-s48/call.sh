# Session 48: rows-stream (a row per 8-lane group) against the heuristic's choice over many waves
# of wide stream blocks, rows of 10-77 entries, float32 and bfloat16, each call twice in turn
# (.dlmc/ab/spmm_harness_sw: 800d3dc with snake-warp.patch, the code of 70bc070; carry
# [".dlmc/ab", ".dlmc/slim", ...]). Ran as docs/gpu-runs/2026-12-06-h100-70bc070-s48-rules/call.sh.
# Writes $OUT/rows-rule.log.
set -u
D=$PWD/.dlmc/slim
H=$PWD/.dlmc/ab/spmm_harness_sw
RN=rn50/magnitude_pruning
gunzip -c $D/$RN/0.5/bottleneck_1_block_group_projection_block_group1.smtx.gz > /tmp/r50.smtx
gunzip -c $D/$RN/0.7/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/r70.smtx
gunzip -c $D/$RN/0.9/bottleneck_2_block_group1_1_1.smtx.gz > /tmp/r90.smtx
gunzip -c $D/$RN/0.98/bottleneck_1_block_group2_1_1.smtx.gz > /tmp/r98.smtx
one() {  # one PATTERN N DTYPE VARIANT
  echo "== $(basename $1) n=$2 $3 h $4 round $R"
  if [ "$4" != - ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  timeout 30 $H $1 $2 $3 9 || echo "!! exit $?"
}
specs=("/tmp/r98.smtx 200704 bfloat16" "128,512,0.04 200704 bfloat16"
  "128,512,0.08 200704 bfloat16" "/tmp/r50.smtx 200704 float32" "/tmp/r90.smtx 200704 float32"
  "/tmp/r70.smtx 200704 float32" "2048,512,0.05 32768 float32" "2048,512,0.08 32768 float32"
  "2048,512,0.05 32768 bfloat16")
{
  for R in 1 2; do
    for spec in "${specs[@]}"; do
      if [ $R = 1 ]; then one $spec -; one $spec rows-stream
      else one $spec rows-stream; one $spec -; fi
    done
  done
} > $OUT/rows-rule.log 2>&1
grep -c "^!!" $OUT/rows-rule.log
