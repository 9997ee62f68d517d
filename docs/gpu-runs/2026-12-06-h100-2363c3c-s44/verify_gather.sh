# Session 44 (carry [".dlmc"]; ran at 2363c3c): the package built and the GPU tests of the
# batched gather kernel (6809062), which the whole suite has not run: every SpMM variant test that
# names gather, and the heuristic's tests.
set -u
R=$PWD
COMMIT=$(cat .dlmc/commit) STAGES=build bash scripts/gpu_run.sh 2>&1 | tail -n 3
cd /tmp && JAX_PLATFORMS=cuda JSDL_REQUIRE_CUDA_MODULE=1 XLA_PYTHON_CLIENT_PREALLOCATE=false \
  timeout ${PYTEST_SECONDS:-150} pytest $R/tests/test_gpu_variants.py $R/tests/test_spmm_heuristic.py \
  -q -rs -n 14 -m "not large" -p no:cacheprovider -k "gather or heuristic" > $OUT/pytest-gather.log 2>&1
echo "pytest rc=$?"; tail -n 5 $OUT/pytest-gather.log
