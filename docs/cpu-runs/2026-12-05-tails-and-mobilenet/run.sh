#!/bin/bash
# ce27bc3 (session 37) against 4fcc861 (this session's SpMM tails and MobileNet changes),
# alternated, two rounds. Each tree checked out and its CPU module built into its own folder:
#   git worktree add /tmp/src-X X && (cd /tmp/src-X && JSDL_CUDA=OFF pip install --no-deps \
#     --target /tmp/pkg_X_site . ) && mkdir -p /tmp/pkg_X && cp -r /tmp/pkg_X_site/jax_sparse_dl /tmp/pkg_X/
# for X in old (ce27bc3) and new (4fcc861). Run from /tmp (not a source tree); output in /tmp/cpurun.
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p /tmp/cpurun && cd /tmp
for round in 1 2; do
  for v in old new; do
    for dt in float32 bfloat16; do
      PYTHONPATH=/tmp/pkg_$v python "$here/spmm_tails.py" $dt >> /tmp/cpurun/spmm-tails-$v.txt 2>&1
    done
    PYTHONPATH=/tmp/pkg_$v:/tmp/src-$v python "$here/mobilenet_cpu.py" \
      > /tmp/cpurun/mobilenet-$v-$round.txt 2>&1
  done
done
# csr_softmax on short rows (after the runs above): X = new (4fcc861) and sm2 (the commit that adds
# softmax_short_rows.py), alternated, two rounds, into softmax-short-rows.txt.
for round in 1 2; do
  for v in new sm2; do
    for dt in float32 bfloat16; do
      PYTHONPATH=/tmp/pkg_$v python "$here/softmax_short_rows.py" $dt 2>&1 | sed "s/^/$v /" \
        >> /tmp/cpurun/softmax-short-rows.txt
    done
  done
done
