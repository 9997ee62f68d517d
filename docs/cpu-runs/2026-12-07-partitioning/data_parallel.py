"""A sparse layer's data-parallel step under jit on host CPU devices, with the partitioning rules
on or off. Usage: XLA_FLAGS=--xla_force_host_platform_device_count=D python data_parallel.py on|off

The step: y = A @ x (SpMM, A 1024 x 1024 at 90%, x 1024 x 4096 tokens split over the devices) and
the gradient of sum(y * q) w.r.t. A's values (an SDDMM over the tokens: with the rules, each device
sums its tokens and an all-reduce adds the parts). Off: spans_devices is False, so XLA gathers
every custom call's operands, as before the rules. Wall time of whole jitted steps (20-200 ms, so
Python dispatch is negligible), median of 15 after a warm-up call.
"""
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

import jax_sparse_dl as jsdl
from jax_sparse_dl import partitioning

if sys.argv[1] == "off":
  partitioning.spans_devices = lambda ctx: False
mesh = Mesh(np.array(jax.devices()), ("d",))
A = jsdl.random_csr(jax.random.key(0), (1024, 1024), 0.9)
split = NamedSharding(mesh, P(None, "d"))
x = jax.device_put(jax.random.normal(jax.random.key(1), (1024, 4096)), split)
q = jax.device_put(jax.random.normal(jax.random.key(2), (1024, 4096)), split)


def step(values, x, q):
  loss = lambda v: jnp.sum(jsdl.spmm(A.with_values(v), x, precision="highest") * q)
  return jax.grad(loss)(values)


f = jax.jit(step)
want = np.asarray(jax.jit(step)(A.values, np.asarray(x), np.asarray(q)))  # unsharded operands
got = f(A.values, x, q)
assert np.allclose(np.asarray(got), want, rtol=1e-4, atol=1e-3)
times = []
for _ in range(15):
  t = time.perf_counter()
  f(A.values, x, q).block_until_ready()
  times.append(time.perf_counter() - t)
print(f"rules {sys.argv[1]:3s} devices {len(jax.devices())}: median {1e3 * np.median(times):.1f} ms "
      f"(min {1e3 * min(times):.1f}, max {1e3 * max(times):.1f})")
