# Session 44 (carry [".dlmc"]): where the memory-bound ResNet-50 calls at batch 256 lose to the copy
# bandwidth. 128 x 256 at 95%, N = 802816: ~1.2 GB of dense operand and output, 0.42 ms
# at the measured copy bandwidth, against 0.65 ms (float32) in the benchmark. Harness times,
# then Nsight Compute's throughput, memory and stall sections on one launch of each.
set -u
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
[ -x /tmp/sp ] || nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sp > $OUT/build-spmm.log 2>&1 || exit 1
gunzip -c .dlmc/rn50/magnitude_pruning/0.95/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/rn95.smtx
SECTIONS="--section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section LaunchStats --section Occupancy"
{
for spec in "/tmp/rn95.smtx 802816 float32" "/tmp/rn95.smtx 802816 tf32" "/tmp/rn95.smtx 802816 bfloat16"; do
  echo "== spmm $spec auto"; timeout 60 /tmp/sp $spec 5 || echo "!! exit $?"
  echo "== ncu spmm $spec auto"
  timeout 120 ncu --profile-from-start off $SECTIONS /tmp/sp $spec 1 2>&1 | grep -v "^==PROF==" | grep -vE "^\s*$|----" || echo "!! exit $?"
done
} > $OUT/ncu-stream.log 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >> $OUT/env.txt
