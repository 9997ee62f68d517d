#!/usr/bin/env bash
# Builds, on the CPU machine, the standalone SpMM or SDDMM harness (scripts/<op>_harness.cu) of
# HEAD and of HEAD with a patch, for an A/B on the device: .dlmc/ab/<op>_harness_head and
# .dlmc/ab/<op>_harness_<name> (git-ignored; a call carries [".dlmc/ab", ".dlmc/slim"]), HEAD's
# short hash in .dlmc/ab/commit, ptxas output in .dlmc/ab/<name>.ptxas.log.
# Usage (repository root, 1-3 minutes): bash scripts/build_ab_harnesses.sh PATCH NAME [spmm|sddmm]
# Needs jax's FFI headers (pip install -q '.[test]') and nvcc; only the patch's cuda/ part applies.
set -euo pipefail
PATCH=$(realpath "$1")
NAME=$2
OP=${3:-spmm}
[ "$OP" = spmm ] || [ "$OP" = sddmm ] || { echo "build_ab_harnesses: OP is spmm or sddmm" >&2; exit 2; }
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
WORK=$(mktemp -d)
rm -rf .dlmc/ab && mkdir -p .dlmc/ab "$WORK/head" "$WORK/$NAME"
for t in head "$NAME"; do git archive HEAD cuda scripts | tar -x -C "$WORK/$t"; done
(cd "$WORK/$NAME" && git apply "$PATCH" --include='cuda/*')
pids=()
for t in head "$NAME"; do
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I"$INC" "$WORK/$t/scripts/${OP}_harness.cu" \
    -o ".dlmc/ab/${OP}_harness_$t" 2> ".dlmc/ab/$t.ptxas.log" &
  pids+=($!)
done
# Each build's own status: a bare `wait` returns 0 even when a patch does not compile.
for pid in "${pids[@]}"; do wait "$pid"; done
git rev-parse --short HEAD > .dlmc/ab/commit
rm -rf "$WORK"
ls -la .dlmc/ab
