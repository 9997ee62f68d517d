# Session 47 (carry [".dlmc/ab", ".dlmc/slim"]): rows-stream at 3f5b93e (base) against the
# snake row order (snake), the panel copy without a division a copy (copy) and both (both).
# Harnesses built on the CPU machine from 3f5b93e with the session's patch split by file.
# Round 1 forwards over all specs, round 2 backwards over the first six; then correctness
# of `both` with forced rows per block (several row blocks, several chunks an owner, odd sizes)
# and compute-sanitizer memcheck of two of those.
set -u
D=$PWD/.dlmc/slim
AB=$PWD/.dlmc/ab
T0=$(date +%s)
src() { gunzip -c $D/$1.smtx.gz > /tmp/$2.smtx; }
src rn50/magnitude_pruning/0.95/bottleneck_1_block_group_projection_block_group2 r95
src rn50/magnitude_pruning/0.98/bottleneck_1_block_group2_1_1 r98
src transformer/magnitude_pruning/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t98
src transformer/magnitude_pruning/0.95/body_decoder_layer_0_ffn_conv1_fully_connected t95
specs=("/tmp/r95.smtx 802816 float32" "/tmp/r95.smtx 802816 bfloat16" "/tmp/r98.smtx 200704 float32"
  "/tmp/r98.smtx 200704 bfloat16" "/tmp/t98.smtx 2048 float32" "/tmp/t98.smtx 2048 bfloat16"
  "/tmp/r95.smtx 3136 float32" "/tmp/t98.smtx 256 float32" "/tmp/t95.smtx 2048 float32"
  "128,512,0.02 200704 float32" "128,512,0.04 200704 float32" "128,512,0.08 200704 float32")
runs=(base snake copy both)
one() {  # one PATTERN N DTYPE HARNESS [VARIANT]
  echo "== $(basename $1) n=$2 $3 $4 ${5:-rows-stream} round $R"
  JSDL_SPMM_VARIANT=${5:-rows-stream} timeout 20 $AB/spmm_harness_$4 $1 $2 $3 9 || echo "!! exit $?"
}
{
  R=1; for spec in "${specs[@]}"; do for h in "${runs[@]}"; do one $spec $h; done; done
  R=2; for spec in "${specs[@]:0:6}"; do for h in both copy snake base; do one $spec $h; done; done
} > $OUT/ab.log 2>&1
echo "ab $(( $(date +%s) - T0 )) s"
{
  R=c
  one 1000,256,0.05 4096 float32 both rows-stream:37
  one 2000,300,0.03 1000 bfloat16 both rows-stream:2000
  one 777,129,0.06 520 float32 both rows-stream:100
  one /tmp/t98.smtx 2056 float32 both rows-stream:64
  one /tmp/r95.smtx 3136 bfloat16 both rows-stream:16
  for spec in "1000,256,0.05 4096 float32 rows-stream:37" "777,129,0.06 520 bfloat16 rows-stream:100"; do
    set -- $spec
    JSDL_SPMM_VARIANT=$4 timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $AB/spmm_harness_both $1 $2 $3 1 2>&1 | tail -3 || echo "!! memcheck exit"
  done
} > $OUT/check.log 2>&1
echo "check $(( $(date +%s) - T0 )) s"; grep -c "^!!" $OUT/ab.log $OUT/check.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
