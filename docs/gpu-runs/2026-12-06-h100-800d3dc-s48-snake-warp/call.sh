# Prepared in session 47 (carry [".dlmc/ab", ".dlmc/slim"]; about 7-8 minutes). Build first on the
# CPU machine: bash docs/prepared/s48-snake-warp/build.sh.
# 1. The warps of the stream kernels (stream, wide-stream, passes) taking their rows in the snake
#    order (sw) against HEAD (base), on the benchmark's calls the heuristic gives them in float32
#    (and two in bfloat16), each problem twice in turn; ResNet-50's 95% call on rows-stream, whose
#    kernel the patch leaves as it is, is the control.
# 2. rows-stream against the heuristic's gather kernel (float32, many waves, low re-use), twice.
# 3. Correctness of sw with forced rows per block and passes (several row blocks, several chunks a
#    warp, odd sizes; the harness checks every output against float64), memcheck on two.
# 4. The two calls that keep SpMM at HIGHEST from beating dense fp32 from 70% (the transformer's
#    512 x 2048 at 90%, N = 256, 0.87x; ResNet-50's 128 x 256 at 70%, N = 3136, 0.85x): the
#    heuristic's choice against other rows per block, kernels and parts over k, twice; then
#    Nsight Compute on the heuristic's choice of each.
# 5. The batched gather kernel taking rows in order (gd, gather-direct.patch) against HEAD on the
#    98% calls it runs, twice in turn; its correctness on odd sizes over several waves.
set -u
D=$PWD/.dlmc/slim
AB=$PWD/.dlmc/ab
T0=$(date +%s)
src() { gunzip -c $D/$1.smtx.gz > /tmp/$2.smtx; }
RN=rn50/magnitude_pruning
TR=transformer/magnitude_pruning
src $RN/0.5/bottleneck_1_block_group_projection_block_group1 r50
src $RN/0.7/bottleneck_1_block_group_projection_block_group2 r70
src $RN/0.8/bottleneck_1_block_group2_1_1 r80
src $RN/0.9/bottleneck_2_block_group1_1_1 r90
src $RN/0.95/bottleneck_1_block_group_projection_block_group2 r95
src $RN/0.98/bottleneck_1_block_group2_1_1 r98
src $TR/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t50
src $TR/0.7/body_decoder_layer_0_ffn_conv1_fully_connected t70
src $TR/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t80
src $TR/0.9/body_decoder_layer_0_ffn_conv2_fully_connected t90
src $TR/0.95/body_decoder_layer_0_ffn_conv1_fully_connected t95
src $TR/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t98
ls /tmp/r*.smtx /tmp/t*.smtx | wc -l
one() {  # one PATTERN N DTYPE HARNESS [VARIANT]
  echo "== $(basename $1) n=$2 $3 $4 ${5:--} round $R"
  if [ -n "${5:-}" ]; then export JSDL_SPMM_VARIANT=$5; else unset JSDL_SPMM_VARIANT; fi
  timeout 20 $AB/spmm_harness_$4 $1 $2 $3 9 || echo "!! exit $?"
}
ab() {  # ab "NEW" SPEC...: each spec with base and NEW in turn, twice, the order turned the second
  local new=$1; shift
  for R in 1 2; do
    for spec in "$@"; do
      if [ $R = 1 ]; then one $spec base; one $spec $new; else one $spec $new; one $spec base; fi
    done
  done
}
specs=("/tmp/r50.smtx 3136 float32" "/tmp/r70.smtx 3136 float32" "/tmp/r80.smtx 784 float32"
  "/tmp/r90.smtx 3136 float32" "/tmp/t50.smtx 256 float32" "/tmp/t70.smtx 256 float32"
  "/tmp/t80.smtx 256 float32" "/tmp/t90.smtx 256 float32" "/tmp/t95.smtx 256 float32"
  "/tmp/t95.smtx 2048 float32" "/tmp/t95.smtx 2048 bfloat16" "/tmp/r70.smtx 3136 bfloat16"
  "/tmp/r95.smtx 802816 float32")
rule=("/tmp/r98.smtx 200704 float32" "128,512,0.02 200704 float32" "128,512,0.04 200704 float32"
  "128,512,0.08 200704 float32")
ab sw "${specs[@]}" > $OUT/ab.log 2>&1
echo "ab $(( $(date +%s) - T0 )) s"
ab "base rows-stream" "${rule[@]}" > $OUT/rule.log 2>&1
echo "rule $(( $(date +%s) - T0 )) s"
{
  R=c
  one 777,3000,0.05 200 float32 sw stream:100:256
  one 1000,2048,0.1 256 bfloat16 sw stream:37:300
  one 2000,300,0.03 1000 float32 sw stream:2000
  one 513,129,0.06 96 float32 sw wide-stream:40
  one 4099,256,0.02 520 bfloat16 sw wide-stream:300
  one /tmp/t90.smtx 256 float32 sw
  for spec in "777,3000,0.05 200 float32 stream:100:256" "513,129,0.06 96 float32 wide-stream:40"; do
    set -- $spec
    JSDL_SPMM_VARIANT=$4 timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $AB/spmm_harness_sw $1 $2 $3 1 2>&1 | tail -3
    echo "memcheck exit ${PIPESTATUS[0]}"
  done
} > $OUT/check.log 2>&1
echo "check $(( $(date +%s) - T0 )) s"
losers=("/tmp/t90.smtx 256 float32 -" "/tmp/t90.smtx 256 float32 stream:64"
  "/tmp/t90.smtx 256 float32 stream:128" "/tmp/t90.smtx 256 float32 stream:64:1024"
  "/tmp/t90.smtx 256 float32 gather:64:2:8:32" "/tmp/t90.smtx 256 float32 wgmma:4"
  "/tmp/t90.smtx 256 float32 wgmma:8" "/tmp/r70.smtx 3136 float32 -"
  "/tmp/r70.smtx 3136 float32 wide-stream:43" "/tmp/r70.smtx 3136 float32 wide-stream:32"
  "/tmp/r70.smtx 3136 float32 stream:64" "/tmp/r70.smtx 3136 float32 stream:32"
  "/tmp/r70.smtx 3136 float32 stream:16" "/tmp/r70.smtx 3136 float32 stream:24"
  "/tmp/r70.smtx 3136 float32 rows-stream:64" "/tmp/r70.smtx 3136 float32 wgmma:1"
  "/tmp/r70.smtx 3136 float32 wgmma:2")
{
  for R in 1 2; do
    for spec in "${losers[@]}"; do
      set -- $spec
      one $1 $2 $3 base $([ "$4" = - ] || echo $4)
    done
  done
} > $OUT/losers.log 2>&1
{
  for spec in "/tmp/t90.smtx 256" "/tmp/r70.smtx 3136"; do
    set -- $spec
    echo "##### $spec"
    unset JSDL_SPMM_VARIANT
    timeout 60 ncu --profile-from-start off --section SpeedOfLight --section Occupancy \
      --section WarpStateStats --section LaunchStats --section MemoryWorkloadAnalysis \
      $AB/spmm_harness_base $1 $2 float32 1 2>&1 | grep -v "^==PROF==" | grep -vE "^\s*$|----"
  done
} > $OUT/ncu-losers.log 2>&1
echo "losers $(( $(date +%s) - T0 )) s"
direct=("/tmp/r98.smtx 784 float32" "/tmp/r98.smtx 784 bfloat16" "/tmp/t98.smtx 256 float32"
  "/tmp/t98.smtx 256 bfloat16")
{
  ab gd "${direct[@]}"
  R=c
  one 777,129,0.06 520 float32 gd gather-batched:128:1
  one 3000,700,0.01 4000 bfloat16 gd gather-batched:128:1
} > $OUT/direct.log 2>&1
echo "direct $(( $(date +%s) - T0 )) s"
grep -c "^!!" $OUT/ab.log $OUT/rule.log $OUT/check.log $OUT/losers.log $OUT/direct.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp $AB/commit $OUT/harness-commit.txt
