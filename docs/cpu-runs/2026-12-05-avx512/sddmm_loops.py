import sys, jax, jax.numpy as jnp
import jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing, _jsdl_cpu
for d in (64, 256):
  for path in dlmc.bundled_matrices():
    A = dlmc.load_csr(path, jax.random.key(0), jnp.float32)
    m, k = A.shape
    q = jax.random.normal(jax.random.key(2), (m, d)); kk = jax.random.normal(jax.random.key(3), (k, d))
    f = lambda q, kk: jsdl.sddmm(q, kk, A).values
    row = []
    for l in _jsdl_cpu.vector_loops():
      _jsdl_cpu.use_vector_loops(l); jax.clear_caches()
      row.append(f"{l} {timing.time_per_call(f, q, kk, repeats=5).median_s*1e6:.0f}")
    print(f"d={d} {path.name[:40]:40s}", "  ".join(row), flush=True)
