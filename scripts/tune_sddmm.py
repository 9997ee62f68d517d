"""Times every SDDMM kernel variant (JSDL_SDDMM_VARIANT) on DLMC matrices at d = 64, 256, 2048
and on attention-like patterns (8 heads sharing a random 95%-sparse pattern), beside cuSPARSE
SDDMM when built, to set the choice in cuda/sddmm/sddmm_config.h. One CSV row per (problem,
contender); prints the best variant per problem.

Variants run at precision HIGHEST (float32's precision) except those named "@default" and the
tensor-core ones (mma:*), which run at DEFAULT (TF32) unless named "@highest" (3xTF32). A
"/walk" variant (e.g. tile:64/walk) runs on the pattern without its tile index: the tile
kernels walk the rows.

Usage: tune_sddmm.py DLMC_DIR OUT.csv [--per-level K] [--attention-only | --no-attention]
  [--suite S] [--levels 0.5,0.9] [--d 64,256] [--variants auto,mma:64,...]
  [--time-budget SECONDS] [--clock wall|device]"""
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jax_sparse_dl as jsdl  # noqa: E402
from jax_sparse_dl import dlmc  # noqa: E402
from tune_spmm import (chosen_matrices, cusparse_available, option, positional, timed,  # noqa: E402
                       write_csv)

VARIANTS = ["auto", "row", "row:8:2", "row:4:4", "flat:1", "flat:4", "flat:8", "flat:16", "tile:32",
            "tile:64", "tile:64:2", "tile:128", "auto@default", "mma:64", "mma:64:2", "mma:128"]


def parse_variant(variant):
  """(JSDL_SDDMM_VARIANT value or None for the heuristic, precision, tile index kept) of a
  variant name."""
  name = variant.split("@")[0]
  walk = name.endswith("/walk")
  name = name.removesuffix("/walk")
  tf32 = variant.endswith("@default") or (name.startswith("mma") and
                                          not variant.endswith("@highest"))
  return (None if name == "auto" else name), ("default" if tf32 else "highest"), not walk


def problems(root, argv, key):
  ds = [int(d) for d in (option(argv, "--d") or "64,256,2048").split(",")]
  for path in [] if "--attention-only" in argv else chosen_matrices(root, argv):
    pat = dlmc.read_smtx(path)
    A = dlmc.load_csr(pat, key, jnp.float32)
    for d in ds:
      yield f"{path.parts[-4]}/{path.parts[-2]}/{path.name}", A, d, ()
  if "--no-attention" in argv:
    return
  for length in (4096, 8192):
    A = jsdl.random_csr(key, (length, length), 0.95)
    yield f"attention/0.95/random_{length}", A, 64, (8,)
  from jax_sparse_dl.nn.patterns import causal_decay_pattern  # the Transformer's pattern
  A = causal_decay_pattern(12288, 0.95, 128)
  yield "attention/0.95/causal_decay_12288", A, 64, (8,)


def main(argv):
  if positional(argv, 2, __doc__) is None:
    return 2
  root, out_csv = argv[:2]
  variants = option(argv, "--variants").split(",") if "--variants" in argv else VARIANTS
  budget = float(option(argv, "--time-budget") or "inf")
  has_cusparse = cusparse_available()
  rows, t0 = [], time.time()
  key = jax.random.PRNGKey(0)
  for name, A, d, batch in problems(root, argv, key):
    if time.time() - t0 > budget:
      print(f"time budget of {budget:.0f}s spent: stopping before {name} d={d}", flush=True)
      break
    m, k = A.shape
    key, k1, k2 = jax.random.split(key, 3)
    q = jax.random.normal(k1, (*batch, m, d), jnp.float32)
    kk = jax.random.normal(k2, (*batch, k, d), jnp.float32)
    # The float64 reference at up to 100k sampled entries (the largest problems have 54M).
    rr, cc = np.repeat(np.arange(m), np.diff(np.asarray(A.row_offsets))), np.asarray(A.column_indices)
    sample = np.random.default_rng(0).choice(A.nnz, size=min(A.nnz, 100_000), replace=False)
    ref = np.einsum("...ed,...ed->...e", np.asarray(q, np.float64)[..., rr[sample], :],
                    np.asarray(kk, np.float64)[..., cc[sample], :])
    flops = 2 * A.nnz * d * int(np.prod(batch))

    def record(contender, us, out, wall):
      out = np.asarray(out, np.float64)[..., sample]
      err = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
      rows.append(dict(problem=name, m=m, k=k, d=d, batch=int(np.prod(batch)), nnz=A.nnz,
                       contender=contender, us=round(us, 3), wall_us=round(wall, 3),
                       tflops=round(flops / us / 1e6, 3), rel_err=f"{err:.2e}"))
    for variant in variants:
      forced, precision, indexed = parse_variant(variant)
      os.environ.pop("JSDL_SDDMM_VARIANT", None)
      if forced:
        os.environ["JSDL_SDDMM_VARIANT"] = forced
      pattern = A if indexed else jsdl.CSR(A.values, A.sparsity.without_tile_index())
      us, out, wall = timed(
          lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values, q, kk, pattern)
      record(f"jsdl:{variant}", us, out, wall)
    os.environ.pop("JSDL_SDDMM_VARIANT", None)
    if has_cusparse and not batch:
      from jax_sparse_dl import cusparse
      us, out, wall = timed(lambda q, kk, A: cusparse.sddmm(q, kk, A), q, kk, A)
      record("cusparse", us, out, wall)
    print(f"[{time.time() - t0:6.0f}s] {name} d={d}", flush=True)
    write_csv(out_csv, rows)
  probs = {}
  for r in rows:
    probs.setdefault((r["problem"], r["d"]), {})[r["contender"]] = r["us"]
  print(f"{'problem':60s} {'d':>5s} " + " ".join(f"{c:>9s}" for c in variants) + "  cusparse")
  for (name, d), t in probs.items():
    print(f"{name[-60:]:60s} {d:5d} " + " ".join(f"{t[f'jsdl:{v}']:9.2f}" for v in variants)
          + f"  {t.get('cusparse', float('nan')):8.2f}")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
