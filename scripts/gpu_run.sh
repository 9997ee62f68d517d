#!/usr/bin/env bash
# One call on the GPU machine: build, the test suite on CUDA, compute-sanitizer memcheck on a
# GPU subset, the int32-overflow tests and the demo. Logs go to $OUT (default ./gpu-logs).
# Usage (repo root): COMMIT=$(git rev-parse HEAD) bash scripts/gpu_run.sh
# STAGES picks stages (default: build pytest memcheck large demo); also: racecheck, tune
# (scripts/tune_spmm.py on $DLMC), tune-sddmm (scripts/tune_sddmm.py on $DLMC), bench
# (python -m jax_sparse_dl.bench $DLMC $BENCH_ARGS),
# profile (Nsight Compute on scripts/profile_kernels.py $PROFILE_ARGS).
set -uo pipefail
REPO=$PWD
OUT=${OUT:-$REPO/gpu-logs}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
status=0
STAGES=${STAGES:-build pytest memcheck large demo}
DLMC=${DLMC:-$REPO/.dlmc}
want() { [[ " $STAGES " == *" $1 "* ]]; }
stage() {  # stage NAME SECONDS CMD...: run with a time limit, append to $OUT/${LOG:-NAME}.log
  local name=$1 limit=$2; shift 2
  local log="$OUT/${LOG:-$name}.log"
  echo "=== $name (limit ${limit}s)" | tee -a "$log"
  local t0=$SECONDS
  timeout "$limit" "$@" >> "$log" 2>&1
  local rc=$?
  echo "=== $name: rc=$rc in $((SECONDS - t0))s" | tee -a "$log"; tail -n "${TAIL:-15}" "$log"
  [ $rc -eq 0 ] || status=1
}
{
  echo "commit: ${COMMIT:-unknown}"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax, jaxlib; print('jax', jax.__version__, 'jaxlib', jaxlib.__version__, jax.devices())"
  python3 -c "import flax, optax; print('flax', flax.__version__, 'optax', optax.__version__)"
  nvcc --version | tail -n 2
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
want build && JSDL_CUDA=ON JSDL_CUDA_ARCHITECTURES=90 stage build 300 \
  python3 -m pip install --no-build-isolation --no-deps -v "$REPO"
cd /tmp  # import the installed package, not the source tree
export JAX_PLATFORMS=cuda JSDL_REQUIRE_CUDA_MODULE=1 JSDL_REQUIRE_CUSPARSE_MODULE=1
want pytest && stage pytest-gpu 300 pytest "$REPO/tests" -q -rs -m "not large" -n 6 -p no:cacheprovider
want tune && stage tune 420 python3 "$REPO/scripts/tune_spmm.py" "$DLMC" "$OUT/tune.csv" --per-level 1
want tune-sddmm && stage tune-sddmm 300 python3 "$REPO/scripts/tune_sddmm.py" "$DLMC" \
  "$OUT/tune-sddmm.csv" --per-level 1
want profile && stage ncu 300 ncu --profile-from-start off --section SpeedOfLight \
  --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section Occupancy \
  --section LaunchStats --section WarpStateStats python3 "$REPO/scripts/profile_kernels.py" \
  ${PROFILE_ARGS:-}
want bench && stage bench 540 python3 -m jax_sparse_dl.bench "$DLMC" --out "$OUT/bench" ${BENCH_ARGS:-}
# memcheck sees only allocation bounds: the platform allocator gives every XLA buffer its own
# cudaMalloc, so an access past any operand is caught. The cases build their patterns on the
# host backend (cuda,cpu): XLA's own sort/scatter kernels crash this compute-sanitizer build.
want memcheck && for run in spmm:gather spmm:staged:32:8 spmm:staged:64:2 spmm:auto sddmm:row sddmm:flat:1 \
    sddmm:flat:4 csr_softmax: grads:; do
  ops=${run%%:*} variant=${run#*:}
  LOG=memcheck TAIL=3 stage "memcheck-$ops${variant:+-$variant}" 100 env \
    XLA_PYTHON_CLIENT_ALLOCATOR=platform JAX_PLATFORMS=cuda,cpu JSDL_SPMM_VARIANT="$variant" \
    JSDL_SDDMM_VARIANT="$variant" \
    compute-sanitizer --tool memcheck --error-exitcode 99 \
    python3 "$REPO/scripts/memcheck_cases.py" --ops "$ops"
done
# Shared-memory hazards of the staged SpMM kernel (the only kernel with shared memory).
want racecheck && LOG=racecheck TAIL=3 stage racecheck-spmm-staged 150 env \
  XLA_PYTHON_CLIENT_ALLOCATOR=platform JAX_PLATFORMS=cuda,cpu JSDL_SPMM_VARIANT=staged:32:8 \
  compute-sanitizer --tool racecheck --error-exitcode 99 \
  python3 "$REPO/scripts/memcheck_cases.py" float32 --ops spmm
want large && stage pytest-large 120 pytest "$REPO/tests" -q -rs -m large -p no:cacheprovider
want demo && stage demo 120 jsdl-demo
exit $status
