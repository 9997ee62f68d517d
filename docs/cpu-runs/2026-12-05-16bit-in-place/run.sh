#!/bin/bash
# The CPU kernels of a447e82 (session 36) against 5ecfff5 (16-bit read in place), alternated,
# two rounds; each tree's CPU module built into its own folder first:
#   git worktree add /tmp/src-X X && (cd /tmp/src-X && JSDL_CUDA=OFF pip install --no-deps \
#     --target /tmp/pkg_X_site . ) && mkdir -p /tmp/pkg_X && cp -r /tmp/pkg_X_site/jax_sparse_dl /tmp/pkg_X/
# for X in old (a447e82) and head (5ecfff5). Run from /tmp (not the source tree).
cd /tmp
for round in 1 2; do
  for dt in bfloat16 float16 float32; do
    for v in old head; do
      PYTHONPATH=/tmp/pkg_$v python /work/main/scripts/cpu_kernels_timing.py --dtype $dt \
        > /tmp/cpurun/timing-$dt-$v-$round.txt 2>&1
    done
  done
done
