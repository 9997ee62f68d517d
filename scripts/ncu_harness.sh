#!/usr/bin/env bash
# Nsight Compute on a standalone runner (ncu segfaults under the JAX process on the device
# machine): scripts/spmm_harness.cu, or scripts/sddmm_harness.cu with OP=sddmm. Builds the runner,
# then per case: one timed and checked run, and one under ncu (the runner's single launch between
# cudaProfilerStart/Stop).
# Usage (GPU machine): [OP=sddmm] bash scripts/ncu_harness.sh [CASE...]; CASE =
# PATTERN:N:DTYPE[:VARIANT], PATTERN = m,k,density or a DLMC .smtx / .smtx.gz path, N the SpMM's
# dense columns or the SDDMM's inner dimension d, DTYPE float32 or bfloat16 (SDDMM also tf32:
# float32 at DEFAULT precision), VARIANT a JSDL_SPMM_VARIANT / JSDL_SDDMM_VARIANT value
# (default: the heuristic). NCU_ARGS replaces the ncu options.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OP=${OP:-spmm}
case $OP in
  spmm) VARIANT_ENV=JSDL_SPMM_VARIANT
        DEFAULT_CASES=("2048,512,0.1:2048:float32" "2048,512,0.1:2048:float32:gather"
                       "2048,512,0.1:2048:bfloat16") ;;
  sddmm) VARIANT_ENV=JSDL_SDDMM_VARIANT
         DEFAULT_CASES=("512,512,0.5:64:float32" "512,512,0.5:64:tf32") ;;
  *) echo "OP must be spmm or sddmm, got $OP" >&2; exit 2 ;;
esac
BIN=/tmp/${OP}_harness
nvcc -std=c++17 -O3 -arch=sm_90 -I"$(python3 -c 'import jax; print(jax.ffi.include_dir())')" \
  "$REPO/scripts/${OP}_harness.cu" -o "$BIN" || exit 1
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("${DEFAULT_CASES[@]}")
status=0
for c in "${cases[@]}"; do
  IFS=: read -r pattern n dtype variant <<< "$c"
  if [[ $pattern == *.gz ]]; then
    gunzip -c "$pattern" > /tmp/harness.smtx && pattern=/tmp/harness.smtx
  fi
  echo "=== $OP $c"
  run=(env ${variant:+$VARIANT_ENV=$variant})
  "${run[@]}" "$BIN" "$pattern" "$n" "$dtype" || status=1
  "${run[@]}" ncu --profile-from-start off ${NCU_ARGS:---set full} "$BIN" "$pattern" "$n" \
    "$dtype" 3 || status=1
done
exit $status
