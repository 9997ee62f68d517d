import sys, jax, jax.numpy as jnp, jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing
dt = jnp.dtype(sys.argv[1])
path = [p for p in dlmc.bundled_matrices() if "0.9_enc0_self" in p.name][0]
A = dlmc.load_csr(path, jax.random.key(0), dt)
out = []
for n in (256, 128, 64, 48, 32, 24, 16, 8, 4, 1):
  x = jax.random.normal(jax.random.key(1), (A.shape[1], n), dt)
  r = timing.time_per_call(lambda v, x: jsdl.spmm(A.with_values(v), x), A.values, x, repeats=7)
  out.append(f"n={n}: {r.median_s*1e6:.0f} ({r.median_s*1e9/n:.0f} ns/col)")
print(sys.argv[1], ", ".join(out))
