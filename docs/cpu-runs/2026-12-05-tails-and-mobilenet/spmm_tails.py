# SpMM at column counts that are not multiples of 128 (AVX-512 blocks of 8 vectors), median µs
# of 7 by jax_sparse_dl.timing: the bundled transformer 512 x 512 matrix at 90% and a random
# 1024 x 1024 at 90% (MobileNet's last pointwise layer, n = 7 x 7). python spmm_tails.py DTYPE
import sys, jax, jax.numpy as jnp, jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing
dt = jnp.dtype(sys.argv[1])
path = [p for p in dlmc.bundled_matrices() if "0.9_enc0_self" in p.name][0]
for name, A, ns in (("512x512", dlmc.load_csr(path, jax.random.key(0), dt),
                     (256, 196, 129, 100, 64, 49, 48, 24, 12, 7)),
                    ("1024x1024", jsdl.random_csr(jax.random.key(0), (1024, 1024), 0.9, dtype=dt),
                     (49, 196))):
  out = []
  for n in ns:
    x = jax.random.normal(jax.random.key(1), (A.shape[1], n), dt)
    r = timing.time_per_call(lambda v, x: jsdl.spmm(A.with_values(v), x), A.values, x, repeats=7)
    out.append(f"n={n}: {r.median_s * 1e6:.0f}")
  print(sys.argv[1], name, ", ".join(out), flush=True)
