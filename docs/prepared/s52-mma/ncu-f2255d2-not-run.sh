# Session 51, call 3 (carry [".dlmc/ab", ".dlmc/slim"]; about 1-2 minutes): Nsight Compute on the
# mma tile (spmm_harness_mma of f2255d2) where call 2 found about 1.4 us a chunk of 32 k: one block
# (m = 2, k = 900, n = 8; 29 chunks, 44 us) and ResNet-50's 128 x 256 at 70%, N = 3136 (196 blocks,
# 8 chunks, 20 us against the heuristic's 12), TF32 and 3xTF32.
set -u
gunzip -c .dlmc/slim/rn50/magnitude_pruning/0.7/*.smtx.gz > /tmp/r70.smtx
H=$PWD/.dlmc/ab/spmm_harness_mma
export JSDL_SPMM_VARIANT=mma
for c in "2,900,0.5 8 tf32" "/tmp/r70.smtx 3136 tf32" "/tmp/r70.smtx 3136 float32"; do
  set -- $c
  echo "=== $c"
  timeout 120 ncu --profile-from-start off --set full --import-source no \
    --print-details all $H $1 $2 $3 1 2>&1 | grep -v "^==PROF==" | head -400
done > $OUT/ncu-mma.txt 2>&1
echo "ncu done: $(grep -c 'Duration' $OUT/ncu-mma.txt) kernels"
