# Prepared in session 46 (carry [".dlmc/ab", ".dlmc/slim"]; about 4 minutes): rows-stream walking
# a warp's four groups in step (rows-uniform.patch) at 16, 24 and 32 warps, against HEAD's
# rows-stream (each group walking alone, 16 warps) and the wide stream kernel. Build first on the
# CPU machine: bash docs/prepared/s46-rows-uniform/build.sh. Then Nsight Compute on the best.
# Problems: the calls session 46's rule gave rows-stream, one it lost (rows of 26), uniform
# 128 x 512 patterns at 2-8% (rows of 10-41), N small enough for the harness's float64 check.
set -u
D=$PWD/.dlmc/slim
AB=$PWD/.dlmc/ab
T0=$(date +%s)
src() { gunzip -c $D/$1.smtx.gz > /tmp/$2.smtx; }
src rn50/magnitude_pruning/0.95/bottleneck_1_block_group_projection_block_group2 r95
src rn50/magnitude_pruning/0.98/bottleneck_1_block_group2_1_1 r98
src transformer/magnitude_pruning/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t98
src transformer/magnitude_pruning/0.95/body_decoder_layer_0_ffn_conv1_fully_connected t95
specs=("/tmp/r95.smtx 802816 float32" "/tmp/r95.smtx 802816 bfloat16" "/tmp/r95.smtx 3136 float32"
  "/tmp/r98.smtx 200704 bfloat16" "/tmp/r98.smtx 200704 float32" "/tmp/t98.smtx 2048 float32"
  "/tmp/t98.smtx 2048 bfloat16" "/tmp/t98.smtx 256 float32" "/tmp/t95.smtx 2048 float32"
  "128,512,0.02 200704 float32" "128,512,0.04 200704 float32" "128,512,0.08 200704 float32")
runs=("base wide-stream" "base rows-stream" "u16 rows-stream" "u24 rows-stream" "u32 rows-stream")
for r in 1 2; do
  for spec in "${specs[@]}"; do
    set -- $spec
    order=("${runs[@]}"); [ $r = 2 ] && order=("u32 rows-stream" "u24 rows-stream" \
      "u16 rows-stream" "base rows-stream" "base wide-stream")
    for run in "${order[@]}"; do
      set -- $spec $run
      echo "== $(basename $1) n=$2 $3 $4 $5 round $r"
      JSDL_SPMM_VARIANT=$5 timeout 20 $AB/spmm_harness_$4 $1 $2 $3 9 || echo "!! exit $?"
    done
  done
done > $OUT/ab.log 2>&1
echo "ab $(( $(date +%s) - T0 )) s"
for b in base u16 u24 u32; do
  echo "##### $b rows-stream"
  JSDL_SPMM_VARIANT=rows-stream timeout 40 ncu --profile-from-start off --section SpeedOfLight \
    --section SchedulerStats --section WarpStateStats --section Occupancy \
    --metrics smsp__inst_executed.sum,smsp__sass_thread_inst_executed_op_ffma_pred_on.sum \
    $AB/spmm_harness_$b /tmp/r95.smtx 802816 float32 1 2>&1 | grep -v "^==PROF==" \
    | grep -vE "^\s*$|----"
done > $OUT/ncu.log 2>&1
echo "ncu $(( $(date +%s) - T0 )) s"; grep -c "^!!" $OUT/ab.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp $AB/commit $OUT/harness-commit.txt
