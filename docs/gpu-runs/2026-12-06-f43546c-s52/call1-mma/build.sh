# On the CPU machine, from the repository root at a clean commit (about 1 minute): the SpMM
# harness of HEAD (.dlmc/ab/spmm_harness_head) and of HEAD with mma-tile.patch
# (.dlmc/ab/spmm_harness_mma); carry [".dlmc/ab", ".dlmc/slim"]. Needs .dlmc/slim
# (python scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1).
set -euo pipefail
bash scripts/build_ab_harnesses.sh docs/gpu-runs/2026-12-06-f43546c-s52/call1-mma/mma-tile.patch mma
