# Session 32, call 5: the prefetching wide stream kernel (52e2832) against the heuristic's choice
# (gather or the wgmma tile) on ResNet-50 layers at batch 256 (many column tiles), float32 and
# bfloat16: the data for session 16's "gather over many waves of wide stream blocks" rule.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh > $OUT/build.log 2>&1
echo "built $(( $(date +%s) - T0 )) s"
RN=.dlmc/rn50/magnitude_pruning
run() {  # file n dtype variants...
  f=$1 n=$2 dt=$3; shift 3
  for v in "$@"; do echo "== $(basename $f .smtx) n=$n $dt $v"
    JSDL_SPMM_VARIANT=$([ $v = auto ] && echo "" || echo $v) timeout 20 /tmp/sh $f $n $dt 7; done
}
{
  gunzip -c $RN/0.95/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/p95.smtx
  gunzip -c $RN/0.98/bottleneck_1_block_group1_1_1.smtx.gz > /tmp/g98-64x256.smtx
  gunzip -c $RN/0.98/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/p98-128x256.smtx
  gunzip -c $RN/0.98/bottleneck_1_block_group_projection_block_group1.smtx.gz > /tmp/p98-64x64.smtx
  run /tmp/p95.smtx 802816 bfloat16 auto wide-stream gather
  run /tmp/p95.smtx 802816 float32 gather
  for dt in float32 bfloat16; do run /tmp/g98-64x256.smtx 802816 $dt auto wide-stream; done
  for dt in float32 bfloat16; do run /tmp/p98-128x256.smtx 200704 $dt auto wide-stream; done
  run /tmp/p98-64x64.smtx 802816 float32 auto wide-stream gather
} > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
awk '/^==/ {h = $2 " " $3 " " $4 " " $5} /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=|^variant=/) printf "%s ", $i; print "  " h}' \
  $OUT/harness.log | tee $OUT/times.txt
{ echo "commit: $(cat .dlmc/commit)"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
