# Session 52, call 2 (carry [".dlmc/ab", ".dlmc/slim"]): the sections call 1's profile cut off
# (occupancy, launch, warp state, scheduler, source counters) for the mma tile on ResNet-50's 70%
# call, N = 3136, float32 (HIGHEST), both k-group settings, and the heuristic's choice beside them.
set -u
gunzip -c .dlmc/slim/rn50/magnitude_pruning/0.7/*.smtx.gz > /tmp/r70.smtx
for v in mma mma:2 -; do
  h=mma; [ $v = - ] && h=head
  echo "=== $v ($h) r70 float32"
  if [ $v != - ]; then export JSDL_SPMM_VARIANT=$v; else unset JSDL_SPMM_VARIANT; fi
  timeout 150 ncu --profile-from-start off --import-source no --section LaunchStats \
    --section Occupancy --section WarpStateStats --section SchedulerStats \
    --section SourceCounters --section MemoryWorkloadAnalysis --print-details all \
    $PWD/.dlmc/ab/spmm_harness_$h /tmp/r70.smtx 3136 float32 1 2>&1 | grep -v "^==PROF==" | head -330
done > $OUT/ncu-sections.txt 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
