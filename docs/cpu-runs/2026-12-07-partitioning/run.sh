#!/bin/bash
# Session 60 (4e256fa's package, installed editable): the rules off and on, on 2 host CPU devices,
# and on one device (no partitioning there), alternated, two rounds. Run from /tmp.
here=$(cd "$(dirname "$0")" && pwd)
cd /tmp
for round in 1 2; do
  for mode in off on; do
    XLA_FLAGS=--xla_force_host_platform_device_count=2 JAX_PLATFORMS=cpu \
      python "$here/data_parallel.py" $mode 2>&1 | grep rules
  done
  JAX_PLATFORMS=cpu python "$here/data_parallel.py" on 2>&1 | grep rules
done
