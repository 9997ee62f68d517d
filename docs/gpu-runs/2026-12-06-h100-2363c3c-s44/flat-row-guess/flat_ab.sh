# Session 44 (carry [".dlmc"]; .dlmc/old-src = git archive 2363c3c cuda scripts): the flat SDDMM
# kernel's guessed rows (this checkout) against 2363c3c's search, in turn, by the standalone
# harness (CUDA events, the heuristic's choice); then SpMM's small 98% calls beside the empty
# kernel in the same loop.
set -u
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
T0=$(date +%s)
# (targeted.sh builds them beside its tests: BUILT=1)
if [ -z "${BUILT:-}" ]; then
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/sddmm_harness.cu -o /tmp/sd > $OUT/build-sddmm.log 2>&1 &
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old-src/scripts/sddmm_harness.cu -o /tmp/sd_old > $OUT/build-sddmm-old.log 2>&1 &
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sp > $OUT/build-spmm.log 2>&1 &
  wait
fi
ls /tmp/sd /tmp/sd_old /tmp/sp > /dev/null || exit 1; echo "built $(( $(date +%s) - T0 )) s"
src() { gunzip -c .dlmc/$1/magnitude_pruning/$2.smtx.gz > /tmp/$3.smtx; }
src transformer 0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t512-98
src rn50 0.98/bottleneck_1_block_group2_1_1 rn128x512-98
src rn50 0.5/bottleneck_1_block_group_projection_block_group1 rn64x64-50
src rn50 0.95/bottleneck_1_block_group_projection_block_group2 rn128x256-95
src rn50 0.9/bottleneck_2_block_group1_1_1 rn64x576-90
{
for p in rn128x512-98 rn64x64-50 rn128x256-95 rn64x576-90 t512-98; do
  for d in 64 256; do for side in old new old new; do
    echo "== flat-ab $p d=$d float32 auto $side"
    timeout 30 $([ $side = old ] && echo /tmp/sd_old || echo /tmp/sd) /tmp/$p.smtx $d float32 9 || echo "!! exit $?"
  done; done
done
for spec in "/tmp/rn128x512-98.smtx 784" "/tmp/t512-98.smtx 256" "64,64,0.02 16"; do
  echo "== spmm $spec float32 auto"; timeout 30 /tmp/sp $spec float32 9 || echo "!! exit $?"
done
} > $OUT/flat-ab.log 2>&1
grep -c "^!! exit" $OUT/flat-ab.log; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
echo "done $(( $(date +%s) - T0 )) s"
