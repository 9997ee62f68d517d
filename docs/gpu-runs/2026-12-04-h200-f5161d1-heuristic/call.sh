# Session 32, call 3: the SpMM heuristic's disputed choices after the staged epilogue (f5161d1).
# The refitted time model sends four of the measured points of tests/test_spmm_heuristic.py to the
# wgmma tile; the harness times the tile (JSDL_SPMM_VARIANT=wgmma) against the CUDA-core variants
# (no-wgmma) there, and over the sparsity levels of a DLMC 2048 x 512 matrix (the break-even).
# Set-up as in ../2026-12-04-h200-5ab00df-staged-epilogue/call.sh; run with carry [".dlmc"].
set -u
export OUT=${OUT:-$PWD/gpu-logs}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh; echo "built $(( $(date +%s) - T0 )) s"
M=.dlmc/transformer/magnitude_pruning; RN=.dlmc/rn50/magnitude_pruning/0.8/bottleneck_1_block_group1_1_1
run() {  # file n dtype
  for v in wgmma no-wgmma; do echo "== $(basename $1) n=$2 $3 $v"; JSDL_SPMM_VARIANT=$v timeout 10 /tmp/sh $1 $2 $3 7; done
}
{
  gunzip -c $RN.smtx.gz > /tmp/rn.smtx; for dt in float32 tf32; do run /tmp/rn.smtx 25088 $dt; done
  for s in 0.5 0.6 0.7 0.8 0.9 0.95 0.98; do
    gunzip -c $M/$s/body_decoder_layer_0_ffn_conv1_fully_connected.smtx.gz > /tmp/ffn1-$s.smtx
    for dt in float32 tf32 bfloat16; do run /tmp/ffn1-$s.smtx 2048 $dt; done
  done
  run /tmp/ffn1-0.95.smtx 8192 bfloat16
  for dt in float32 tf32; do run /tmp/ffn1-0.7.smtx 256 $dt; done
} > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
awk '/^==/ {key = $2 " " $3 " " $4; v = $5} /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, v] = substr($i, 4);
       if (v == "no-wgmma") printf "%-50s wgmma %8.2f  cuda cores %8.2f\n", key, us[key, "wgmma"], us[key, "no-wgmma"]}' \
  $OUT/harness.log | tee $OUT/pairs.txt
{ echo "commit: $(cat .dlmc/commit)"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
