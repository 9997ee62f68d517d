"""Times SpMM and SDDMM kernel variants on the Transformer benchmark's attention (8 heads on one
causal-decay pattern, head dim 64), for two row orders: rows bucketed by length with neighbours
kept together (the package's order) and rows sorted by length alone (the order before session 5).
SpMM runs on the pattern (P @ V, dq) and on its transpose (dk, dv). Checks each output against a
float64 reference on sampled rows. One CSV row per (op, pattern, order, variant).

Usage: tune_attention.py OUT.csv [--length 12288] [--orders bucketed,exact]"""
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jax_sparse_dl as jsdl  # noqa: E402
from jax_sparse_dl.csr import Sparsity, _rows_by_length  # noqa: E402
from jax_sparse_dl.nn.patterns import causal_decay_pattern  # noqa: E402
from tune_spmm import positional, timed, write_csv  # noqa: E402

SPMM_VARIANTS = ["auto", "gather:16:16", "gather:16:4", "gather:32:4", "gather:32:16",
                 "gather:64:1", "gather:64:4", "gather:64:16", "gather:64:4:4", "gather:64:16:4",
                 "gather:64:4:8", "gather:32:4:4", "gather:64:4:8:16", "gather:64:2:8:32"]
SDDMM_VARIANTS = ["auto", "row:8:2", "row:16:1", "row:4:4"]
HEADS, HEAD_DIM = 8, 64


def with_exact_order(s: Sparsity) -> Sparsity:
  """The same pattern with rows (and the transpose's rows) sorted by length alone."""
  arrays = list(s.arrays)
  arrays[2] = _rows_by_length(jnp.diff(s.row_offsets), exact=True)
  arrays[5] = _rows_by_length(jnp.diff(arrays[3]), exact=True)
  return Sparsity(*arrays, shape=s.shape)


def sampled_rows(s: Sparsity, count=256, seed=0):
  m = s.shape[0]
  return np.random.default_rng(seed).choice(m, size=min(m, count), replace=False)


def spmm_reference(s: Sparsity, values, dense, rows):
  """float64 (heads, len(rows), n) of the rows `rows` of A @ dense."""
  offsets, cols = np.asarray(s.row_offsets), np.asarray(s.column_indices)
  values, dense = np.asarray(values, np.float64), np.asarray(dense, np.float64)
  return np.stack([np.einsum("he,hen->hn", values[:, offsets[r]:offsets[r + 1]],
                             dense[:, cols[offsets[r]:offsets[r + 1]]]) for r in rows], axis=1)


def main(argv):
  if positional(argv, 1, __doc__) is None:
    return 2
  out_csv = argv[0]
  length = int(argv[argv.index("--length") + 1]) if "--length" in argv else 12288
  orders = (argv[argv.index("--orders") + 1].split(",") if "--orders" in argv
            else ["bucketed", "exact"])
  pattern = causal_decay_pattern(length, 0.95, 128).sparsity
  keys = jax.random.split(jax.random.key(0), 4)
  values = jax.random.uniform(keys[0], (HEADS, pattern.nnz), jnp.float32)
  dense = jax.random.normal(keys[1], (HEADS, length, HEAD_DIM), jnp.float32)
  q = jax.random.normal(keys[2], (HEADS, length, HEAD_DIM), jnp.float32)
  rows, t0 = [], time.time()
  for order in orders:
    s = pattern if order == "bucketed" else with_exact_order(pattern)
    for which, sp in (("pattern", s), ("transposed", s.T)):
      vals = values if which == "pattern" else values[:, s.to_t]
      check_rows = sampled_rows(sp)
      ref = spmm_reference(sp, vals, dense, check_rows)
      for variant in SPMM_VARIANTS:
        os.environ["JSDL_SPMM_VARIANT"] = variant
        us, out, _ = timed(lambda v, x: jsdl.spmm(jsdl.CSR(v, sp), x), vals, dense)
        err = np.linalg.norm(np.asarray(out, np.float64)[:, check_rows] - ref) / np.linalg.norm(ref)
        rows.append(dict(op="spmm", pattern=which, order=order, variant=variant, us=round(us, 2),
                         rel_err=f"{err:.1e}"))
        print(rows[-1], flush=True)
      os.environ.pop("JSDL_SPMM_VARIANT")
    zeros = jsdl.CSR(jnp.zeros((pattern.nnz,), jnp.float32), s)
    check_rows = sampled_rows(s)
    offsets, cols = np.asarray(s.row_offsets), np.asarray(s.column_indices)
    q64, k64 = np.asarray(q, np.float64), np.asarray(dense, np.float64)
    ref = np.concatenate([np.einsum("hd,hed->he", q64[:, r], k64[:, cols[offsets[r]:offsets[r + 1]]])
                          for r in check_rows], axis=1)
    entries = np.concatenate([np.arange(offsets[r], offsets[r + 1]) for r in check_rows])
    for variant in SDDMM_VARIANTS:
      os.environ["JSDL_SDDMM_VARIANT"] = variant
      us, out, _ = timed(lambda a, b: jsdl.sddmm(a, b, zeros).values, q, dense)
      err = np.linalg.norm(np.asarray(out, np.float64)[:, entries] - ref) / np.linalg.norm(ref)
      rows.append(dict(op="sddmm", pattern="pattern", order=order, variant=variant,
                       us=round(us, 2), rel_err=f"{err:.1e}"))
      print(rows[-1], flush=True)
    os.environ.pop("JSDL_SDDMM_VARIANT")
    write_csv(out_csv, rows)
  print(f"[{time.time() - t0:.0f}s]")
  for op, which in (("spmm", "pattern"), ("spmm", "transposed"), ("sddmm", "pattern")):
    for order in orders:
      sel = [r for r in rows if (r["op"], r["pattern"], r["order"]) == (op, which, order)]
      best = min(sel, key=lambda r: r["us"])
      auto = next(r for r in sel if r["variant"] == "auto")
      print(f"{op:5s} {which:10s} {order:8s} auto {auto['us']:9.1f} us  best {best['variant']:>15s}"
            f" {best['us']:9.1f} us")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
