# Session 50, call 5 (carry [".dlmc/ab", ".dlmc/slim", ".dlmc/union"]; about 3 minutes). Build
# first on the CPU machine: the harness of 6ce3fff (docs/gpu-runs/2026-12-06-h100-6ce3fff-s50/
# call1-fill-bench/build.sh) and the probe: nvcc -std=c++17 -O3 -arch=sm_90a -I$(python3 -c
# "import jax; print(jax.ffi.include_dir())") scripts/spmm_union_probe.cu -o
# .dlmc/union/spmm_union_probe. Stops starting runs after LIMIT seconds (default 170).
# The union probe (R rows a warp over their columns' union; R = 1 the same walk a row at a time)
# against the package's heuristic (the harness), float32, on DLMC calls and a synthetic one.
set -u
D=$PWD/.dlmc/slim
T0=$(date +%s)
RN=$D/rn50/magnitude_pruning TR=$D/transformer/magnitude_pruning
gunzip -c $RN/0.5/bottleneck_1_block_group_projection_block_group1.smtx.gz > /tmp/r50.smtx
gunzip -c $RN/0.7/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/r70.smtx
gunzip -c $RN/0.8/bottleneck_1_block_group2_1_1.smtx.gz > /tmp/r80.smtx
gunzip -c $RN/0.9/bottleneck_2_block_group1_1_1.smtx.gz > /tmp/r90.smtx
gunzip -c $TR/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected.smtx.gz > /tmp/t50.smtx
gunzip -c $TR/0.7/body_decoder_layer_0_ffn_conv1_fully_connected.smtx.gz > /tmp/t70.smtx
gunzip -c $TR/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected.smtx.gz > /tmp/t80.smtx
LIMIT=${LIMIT:-170}
left() { [ $(( $(date +%s) - T0 )) -lt $LIMIT ]; }
head_run() { echo "== $1 n=$2 head"; timeout 30 $PWD/.dlmc/ab/spmm_harness_head $1 $2 float32 9 || echo "!! exit $?"; }
union_run() {
  echo "== $1 n=$2 union R=$3 W=$4"
  timeout 30 $PWD/.dlmc/union/spmm_union_probe $1 $2 $3 $4 1 9 || echo "!! exit $?"
}
{
  # The 70% ResNet-50 call (dense fp32 10.27 us in the benchmark): every R and W, head twice.
  head_run /tmp/r70.smtx 3136
  for r in 1 2 4 8; do for w in 4 8 16; do union_run /tmp/r70.smtx 3136 $r $w; done; done
  head_run /tmp/r70.smtx 3136
  timeout 40 compute-sanitizer --tool memcheck --error-exitcode 9 \
    $PWD/.dlmc/union/spmm_union_probe 77,100,0.3 192 4 8 1 1 2>&1 | tail -3
  echo "memcheck exit ${PIPESTATUS[0]}"
  # Others: R = 1 and 4 (W = 8), R = 4 and 8 (W = 16), while time is left.
  for spec in "256,256,0.3 3136" "/tmp/r50.smtx 3136" "/tmp/r90.smtx 3136" "/tmp/r80.smtx 768" \
      "/tmp/t50.smtx 256" "/tmp/t80.smtx 2048" "/tmp/t70.smtx 256"; do
    left || break
    head_run $spec
    for rw in "1 8" "4 8" "4 16" "8 16"; do union_run $spec $rw; done
  done
} > $OUT/union.log 2>&1
echo "union $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/union.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
