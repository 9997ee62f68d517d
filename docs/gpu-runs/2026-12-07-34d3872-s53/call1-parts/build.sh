#!/usr/bin/env bash
# Builds, on the CPU machine, the SDDMM harness of 34d3872 with four-parts.patch into .dlmc/ab4/,
# and the same with phase clocks (-DJSDL_PHASE_CLOCK)
# (git-ignored; call.sh's carry). Repository root, a clean tree at 34d3872; about 160 s.
set -euo pipefail
HERE=$(dirname "$0")
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
WORK=$(mktemp -d)
git archive HEAD cuda scripts | tar -x -C "$WORK"
(cd "$WORK" && git apply "$OLDPWD/$HERE/four-parts.patch" --include='cuda/*')
rm -rf .dlmc/ab4 && mkdir -p .dlmc/ab4
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I"$INC" "$WORK/scripts/sddmm_harness.cu" \
  -o .dlmc/ab4/sddmm_harness_four 2> .dlmc/ab4/four.ptxas.log
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -DJSDL_PHASE_CLOCK -I"$INC" \
  "$WORK/scripts/sddmm_harness.cu" -o .dlmc/ab4/sddmm_harness_phase 2> .dlmc/ab4/phase.log
git rev-parse --short HEAD > .dlmc/ab4/commit
rm -rf "$WORK"
ls -la .dlmc/ab4
