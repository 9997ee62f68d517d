#!/usr/bin/env bash
# Builds, on the CPU machine, the SDDMM harness of 34d3872 (head) and of 34d3872 with
# async-slices.patch (async; and async with phase clocks) into .dlmc/ab5/ (git-ignored; call.sh's
# carry). Repository root, a clean tree at 34d3872; about 4 minutes.
set -euo pipefail
HERE=$(dirname "$0")
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
rm -rf .dlmc/ab5 && mkdir -p .dlmc/ab5
for t in head async; do
  WORK=$(mktemp -d)
  git archive HEAD cuda scripts | tar -x -C "$WORK"
  [ $t = async ] && (cd "$WORK" && git apply "$OLDPWD/$HERE/async-slices.patch" --include='cuda/*')
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I"$INC" "$WORK/scripts/sddmm_harness.cu" \
    -o .dlmc/ab5/sddmm_harness_$t 2> .dlmc/ab5/$t.ptxas.log
  [ $t = async ] && nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -DJSDL_PHASE_CLOCK -I"$INC" \
    "$WORK/scripts/sddmm_harness.cu" -o .dlmc/ab5/sddmm_harness_asyncphase 2> .dlmc/ab5/asyncphase.log
  rm -rf "$WORK"
done
git rev-parse --short HEAD > .dlmc/ab5/commit
ls -la .dlmc/ab5
