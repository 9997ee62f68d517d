#!/bin/bash
# 08d3df5 (the CPU module at nanobind's default -Os) against the same tree built with NOMINSIZE
# (-O3 alone), alternated, two rounds. Each tree's CPU module built into its own folder:
#   git worktree add /tmp/src-X X && (cd /tmp/src-X && JSDL_CUDA=OFF pip install --no-deps \
#     --target /tmp/pkg_X_site . ) && mkdir -p /tmp/pkg_X && cp -r /tmp/pkg_X_site/jax_sparse_dl /tmp/pkg_X/
# for X in os (08d3df5) and o3 (08d3df5 with NOMINSIZE in CMakeLists.txt). Run from /tmp (not a
# source tree); output in /tmp/cpurun. The models come from the tree /tmp/src-os (the same code).
repo=$(cd "$(dirname "$0")/../../.." && pwd)
tails=$repo/docs/cpu-runs/2026-12-05-tails-and-mobilenet
mkdir -p /tmp/cpurun && cd /tmp
for round in 1 2; do
  for v in os o3; do
    for dt in float32 bfloat16; do
      PYTHONPATH=/tmp/pkg_$v python "$repo/scripts/cpu_kernels_timing.py" --dtype $dt \
        > /tmp/cpurun/timing-$dt-$v-$round.txt 2>&1
      PYTHONPATH=/tmp/pkg_$v python "$tails/spmm_tails.py" $dt >> /tmp/cpurun/spmm-tails-$v.txt 2>&1
      PYTHONPATH=/tmp/pkg_$v python "$tails/softmax_short_rows.py" $dt 2>&1 | sed "s/^/$v /" \
        >> /tmp/cpurun/softmax-short-rows.txt
    done
    PYTHONPATH=/tmp/pkg_$v jsdl-demo > /tmp/cpurun/demo-$v-$round.txt 2>&1
    PYTHONPATH=/tmp/pkg_$v:/tmp/src-os python "$tails/mobilenet_cpu.py" \
      > /tmp/cpurun/mobilenet-$v-$round.txt 2>&1
  done
done
