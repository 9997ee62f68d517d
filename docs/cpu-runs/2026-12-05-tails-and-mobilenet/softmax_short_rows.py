# csr_softmax on short rows, µs (median of 7 by jax_sparse_dl.timing): 8 heads of 4096 rows of
# `length` entries each (a local attention window), and the bundled 512 x 512 matrix at 98%
# (about 10 entries a row). python softmax_short_rows.py DTYPE
import sys, jax, jax.numpy as jnp, numpy as np, jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing
dt = jnp.dtype(sys.argv[1])
out = []
for length in (4, 7, 10, 12, 16, 24, 40):
  m = 4096
  offsets = np.arange(m + 1, dtype=np.int32) * length
  columns = (np.arange(m)[:, None] - np.arange(length)[None, :]) % m  # a window, wrapped
  values = jax.random.normal(jax.random.key(length), (8, m * length), dt)
  A = jsdl.CSR.from_parts(values, offsets, columns.reshape(-1).astype(np.int32), (m, m))
  r = timing.time_per_call(lambda v: jsdl.csr_softmax(A.with_values(v)).values, A.values,
                           repeats=7)
  out.append(f"window {length}: {r.median_s * 1e6:.0f}")
path = [p for p in dlmc.bundled_matrices() if "0.98_enc0_self" in p.name][0]
A = dlmc.load_csr(path, jax.random.key(0), dt)
r = timing.time_per_call(lambda v: jsdl.csr_softmax(A.with_values(v)).values, A.values, repeats=7)
out.append(f"{path.name.split('.smtx')[0]}: {r.median_s * 1e6:.0f}")
print(sys.argv[1], ", ".join(out), flush=True)
