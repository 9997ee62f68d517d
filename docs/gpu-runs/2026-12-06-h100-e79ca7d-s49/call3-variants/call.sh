# Ran in session 49 as call 3 (docs/prepared/s49-passes/call.sh with four synthetic problems added
# to its narrow list; harnesses of 281dd1f). Its narrow part repeats call 1 (../call1-narrow).
# Prepared in session 48 (carry [".dlmc/ab", ".dlmc/slim"]; about 4-5 minutes). Build first on the
# CPU machine: bash docs/prepared/s49-passes/build.sh.
# 1. The two calls that keep SpMM at HIGHEST from beating dense fp32 from 70%, under variants
#    session 48 did not try, twice each: the transformer's 512 x 2048 at 90%, N = 256 (the stream
#    kernel in passes: two passes of 1751 and 297 rows; balanced passes, 16 or 24 rows a block)
#    and ResNet-50's 128 x 256 at 70%, N = 3136 (rows-stream and the 128-byte kernel with other
#    rows per block).
# 2. 3abd5ef's rule through the heuristic itself: ResNet-50's 98% layer at N = 200704 in float32,
#    auto (now rows-stream) against rows-stream and the gather kernel it replaced, twice.
# 3. Nsight Compute's source counters per SASS instruction on the passes call (where its 7.4
#    cycles an instruction go), as session 47 did for rows-stream.
# 4. narrow-stream (narrow-stream.patch: 64-byte panel rows of 4-lane groups, no passes up to
#    about 3500 panel rows) against the heuristic's choice on the transformer's k = 2048 calls at
#    N = 256 (60% and 90%, float32 and bfloat16) and N = 2048 (90%), twice in turn; its
#    correctness with forced rows per block and odd sizes (the harness checks every output
#    against float64) and memcheck on two calls.
set -u
D=$PWD/.dlmc/slim
T0=$(date +%s)
RN=rn50/magnitude_pruning
TR=transformer/magnitude_pruning
gunzip -c $D/$RN/0.7/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/r70.smtx
gunzip -c $D/$RN/0.98/bottleneck_1_block_group2_1_1.smtx.gz > /tmp/r98.smtx
gunzip -c $D/$TR/0.9/body_decoder_layer_0_ffn_conv2_fully_connected.smtx.gz > /tmp/t90.smtx
gunzip -c $D/$TR/0.6/body_decoder_layer_0_ffn_conv2_fully_connected.smtx.gz > /tmp/t60.smtx
one() {  # one PATTERN N DTYPE VARIANT [HARNESS]
  echo "== $(basename $1) n=$2 $3 ${5:-head} $4 round $R"
  if [ "$4" != - ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  timeout 30 $PWD/.dlmc/ab/spmm_harness_${5:-head} $1 $2 $3 9 || echo "!! exit $?"
}
specs=("/tmp/t90.smtx 256 float32 -" "/tmp/t90.smtx 256 float32 stream:32:1024"
  "/tmp/t90.smtx 256 float32 stream:32:683" "/tmp/t90.smtx 256 float32 stream:16"
  "/tmp/t90.smtx 256 float32 stream:24" "/tmp/r70.smtx 3136 float32 -"
  "/tmp/r70.smtx 3136 float32 rows-stream:43" "/tmp/r70.smtx 3136 float32 rows-stream:32"
  "/tmp/r70.smtx 3136 float32 stream:43" "/tmp/r70.smtx 3136 float32 rows-stream"
  "/tmp/r98.smtx 200704 float32 -" "/tmp/r98.smtx 200704 float32 rows-stream"
  "/tmp/r98.smtx 200704 float32 gather")
{
  for R in 1 2; do
    for spec in "${specs[@]}"; do one $spec; done
  done
} > $OUT/variants.log 2>&1
echo "variants $(( $(date +%s) - T0 )) s"
unset JSDL_SPMM_VARIANT
timeout 120 ncu --profile-from-start off --set full --import-source no -o $OUT/t90 \
  $PWD/.dlmc/ab/spmm_harness_head /tmp/t90.smtx 256 float32 1 > $OUT/ncu-run.log 2>&1
ncu --import $OUT/t90.ncu-rep --page source --print-source sass --csv 2>> $OUT/ncu-run.log |
  gzip > $OUT/sass.csv.gz
ncu --import $OUT/t90.ncu-rep --page details 2>> $OUT/ncu-run.log > $OUT/ncu-details.txt
rm -f $OUT/t90.ncu-rep
echo "ncu $(( $(date +%s) - T0 )) s"
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
} > $OUT/narrow.log 2>&1
echo "narrow $(( $(date +%s) - T0 )) s"
grep -c "^!!" $OUT/variants.log $OUT/narrow.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp .dlmc/ab/commit $OUT/harness-commit.txt
