# Session 21, call 2: the heuristic with the flat kernel's lanes an entry.
# Build; the SDDMM GPU tests; a check of the new density floors (transformer 80/95%, d = 256 and
# 2048, the heuristic beside the kernels it chooses between); the SDDMM benchmark (dense and
# BCOO contenders left out for time). Everything is packed into all.tar (8 files come back).
set -u
export OUT=${OUT:-$PWD/gpu-logs}
export COMMIT=$(cat .dlmc/commit)
R=$PWD
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
STAGES=build bash scripts/gpu_run.sh | tail -n 2
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
(cd /tmp && JAX_PLATFORMS=cuda timeout 150 python3 -m pytest -q -n 12 $R/tests/test_sddmm.py \
  $R/tests/test_gpu.py $R/tests/test_sddmm_heuristic.py $R/tests/test_gpu_variants.py -k sddmm -rs) \
  > $OUT/pytest-sddmm.log 2>&1
tail -n 3 $OUT/pytest-sddmm.log
echo "tests done $(( $(date +%s) - T0 )) s"
(cd /tmp && JAX_PLATFORMS=cuda timeout 110 python3 $R/scripts/tune_sddmm.py $R/.dlmc $OUT/tune-floors.csv \
  --per-level 1 --no-attention --clock device --suite transformer --levels 0.8,0.95 --d 256,2048 \
  --time-budget 90 --variants auto,auto@default,mma:64,mma:64:2,mma:64@highest,mma:64:2@highest,flat:1:4,flat:1:8,flat:4:8) \
  > $OUT/tune-floors.log 2>&1
grep -v "^\[" $OUT/tune-floors.log | tail -n 14
echo "tune done $(( $(date +%s) - T0 )) s"
(cd /tmp && JAX_PLATFORMS=cuda timeout 250 python3 -m jax_sparse_dl.bench $R/.dlmc --ops sddmm \
  --limit-per-level 1 --skip-contenders 'dense*,bcoo*' --time-budget 200 --no-plots --out $OUT/bench) \
  > $OUT/bench.log 2>&1
tail -n 30 $OUT/bench/summary.md
echo "all done $(( $(date +%s) - T0 )) s"
rm -f $OUT/build.log
cd $OUT && tar -cf all.tar *.csv *.log bench && rm -rf *.csv *.log bench
