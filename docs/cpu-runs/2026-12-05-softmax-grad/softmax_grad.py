# The backward of csr_softmax on CPU, µs (median of 7 by jax_sparse_dl.timing): 8 heads of 4096
# rows of `length` entries each (a local attention window), the bundled 512 x 512 matrix at 98%
# (about 10 entries a row) and at 70% (about 154). python softmax_grad.py DTYPE
import sys, jax, jax.numpy as jnp, numpy as np, jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing
from jax_sparse_dl.softmax import _softmax_grad
dt = jnp.dtype(sys.argv[1])


def grad_time(A):
  probs = jsdl.csr_softmax(A).values
  pattern, (m, k) = A.sparsity.arrays, A.shape
  r = timing.time_per_call(lambda g: _softmax_grad(probs, g, pattern, m, k), A.values, repeats=7)
  return r.median_s * 1e6


out = []
for length in (10, 16, 40, 64, 256):
  m = 4096
  offsets = np.arange(m + 1, dtype=np.int32) * length
  columns = (np.arange(m)[:, None] - np.arange(length)[None, :]) % m  # a window, wrapped
  values = jax.random.normal(jax.random.key(length), (8, m * length), dt)
  A = jsdl.CSR.from_parts(values, offsets, columns.reshape(-1).astype(np.int32), (m, m))
  out.append(f"window {length}: {grad_time(A):.0f}")
for level in ("0.98", "0.7"):
  path = [p for p in dlmc.bundled_matrices() if f"{level}_enc0_self" in p.name][0]
  A = dlmc.load_csr(path, jax.random.key(0), dt)
  out.append(f"{path.name.split('.smtx')[0]}: {grad_time(A):.0f}")
print(sys.argv[1], ", ".join(out), flush=True)
