"""Edge cases of every op and dtype, checked against float64 numpy; meant to run under
compute-sanitizer (scripts/gpu_run.sh), so every kernel sees odd sizes, empty rows, nnz = 0,
one row, broadcast batches and the backward kernels.

Usage: memcheck_cases.py [DTYPE ...] [--ops spmm,sddmm,csr_softmax,grads]: one process per
group keeps each sanitizer run short."""
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jax_sparse_dl as jsdl


def pattern(rng, m, k, density, empty_rows=()):
  mask = rng.random((m, k)) < density
  mask[list(empty_rows)] = False
  return mask


DTYPES = {"float32": (jnp.float32, 1e-5), "bfloat16": (jnp.bfloat16, 2e-2),
          "float16": (jnp.float16, 3e-3)}
OPS = ("spmm", "sddmm", "csr_softmax", "grads")


def main(argv) -> int:
  ops = OPS
  if "--ops" in argv:
    i = argv.index("--ops")
    ops, argv = tuple(argv[i + 1].split(",")), argv[:i] + argv[i + 2:]
  dtypes = [DTYPES[name] for name in (argv or DTYPES)]
  rng = np.random.default_rng(0)
  failures = 0
  cases = [(1, 1, 1, 1.0), (7, 5, 3, 0.5), (33, 65, 31, 0.3), (64, 40, 129, 0.2),
           (5, 9, 0, 0.5), (6, 4, 17, 0.0), (130, 7, 33, 0.9)]
  for dt, tol in dtypes:
    for m, k, n, density in cases:
      mask = pattern(rng, m, k, density, empty_rows=range(0, m, 3))
      w = np.where(mask, rng.standard_normal((m, k)), 0)
      A = jsdl.CSR.fromdense(jnp.asarray(w, dt))
      vals = jnp.asarray(rng.standard_normal((2, 1, A.nnz)), dt)
      x = jnp.asarray(rng.standard_normal((3, k, n)), dt)
      bias = jnp.asarray(rng.standard_normal((m,)), dt)
      q = jnp.asarray(rng.standard_normal((m, 13)), dt)
      kk = jnp.asarray(rng.standard_normal((3, k, 13)), dt)
      f64 = lambda a: np.asarray(jnp.asarray(a, jnp.float32), np.float64)
      wd = f64(A.with_values(vals).todense())
      checks = {}
      if "spmm" in ops:
        checks["spmm"] = (jsdl.spmm(A.with_values(vals), x, bias=bias, relu=True),
                          np.maximum(wd @ f64(x) + f64(bias)[:, None], 0))
      if "sddmm" in ops:
        checks["sddmm"] = (jsdl.sddmm(q, kk, A).todense(),
                           (f64(q) @ np.swapaxes(f64(kk), -1, -2)) * mask)
      s = A.with_values(vals)
      if "csr_softmax" in ops:
        logits = np.where(mask, wd, -np.inf)
        e = np.where(mask, np.exp(logits - logits.max(-1, keepdims=True, initial=-1e30)), 0)
        checks["csr_softmax"] = (jsdl.csr_softmax(s).todense(),
                                 e / np.maximum(e.sum(-1, keepdims=True), 1e-300))
      if "grads" in ops:  # the transposed-pattern SpMM and the softmax backward kernel
        g = jax.grad(lambda v, x: jnp.sum(jsdl.spmm(A.with_values(v), x).astype(jnp.float32)),
                     (0, 1))(vals, x)
        checks["spmm grad x"] = (g[1], np.broadcast_to(
            np.swapaxes(wd, -1, -2).sum(0) @ np.ones((m, n)), x.shape))
        gs = jax.grad(lambda v: jnp.sum(jsdl.csr_softmax(s.with_values(v)).values.astype(
            jnp.float32) ** 2))(vals)
        checks["softmax grad finite"] = (jnp.where(jnp.isfinite(gs), 0, 1).sum(), np.zeros(()))
      for name, (got, ref) in checks.items():
        got = f64(got)
        err = np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)
        ok = got.shape == ref.shape and (err <= tol or np.linalg.norm(ref) == 0 and not got.any())
        if not ok:
          failures += 1
          print(f"FAIL {name} {jnp.dtype(dt).name} m={m} k={k} n={n}: err {err:.2e}")
  print(f"memcheck cases {[jnp.dtype(d).name for d, _ in dtypes]} {ops}: {failures} failures")
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
