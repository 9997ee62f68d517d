"""Edge cases of every op and dtype, checked against float64 numpy; meant to run under
compute-sanitizer (scripts/gpu_run.sh), so every kernel sees odd sizes, empty rows, nnz = 0,
one row, broadcast batches and the backward kernels. Run it with JAX_PLATFORMS=cuda,cpu: the
host backend builds the patterns, so the GPU runs (almost) only this package's kernels.

Usage: memcheck_cases.py [DTYPE ...] [--ops spmm,sddmm,csr_softmax,grads]: one process per
group keeps each sanitizer run short. JSDL_SPMM_VARIANT (see cuda/spmm/spmm_heuristic.h) forces
one SpMM kernel and JSDL_SDDMM_VARIANT one SDDMM kernel, so each variant can be checked in its
own process."""
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jax_sparse_dl as jsdl


def pattern(rng, m, k, density, empty_rows=()):
  mask = rng.random((m, k)) < density
  mask[list(empty_rows)] = False
  return mask


def _scatter(values, rows, cols, shape):
  out = np.zeros((*values.shape[:-1], *shape))
  out[..., rows, cols] = values
  return out


DTYPES = {"float32": (jnp.float32, 1e-5), "bfloat16": (jnp.bfloat16, 2e-2),
          "float16": (jnp.float16, 3e-3)}
OPS = ("spmm", "sddmm", "csr_softmax", "grads")
# SDDMM runs at MEMCHECK_SDDMM_PRECISION (default: DEFAULT, where a forced tensor-core variant
# takes TF32 for float32; "highest": 3xTF32, held to float32's tolerance).
TF32_TOL = 4e-3
SDDMM_PRECISION = os.environ.get("MEMCHECK_SDDMM_PRECISION", "default")
tf32_sddmm = (os.environ.get("JSDL_SDDMM_VARIANT", "").startswith("mma")
              and SDDMM_PRECISION == "default")


HOST = jax.devices("cpu")[0]
DEVICE = jax.devices()[0]


def main(argv) -> int:
  ops = OPS
  if "--ops" in argv:
    i = argv.index("--ops")
    ops, argv = tuple(argv[i + 1].split(",")), argv[:i] + argv[i + 2:]
  dtypes = [DTYPES[name] for name in (argv or DTYPES)]
  rng = np.random.default_rng(0)
  failures = 0
  cases = [(1, 1, 1, 1.0), (7, 5, 3, 0.5), (33, 65, 31, 0.3), (64, 40, 129, 0.2),
           (5, 9, 0, 0.5), (6, 4, 17, 0.0), (130, 7, 33, 0.9), (20, 800, 72, 0.1),
           (2000, 6, 5, 0.5)]
  for dt, tol in dtypes:
    for m, k, n, density in cases:
      # Patterns and references are built on the host: only the ops under test run on the GPU.
      # m = 2000 keeps every 97th row: long runs of empty rows (the SDDMM's entry rows, and the
      # row walks of the other kernels).
      empty = range(1, m, 3) if m < 1000 else [r for r in range(m) if r % 97]
      mask = pattern(rng, m, k, density, empty_rows=empty)
      rows, cols = np.nonzero(mask)
      offsets = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int32)
      vals64 = rng.standard_normal((2, 1, len(cols)))
      with jax.default_device(HOST):  # the pattern's one-time build (XLA sort, scatter) on CPU
        A = jsdl.CSR.from_parts(np.zeros(len(cols), np.float32), offsets,
                                cols.astype(np.int32), (m, k))
      A = jax.device_put(A, DEVICE).with_values(jnp.asarray(vals64, dt))
      x = jnp.asarray(rng.standard_normal((3, k, n)), dt)
      bias = jnp.asarray(rng.standard_normal((m,)), dt)
      q = jnp.asarray(rng.standard_normal((m, 13)), dt)
      kk = jnp.asarray(rng.standard_normal((3, k, 13)), dt)
      f64 = lambda a: np.asarray(a).astype(np.float64)
      to_dense = lambda v: _scatter(f64(v), rows, cols, (m, k))
      wd = to_dense(A.values)
      logits = np.where(mask, wd, -np.inf)
      e = np.where(mask, np.exp(logits - logits.max(-1, keepdims=True, initial=-1e30)), 0)
      probs = e / np.maximum(e.sum(-1, keepdims=True), 1e-300)
      print(f"{jnp.dtype(dt).name} m={m} k={k} n={n} nnz={len(cols)}", flush=True)
      checks = {}
      if "spmm" in ops:
        checks["spmm"] = (jsdl.spmm(A, x, bias=bias, relu=True),
                          np.maximum(wd @ f64(x) + f64(bias)[:, None], 0))
      if "sddmm" in ops:
        checks["sddmm"] = (to_dense(jsdl.sddmm(q, kk, A, precision=SDDMM_PRECISION).values),
                           (f64(q) @ np.swapaxes(f64(kk), -1, -2)) * mask)
      if "csr_softmax" in ops:
        checks["csr_softmax"] = (to_dense(jsdl.csr_softmax(A).values), probs)
      if "grads" in ops:  # the transposed-pattern SpMM and the softmax backward kernel
        g = jax.grad(lambda v, x: jnp.sum(jsdl.spmm(A.with_values(v), x).astype(jnp.float32)),
                     (0, 1))(A.values, x)
        checks["spmm grad x"] = (g[1], np.broadcast_to(
            np.swapaxes(wd, -1, -2).sum(0) @ np.ones((m, n)), x.shape))
        gs = jax.grad(lambda v: jnp.sum(jsdl.csr_softmax(A.with_values(v)).values.astype(
            jnp.float32) ** 2))(A.values)
        # d/dv sum(p^2) = p * (2p - rowsum(2p * p))
        ref = probs * (2 * probs - (2 * probs * probs).sum(-1, keepdims=True))
        checks["softmax grad"] = (to_dense(gs), ref)
      for name, (got, ref) in checks.items():
        got = f64(got)
        err = np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)
        limit = max(tol, TF32_TOL) if name == "sddmm" and tf32_sddmm else tol
        ok = got.shape == ref.shape and (err <= limit or np.linalg.norm(ref) == 0 and not got.any())
        if not ok:
          failures += 1
          print(f"FAIL {name} {jnp.dtype(dt).name} m={m} k={k} n={n}: err {err:.2e}")
  print(f"memcheck cases {[jnp.dtype(d).name for d, _ in dtypes]} {ops}: {failures} failures")
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
