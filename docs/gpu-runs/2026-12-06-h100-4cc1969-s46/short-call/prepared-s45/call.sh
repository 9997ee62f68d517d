# Prepared in session 45 (carry [".dlmc"]; about 60 s): .dlmc/bin/spmm_harness is built on the CPU
# machine by scripts/build_device_wheel.sh, so no build here (any commit from fbcb1a6 on whose SpMM
# sources are unchanged; .dlmc/bin/commit names it).
# 1. The wgmma time model's one-part runs (JSDL_SPMM_VARIANT=wgmma:1) on the 36 problems the model
#    was fitted to: `python scripts/fit_wgmma_time.py harness-fit.log --label new`.
# 2. The three choices the refitted constants would change, both ways, in turn, twice.
# 3. Nsight Compute's instruction mix of the float32 stream kernel on the memory-bound call.
set -u
SP=$PWD/.dlmc/bin/spmm_harness
T0=$(date +%s)
$SP 64,64,0.5 16 float32 1 > /dev/null 2>&1 || { echo "the carried harness does not run"; $SP 64,64,0.5 16 float32 1; exit 1; }
src() { gunzip -c .dlmc/$1.smtx.gz > /tmp/$2.smtx; }
src transformer/magnitude_pruning/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t50
src transformer/magnitude_pruning/0.6/body_decoder_layer_0_ffn_conv2_fully_connected t60
src transformer/magnitude_pruning/0.7/body_decoder_layer_0_ffn_conv1_fully_connected t70
src transformer/magnitude_pruning/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t80
src transformer/magnitude_pruning/0.9/body_decoder_layer_0_ffn_conv2_fully_connected t90
src rn50/magnitude_pruning/0.8/bottleneck_1_block_group1_1_1 r80
src rn50/magnitude_pruning/0.7/bottleneck_1_block_group_projection_block_group2 r70
src rn50/magnitude_pruning/0.95/bottleneck_1_block_group_projection_block_group2 r95
for p in t50 t60 t70 t80 t90 r80; do
  case $p in r*) ns="3136 200704";; *) ns="256 2048";; esac
  for n in $ns; do for dt in float32 tf32 bfloat16; do
    echo "== $p n=$n $dt new"; JSDL_SPMM_VARIANT=wgmma:1 timeout 10 $SP /tmp/$p.smtx $n $dt 7 || echo "!! exit $?"
  done; done
done > $OUT/harness-fit.log 2>&1
echo "fit runs $(( $(date +%s) - T0 )) s"
for r in 1 2; do
  for spec in "r70 3136 tf32" "r70 3136 bfloat16" "t70 256 float32"; do
    set -- $spec
    for v in auto no-wgmma wgmma:1 wgmma; do
      echo "== $1 n=$2 $3 $v round $r"
      JSDL_SPMM_VARIANT=$([ $v = auto ] || echo $v) timeout 10 $SP /tmp/$1.smtx $2 $3 9 || echo "!! exit $?"
    done
  done
done > $OUT/flips.log 2>&1
echo "flips $(( $(date +%s) - T0 )) s"
timeout 45 ncu --profile-from-start off --section InstructionStats --section ComputeWorkloadAnalysis \
  --section SourceCounters \
  --section SchedulerStats --section WarpStateStats $SP /tmp/r95.smtx 802816 float32 1 2>&1 \
  | grep -v "^==PROF==" | grep -vE "^\s*$|----" > $OUT/ncu-stream-instructions.log
echo "ncu rc=$? $(( $(date +%s) - T0 )) s"
# Instruction counts (apart: a metric name this ncu lacks must not cost the sections above).
timeout 30 ncu --profile-from-start off --metrics smsp__inst_executed.sum,\
smsp__sass_thread_inst_executed_op_ffma_pred_on.sum,smsp__sass_inst_executed_op_shared_ld.sum,\
smsp__sass_inst_executed_op_global_ld.sum,smsp__sass_inst_executed_op_shared_st.sum \
  $SP /tmp/r95.smtx 802816 float32 1 2>&1 | grep -v "^==PROF==" >> $OUT/ncu-stream-instructions.log
echo "ncu metrics rc=$? $(( $(date +%s) - T0 )) s"; grep -c "^!!" $OUT/*.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
