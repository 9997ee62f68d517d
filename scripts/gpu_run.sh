#!/usr/bin/env bash
# One call on the GPU machine: build, the test suite on CUDA, compute-sanitizer memcheck on a
# GPU subset, the int32-overflow tests and the demo. Logs go to $OUT (default ./gpu-logs).
# Usage (repo root): COMMIT=<hash> bash scripts/gpu_run.sh, with the hash taken in your own checkout
# (a copied working tree may carry stale git metadata: git rev-parse there can name an old commit).
# WHEEL=.dlmc/wheel/<name>.whl (from scripts/build_device_wheel.sh on the CPU machine) installs that
# wheel instead of building, where it is COMMIT's and loads.
# STAGES picks stages (default: build pytest memcheck large demo; PYTEST_PATHS and MEMCHECK_RUNS
# narrow the first two, PYTEST_SECONDS, PYTEST_WORKERS and PYTEST_ARGS set pytest's limit, -n and
# more options, e.g. -k); also:
# racecheck, tune
# (scripts/tune_spmm.py on $DLMC $TUNE_ARGS), tune-sddmm (scripts/tune_sddmm.py on $DLMC),
# tune-attention (scripts/tune_attention.py: the Transformer's 12288 pattern), bench
# (python -m jax_sparse_dl.bench $DLMC $BENCH_ARGS),
# profile (Nsight Compute on scripts/profile_kernels.py $PROFILE_ARGS), ncu-harness (Nsight Compute
# on the standalone runners scripts/spmm_harness.cu, or sddmm_harness.cu with HARNESS_OP=sddmm:
# scripts/ncu_harness.sh), mma-probe (scripts/mma_probe.cu: the mma.sync rate), wgmma-probe
# (scripts/wgmma_probe.cu and wgmma_tile_probe.cu: the wgmma rate and a tile on it, sm_90a), and
# the models (issues 4
# and 5): attention-bench, attention-breakdown, mobilenet-bench, train-transformer
# ($TRANSFORMER_RUNS), train-mobilenet ($MODEL_ARGS_*).
# Model runs write under /tmp/models; their summaries are copied to $OUT (8 files come back).
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
# WHEEL: a wheel of this COMMIT built on the CPU machine (scripts/build_device_wheel.sh) saves the
# build's device time; a wheel of another commit, or one whose CUDA or cuSPARSE module does not
# load here, leaves the source build to run.
wheel_ok() {
  [ -n "${WHEEL:-}" ] || return 1
  local built; built=$(cat "$(dirname "$WHEEL")/commit" 2>/dev/null)
  if [ "$built" != "${COMMIT:-}" ]; then
    echo "=== wheel of '$built', not COMMIT '${COMMIT:-}': building from source" | tee -a "$OUT/build.log"
    return 1
  fi
  local before=$status
  stage build-wheel 120 bash -c "python3 -m pip install --no-deps --force-reinstall '$WHEEL' && \
    cd /tmp && python3 -c 'import jax_sparse_dl.lowering as l, jax_sparse_dl.cusparse as c; \
    assert l.has_cuda_kernels() and c.available(), \"a module did not load\"'"
  [ $status -eq $before ] && return 0
  status=$before; return 1
}
want build && ! wheel_ok && JSDL_CUDA=ON JSDL_CUDA_ARCHITECTURES=90a stage build 300 \
  python3 -m pip install --no-build-isolation --no-deps -v "$REPO"
cd /tmp  # import the installed package, not the source tree
export JAX_PLATFORMS=cuda JSDL_REQUIRE_CUDA_MODULE=1 JSDL_REQUIRE_CUSPARSE_MODULE=1
want pytest && stage pytest-gpu ${PYTEST_SECONDS:-300} pytest ${PYTEST_PATHS:-"$REPO/tests"} -q -rs \
  -m "not large" -n ${PYTEST_WORKERS:-6} ${PYTEST_ARGS:-} \
  -p no:cacheprovider
want tune && stage tune ${TUNE_SECONDS:-420} python3 "$REPO/scripts/tune_spmm.py" "$DLMC" \
  "$OUT/tune.csv" --per-level 1 ${TUNE_ARGS:-}
want tune-sddmm && stage tune-sddmm 300 python3 "$REPO/scripts/tune_sddmm.py" "$DLMC" \
  "$OUT/tune-sddmm.csv" --per-level 1 ${TUNE_SDDMM_ARGS:-}
want tune-attention && stage tune-attention 300 python3 "$REPO/scripts/tune_attention.py" \
  "$OUT/tune-attention.csv" ${TUNE_ATTENTION_ARGS:-}
want profile && stage ncu 300 ncu --profile-from-start off --section SpeedOfLight \
  --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section Occupancy \
  --section LaunchStats --section WarpStateStats python3 "$REPO/scripts/profile_kernels.py" \
  ${PROFILE_ARGS:-}
# Nsight Compute without JAX: a standalone runner ($HARNESS_OP, $HARNESS_CASES; see the script).
want ncu-harness && OP=${HARNESS_OP:-spmm} stage ncu-harness ${HARNESS_SECONDS:-300} \
  bash "$REPO/scripts/ncu_harness.sh" ${HARNESS_CASES:-}
# The tensor cores' mma.sync rate without memory traffic (the ceiling of the SDDMM tiles).
want mma-probe && stage mma-probe 120 bash -c "nvcc -std=c++17 -O3 -arch=sm_90 \
  '$REPO/scripts/mma_probe.cu' -o /tmp/mma_probe && /tmp/mma_probe"
# Hopper's wgmma rate the same way (the ceiling of a warpgroup tile: docs/kernels.md, session 23),
# and 64 x 64 TF32 / 3xTF32 tiles on it, register-staged and fed by TMA, checked against float64
# (wgmma_tile_probe.cu, session 24).
want wgmma-probe && stage wgmma-probe 180 bash -c "nvcc -std=c++17 -O3 -arch=sm_90a \
  '$REPO/scripts/wgmma_probe.cu' -o /tmp/wgmma_probe && /tmp/wgmma_probe && \
  nvcc -std=c++17 -O3 -arch=sm_90a '$REPO/scripts/wgmma_tile_probe.cu' -o /tmp/wgmma_tile_probe \
  && /tmp/wgmma_tile_probe 2048 && /tmp/wgmma_tile_probe 256"
want bench && stage bench 540 python3 -m jax_sparse_dl.bench "$DLMC" --out "$OUT/bench" ${BENCH_ARGS:-}
# The device returns at most 8 files: results.csv and summary.md stay loose, results.json, its
# .jsonl and the plots go into bench/extras.tar.gz (session 47 lost summary.md to the limit).
if want bench && [ -d "$OUT/bench" ]; then
  extras=$(cd "$OUT/bench" && ls results.json results.jsonl ./*.png 2> /dev/null)
  [ -n "$extras" ] && tar -czf "$OUT/bench/extras.tar.gz" -C "$OUT/bench" --remove-files $extras
fi
# memcheck sees only allocation bounds: the platform allocator gives every XLA buffer its own
# cudaMalloc, so an access past any operand is caught. The cases build their patterns on the
# host backend (cuda,cpu): XLA's own sort/scatter kernels crash this compute-sanitizer build.
want memcheck && for run in ${MEMCHECK_RUNS:-spmm:gather spmm:gather-batched spmm:panel:32:4 spmm:panel:4:2 spmm:stream spmm:stream:3 spmm:rows-stream spmm:auto \
    sddmm:row sddmm:flat:1 sddmm:flat:4 sddmm:tile:32 sddmm:tile:64:2 sddmm:tile:128 sddmm:mma:64 \
    sddmm:mma:64:2 sddmm:mma:128 sddmm:flat:8 sddmm:flat:1:8 sddmm:flat:4:4 sddmm:mma:64:1:1 \
    csr_softmax: grads:}; do
  ops=${run%%:*} variant=${run#*:}
  LOG=memcheck TAIL=3 stage "memcheck-$ops${variant:+-$variant}" 100 env \
    XLA_PYTHON_CLIENT_ALLOCATOR=platform JAX_PLATFORMS=cuda,cpu JSDL_SPMM_VARIANT="$variant" \
    JSDL_SDDMM_VARIANT="$variant" \
    compute-sanitizer --tool memcheck --error-exitcode 99 \
    python3 "$REPO/scripts/memcheck_cases.py" --ops "$ops"
done
# Shared-memory hazards of the panel and stream kernels (the SpMM kernels with shared memory).
want racecheck && for variant in ${RACECHECK_RUNS:-panel:32:4 panel:4:8 stream stream:3}; do
  LOG=racecheck TAIL=3 stage "racecheck-spmm-$variant" 150 env \
    XLA_PYTHON_CLIENT_ALLOCATOR=platform JAX_PLATFORMS=cuda,cpu JSDL_SPMM_VARIANT=$variant \
    compute-sanitizer --tool racecheck --error-exitcode 99 \
    python3 "$REPO/scripts/memcheck_cases.py" float32 --ops spmm
done
# The models run from the repository root (python -m models.*), importing the installed package.
RUNS=/tmp/models
want attention-bench && stage attention-bench 420 env -C "$REPO" python3 -m models.transformer.benchmark \
  --out "$RUNS/attention" ${MODEL_ARGS_ATTENTION:-} \
  && cp "$RUNS/attention/results.json" "$OUT/attention-results.json" \
  && cp "$RUNS/attention/results.md" "$OUT/attention-results.md" \
  && cp "$RUNS/attention/attention.png" "$OUT/attention.png"
want attention-breakdown && stage attention-breakdown 300 env -C "$REPO" \
  python3 -m models.transformer.breakdown --out "$OUT" ${MODEL_ARGS_BREAKDOWN:-}
want mobilenet-bench && stage mobilenet-bench 420 env -C "$REPO" python3 -m models.mobilenet.benchmark \
  --out "$RUNS/mobilenet" ${MODEL_ARGS_MOBILENET:-} \
  && cp "$RUNS/mobilenet/results.json" "$OUT/mobilenet-results.json" \
  && cp "$RUNS/mobilenet/summary.md" "$OUT/mobilenet-summary.md" \
  && cp "$RUNS/mobilenet/fps.png" "$OUT/mobilenet-fps.png"
# The same model and steps, sparse and dense: the quality comparison of issue 4.
TRANSFORMER=${MODEL_ARGS_TRANSFORMER:---steps 1000 --batch 16 --seq-len 512 --d-model 256 \
  --heads 8 --layers 4 --local 32 --eval-every 250 --no-progress}
# TRANSFORMER_RUNS: "name:flags" entries separated by ';' (attention-only: dense weights).
TRANSFORMER_RUNS=${TRANSFORMER_RUNS:-"sparse:--attention sparse --attention-sparsity 0.9 \
--weights sparse --prune-to 0.8;attention-only:--attention sparse --attention-sparsity 0.9 \
--weights dense;dense:--attention dense --weights dense"}
# TRAIN_PARALLEL=1 runs them all at once on the one GPU (quality only: their tokens/s then
# share the GPU), each logging to train-<name>.log; the logs are joined into train.log.
train_transformer() {
  local log=train
  [ -n "${TRAIN_PARALLEL:-}" ] && log=train-$1
  LOG=$log stage "train-transformer-$1" \
    ${TRAIN_LIMIT:-240} env -C "$REPO" python3 -m models.transformer.train $TRANSFORMER $2 \
    --out "$RUNS/transformer-$1" \
    && cp "$RUNS/transformer-$1/metrics.json" "$OUT/transformer-$1-metrics.json"
}
if want train-transformer; then
  IFS=';' read -ra runs <<< "$TRANSFORMER_RUNS"
  for run in "${runs[@]}"; do
    if [ -n "${TRAIN_PARALLEL:-}" ]; then
      train_transformer "${run%%:*}" "${run#*:}" &
    else
      train_transformer "${run%%:*}" "${run#*:}"
    fi
  done
  if [ -n "${TRAIN_PARALLEL:-}" ]; then
    wait
    for run in "${runs[@]}"; do
      cat "$OUT/train-${run%%:*}.log" >> "$OUT/train.log" && rm "$OUT/train-${run%%:*}.log"
    done
    grep "^=== train-transformer-.*: rc=" "$OUT/train.log" | grep -vq ": rc=0 in" && status=1
  fi
fi
if want train-mobilenet; then
  for sparsity in 0.9 0; do
    LOG=train stage "train-mobilenet-$sparsity" ${TRAIN_LIMIT:-240} env -C "$REPO" python3 -m models.mobilenet.train --width 1.0 \
      --sparsity $sparsity --no-progress ${MODEL_ARGS_MOBILENET_TRAIN:-} \
      --out "$RUNS/mobilenet-$sparsity" \
      && cp "$RUNS/mobilenet-$sparsity/metrics.json" "$OUT/mobilenet-$sparsity-metrics.json"
  done
fi
want large && stage pytest-large 120 pytest "$REPO/tests" -q -rs -m large -p no:cacheprovider
want demo && stage demo 120 jsdl-demo
exit $status
