#!/usr/bin/env bash
# Builds, on the CPU machine, the SDDMM harness of HEAD and of HEAD with window.patch (cuda/ only)
# into .dlmc/ab5/ (git-ignored; call.sh's carry), about 3 minutes. For the tests part of call.sh,
# also the wheel of the patch: on a branch, `git am` window.patch, then
# `bash scripts/build_device_wheel.sh` (.dlmc/wheel, named by that commit). Repository root.
set -euo pipefail
HERE=$(dirname "$0")
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
rm -rf .dlmc/ab5 && mkdir -p .dlmc/ab5
for t in head window; do
  WORK=$(mktemp -d)
  git archive HEAD cuda scripts | tar -x -C "$WORK"
  [ $t = window ] && (cd "$WORK" && git apply "$OLDPWD/$HERE/window.patch" --include='cuda/*')
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I"$INC" "$WORK/scripts/sddmm_harness.cu" \
    -o .dlmc/ab5/sddmm_harness_$t 2> .dlmc/ab5/$t.ptxas.log
  rm -rf "$WORK"
done
git rev-parse --short HEAD > .dlmc/ab5/commit
ls -la .dlmc/ab5
