#!/usr/bin/env bash
# Builds, on the CPU machine, what a device call would otherwise build on the GPU machine (about
# 80 s of its device time for the package, 60-100 s for the harnesses): a wheel for the device's
# Python 3.12 and jax 0.11.2 with the CUDA module for sm_90a and the cuSPARSE module, and the
# standalone SpMM and SDDMM harnesses. All go to .dlmc/ (git-ignored, carried with
# carry [".dlmc"]); scripts/gpu_run.sh installs the wheel when WHEEL names it and the commit
# in .dlmc/wheel/commit is its COMMIT, else builds from source as before.
# Usage (repository root, clean tree): bash scripts/build_device_wheel.sh [python3.12]
# Needs python3.12 (pyenv's is found), nvcc and PyPI (jax 0.11.2, nvidia-cusparse).
set -euo pipefail
REPO=$PWD
PY=${1:-}
if [ -z "$PY" ]; then  # the first that runs (pyenv's shim is found but fails where 3.12 is not global)
  for c in $(command -v python3.12) /root/.pyenv/versions/3.12*/bin/python3.12; do
    "$c" -c "" 2>/dev/null && PY=$c && break
  done
fi
VENV=${VENV:-/tmp/jsdl-device-venv}
OUT=$REPO/.dlmc
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "build_device_wheel: the tree has uncommitted changes; commit first (the wheel is named by its commit)" >&2
  exit 1
fi
COMMIT=$(git rev-parse --short HEAD)
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "jax==0.11.2" "jaxlib==0.11.2" nanobind scikit-build-core numpy cmake \
  ninja "nvidia-cusparse>=12.6.2.49"
rm -rf "$OUT/wheel" "$OUT/bin" && mkdir -p "$OUT/wheel" "$OUT/bin"
PATH=$VENV/bin:$PATH JSDL_CUDA=ON JSDL_CUDA_ARCHITECTURES=90a JSDL_CUSPARSE=ON \
  "$VENV/bin/pip" wheel -q --no-build-isolation --no-deps -w "$OUT/wheel" "$REPO"
INC=$("$VENV/bin/python" -c "import jax; print(jax.ffi.include_dir())")
for op in spmm sddmm; do  # the harnesses as the call scripts build them (-lineinfo for ncu's source view)
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -lineinfo -I"$INC" "scripts/${op}_harness.cu" \
    -o "$OUT/bin/${op}_harness" 2> "$OUT/bin/${op}_harness.log"
done
echo "$COMMIT" | tee "$OUT/wheel/commit" > "$OUT/bin/commit"
ls -la "$OUT/wheel" "$OUT/bin"
