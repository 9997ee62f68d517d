# On the CPU machine, from the repository root at a clean commit (about 1 minute): the SpMM
# harness of HEAD (.dlmc/ab/spmm_harness_head) and of HEAD with small-stream.patch
# (.dlmc/ab/spmm_harness_small), and session 50's probe (.dlmc/union/spmm_union_probe); carry
# [".dlmc/ab", ".dlmc/slim", ".dlmc/union"]. Needs .dlmc/slim
# (python scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1).
set -euo pipefail
bash scripts/build_ab_harnesses.sh docs/gpu-runs/2026-12-06-edc552c-s51/call1-small/small-stream.patch small
mkdir -p .dlmc/union
nvcc -std=c++17 -O3 -arch=sm_90a -I"$(python3 -c "import jax; print(jax.ffi.include_dir())")" \
  scripts/spmm_union_probe.cu -o .dlmc/union/spmm_union_probe 2> /dev/null
