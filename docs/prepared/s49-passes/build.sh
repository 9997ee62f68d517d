# On the CPU machine, from the repository root at a clean commit (about 1.5 minutes): the SpMM
# harness of HEAD into .dlmc/ab/spmm_harness_head (git-ignored; carry [".dlmc/ab", ".dlmc/slim"]).
# Needs .dlmc/slim (python scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1) and jax's
# FFI headers (pip install -q '.[test]').
set -euo pipefail
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
mkdir -p .dlmc/ab
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I"$INC" scripts/spmm_harness.cu \
  -o .dlmc/ab/spmm_harness_head 2> .dlmc/ab/head.ptxas.log
git rev-parse --short HEAD > .dlmc/ab/commit
ls -la .dlmc/ab
