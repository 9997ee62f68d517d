#!/usr/bin/env bash
# One call on the GPU machine: build, the test suite on CUDA, compute-sanitizer memcheck on a
# GPU subset, the int32-overflow tests and the demo. Logs go to $OUT (default ./gpu-logs).
# Usage (repo root): COMMIT=$(git rev-parse HEAD) bash scripts/gpu_run.sh
set -uo pipefail
REPO=$PWD
OUT=${OUT:-$REPO/gpu-logs}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
status=0
stage() {  # stage NAME SECONDS CMD...: run with a time limit, log to $OUT/NAME.log
  local name=$1 limit=$2; shift 2
  echo "=== $name (limit ${limit}s)"
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "=== $name: rc=$rc in $((SECONDS - t0))s"; tail -n 15 "$OUT/$name.log"
  [ $rc -eq 0 ] || status=1
}
{
  echo "commit: ${COMMIT:-unknown}"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax, jaxlib; print('jax', jax.__version__, 'jaxlib', jaxlib.__version__, jax.devices())"
  nvcc --version | tail -n 2
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
JSDL_CUDA=ON JSDL_CUDA_ARCHITECTURES=90 stage build 300 \
  python3 -m pip install --no-build-isolation --no-deps -v "$REPO"
cd /tmp  # import the installed package, not the source tree
export JAX_PLATFORMS=cuda JSDL_REQUIRE_CUDA_MODULE=1
stage pytest-gpu 300 pytest "$REPO/tests" -q -rs -m "not large" -n 6 -p no:cacheprovider
stage memcheck 200 env XLA_PYTHON_CLIENT_ALLOCATOR=platform compute-sanitizer --tool memcheck \
  --error-exitcode 99 --target-processes all pytest "$REPO/tests/test_spmm.py" \
  "$REPO/tests/test_sddmm.py" "$REPO/tests/test_softmax.py" -q -p no:cacheprovider
stage pytest-large 120 pytest "$REPO/tests" -q -rs -m large -p no:cacheprovider
stage demo 120 jsdl-demo
exit $status
