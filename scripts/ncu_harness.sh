#!/usr/bin/env bash
# Nsight Compute on scripts/spmm_harness.cu, a standalone SpMM runner (ncu segfaults under the JAX
# process on the device machine). Builds the runner, then per case: one timed and checked run, and
# one under ncu (the runner's single launch between cudaProfilerStart/Stop).
# Usage (GPU machine): bash scripts/ncu_harness.sh [CASE...]; CASE = PATTERN:N:DTYPE[:VARIANT],
# PATTERN = m,k,density or a DLMC .smtx / .smtx.gz path, DTYPE float32 or bfloat16, VARIANT a
# JSDL_SPMM_VARIANT value (default: the heuristic). NCU_ARGS replaces the ncu options.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=/tmp/spmm_harness
nvcc -std=c++17 -O3 -arch=sm_90 -I"$(python3 -c 'import jax; print(jax.ffi.include_dir())')" \
  "$REPO/scripts/spmm_harness.cu" -o "$BIN" || exit 1
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("2048,512,0.1:2048:float32" "2048,512,0.1:2048:float32:gather"
                                 "2048,512,0.1:2048:bfloat16")
status=0
for c in "${cases[@]}"; do
  IFS=: read -r pattern n dtype variant <<< "$c"
  if [[ $pattern == *.gz ]]; then
    gunzip -c "$pattern" > /tmp/harness.smtx && pattern=/tmp/harness.smtx
  fi
  echo "=== $c"
  run=(env ${variant:+JSDL_SPMM_VARIANT=$variant})
  "${run[@]}" "$BIN" "$pattern" "$n" "$dtype" || status=1
  "${run[@]}" ncu --profile-from-start off ${NCU_ARGS:---set full} "$BIN" "$pattern" "$n" "$dtype" 3 \
    || status=1
done
exit $status
