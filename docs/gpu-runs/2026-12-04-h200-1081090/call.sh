# Session 28, call 3: the heuristic's refitted time model. Build; the lowering's workspace test,
# the wgmma and heuristic GPU tests; the SpMM benchmark by the device clock (1 matrix per level
# and suite; BCSR left out for time) against cuSPARSE and XLA's dense dot.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
export COMMIT=$(cat .dlmc/commit)
T0=$(date +%s)
STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1
tail -n 2 $OUT/build-pkg.log; echo "built $(( $(date +%s) - T0 )) s"
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
[ -n "${SKIP_TESTS:-}" ] || (cd /tmp && JAX_PLATFORMS=cuda timeout 120 python3 -m pytest -q -n 14 $R/tests/test_lowering.py $R/tests/test_spmm_heuristic.py \
  $R/tests/test_gpu_variants.py $R/tests/test_spmm.py -k "workspace or wgmma or heuristic" -rs) > $OUT/pytest-spmm.log 2>&1
echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 3 $OUT/pytest-spmm.log
left=$(( ${TOTAL:-560} - ($(date +%s) - T0) - 25 ))
# From /tmp: in the repository root `import jax_sparse_dl` finds the sources, not the build.
(cd /tmp && timeout $left python3 -m jax_sparse_dl.bench $R/.dlmc --out $OUT/bench --ops spmm --limit-per-level 1 \
  --skip-contenders 'bcsr*' --time-budget $(( left - 40 ))) > $OUT/bench.log 2>&1
echo "bench rc=$? $(( $(date +%s) - T0 )) s"; tail -n 30 $OUT/bench/summary.md
{
  echo "commit: ${COMMIT:-unknown}"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"
  nvcc --version | tail -n 2
} > "$OUT/env.txt" 2>&1
find $OUT/bench -type f ! -name results.csv ! -name summary.md ! -name results.json -delete 2>/dev/null
