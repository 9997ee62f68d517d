#!/bin/bash
# dcdd238 (the CPU module at -O3) against the change that reads bfloat16 SpMM blocks in pairs
# (X = A and B, each built with JSDL_CUDA=OFF pip install --no-deps --target /tmp/pkg_X_site and
# copied to /tmp/pkg_X as in ../2026-12-05-nominsize/run.sh), alternated, two rounds, from /tmp.
repo=$(cd "$(dirname "$0")/../../.." && pwd)
tails=$repo/docs/cpu-runs/2026-12-05-tails-and-mobilenet
mkdir -p /tmp/cpurun2 && cd /tmp
for round in 1 2; do
  for v in A B; do
    for dt in bfloat16 float32; do
      PYTHONPATH=/tmp/pkg_$v python "$repo/scripts/cpu_kernels_timing.py" --dtype $dt 2>&1 | \
        grep -v "Warn\|warn(" > /tmp/cpurun2/timing-$dt-$v-$round.txt
      PYTHONPATH=/tmp/pkg_$v python "$tails/spmm_tails.py" $dt 2>&1 | grep -v "Warn\|warn(" | \
        sed "s/^/$v /" >> /tmp/cpurun2/spmm-tails.txt
    done
  done
done
