import sys, jax, jax.numpy as jnp, jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing
dt = jnp.dtype(sys.argv[1]); out = []
for path in dlmc.bundled_matrices():
  A = dlmc.load_csr(path, jax.random.key(0), dt)
  r = timing.time_per_call(lambda v: jsdl.csr_softmax(A.with_values(v)).values, A.values, repeats=7)
  out.append(f"{r.min_s*1e6:.0f}/{r.median_s*1e6:.0f}")
print(sys.argv[1], " ".join(out))
