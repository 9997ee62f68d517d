# SDDMM on the bundled DLMC matrices at d = 64 and 256, bfloat16 and float32, µs a call
# (jax_sparse_dl.timing, median of 5). python sddmm_bf16.py LABEL
import sys, jax, jax.numpy as jnp
import jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing
for dt in (jnp.bfloat16, jnp.float32):
  for d in (64, 256):
    row = []
    for path in dlmc.bundled_matrices():
      A = dlmc.load_csr(path, jax.random.key(0), dt)
      m, k = A.shape
      q = jax.random.normal(jax.random.key(2), (m, d), dt)
      kk = jax.random.normal(jax.random.key(3), (k, d), dt)
      r = timing.time_per_call(lambda q, kk: jsdl.sddmm(q, kk, A).values, q, kk, repeats=5)
      row.append(f"{r.median_s * 1e6:.0f}")
    print(sys.argv[1], jnp.dtype(dt).name, f"d={d}", " ".join(row), flush=True)
