#!/bin/bash
# 93a9a39 (C) against sddmm-pairs.patch on it (S: a bfloat16 rhs read in pairs), each built into
# /tmp/pkg_X as in ../run.sh; alternated, two rounds, from /tmp. Columns: the bundled matrices
# in dlmc.bundled_matrices() order.
here=$(cd "$(dirname "$0")" && pwd)
cd /tmp
for round in 1 2; do for v in C S; do
  PYTHONPATH=/tmp/pkg_$v python "$here/sddmm_bf16.py" $v 2>&1 | grep -v "Warn\|warn("
done; done
