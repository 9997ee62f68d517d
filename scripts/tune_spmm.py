"""Times every SpMM / SDDMM kernel variant on DLMC matrices, beside dense XLA and (when built)
cuSPARSE, to set the heuristics in cuda/spmm/spmm_heuristic.h. One row per (matrix, N, dtype,
contender) in a CSV; prints a table of the best variant per problem.

Usage: tune_spmm.py DLMC_DIR OUT.csv [--per-level K] [--each-shape] (K of every ResNet-50 shape
                    too, not 2K of all) [--suite transformer|rn50] [--levels 0.7,0.9]
                    [--min-k K] [--max-k K] [--n 256,2048] (default: transformer 256,2048,
                    ResNet-50 256,4096) [--variants auto,gather:128:1,...] (the same list for
                    every problem) [--clock wall|device] (jax_sparse_dl.timing; default wall)
                    [--dtypes float32,bfloat16] (the default) [--time-budget SECONDS]"""
import csv
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc
from jax_sparse_dl.timing import time_per_call

# gather:<tile>:<rows per warp>[:<lanes>[:<warps per block>]], panel:<tile>:<rows per warp>,
# stream[:<rows per block>[:<pass rows>]] and wide-stream[:<rows per block>]. Narrow outputs
# (n <= 512) and wide ones get their own lists; session 7 adds tall blocks (16 or 32 warps on one
# column tile, for L1 re-use of its dense strip) and several vectors a lane on wide tiles (16 x 2,
# 32 x 2, 8 x 4: fewer shuffles per multiply-add); session 11 the stream kernel (one wave of row
# blocks, or 64 / 128 rows a block), session 12 its wide form (256-byte panel rows) and passes of
# 1024 panel rows.
STREAM = ["stream", "stream:64", "stream:128", "stream:32:1024", "wide-stream", "wide-stream:64"]
NARROW = ["auto", "gather", "gather:32:8", "gather:64:4:8", "gather:64:2:4", "gather:32:4:0:32",
          "gather:64:2:0:32", "gather:64:2:8:32", "panel:16:2", "panel:16:8", "panel:32:2", *STREAM]
WIDE = ["auto", "gather:128:1", "gather:128:1:16", "gather:256:1:32", "gather:128:1:8",
        "gather:128:1:0:16", "gather:128:1:0:32", "gather:64:2:0:32", "gather:64:1:8:32",
        "gather:32:8", "gather:64:4:8", *STREAM]
BF16_NARROW = ["auto", "gather", "panel:32:4", "panel:64:4", "gather:128:4:8", "gather:64:2:0:32",
               *STREAM]
BF16_WIDE = ["auto", "gather", "gather:256:1:16", "gather:512:1:32", "gather:256:1:0:32",
             "gather:128:2:0:32", "panel:64:4", *STREAM]


def variants(n, dtype, override):
  if override:
    return override
  if dtype == jnp.float32:
    return WIDE if n > 512 else NARROW
  return BF16_WIDE if n > 512 else BF16_NARROW


def pick(paths, per_level, each_shape=False):
  """(path, (m, k)) pairs: per_level matrices of each shape at each level of the transformer
  (and of ResNet-50 with each_shape), else 2 * per_level of all ResNet-50 shapes a level."""
  by_key = {}
  for p in paths:
    parts = p.parts
    shape = dlmc.read_smtx_header(p)[:2]
    keyed_shape = shape if each_shape or parts[-4] == "transformer" else ()
    by_key.setdefault((parts[-4], parts[-2], keyed_shape), []).append((p, shape))
  chosen = []
  for key in sorted(by_key):
    chosen += by_key[key][:per_level if key[2] else 2 * per_level]
  return chosen


def positional(argv, count, usage):
  """argv's first `count` arguments when all are given (none an option), else None after
  printing `usage` to stderr."""
  if len(argv) < count or any(a.startswith("-") for a in argv[:count]):
    print(usage, file=sys.stderr)
    return None
  return argv[:count]


def option(argv, flag):
  """The value after `flag` in argv, or None."""
  return argv[argv.index(flag) + 1] if flag in argv else None


def chosen_matrices(root, argv):
  """`pick`'s DLMC matrices under root (--per-level K, --each-shape) with k in
  [--min-k, --max-k], narrowed by --suite and --levels."""
  suite, levels = option(argv, "--suite"), option(argv, "--levels")
  min_k, max_k = int(option(argv, "--min-k") or 0), int(option(argv, "--max-k") or 1 << 62)
  paths = [p for p in dlmc.find_matrices([root]) if (suite is None or p.parts[-4] == suite)
           and (levels is None or p.parts[-2] in levels.split(","))]
  picked = pick(paths, int(option(argv, "--per-level") or 1), "--each-shape" in argv)
  return [p for p, (_, k) in picked if min_k <= k <= max_k]


def cusparse_available() -> bool:
  try:
    from jax_sparse_dl import cusparse
  except ImportError:
    return False
  return cusparse.available()


def write_csv(path, rows):
  with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)


CLOCK = option(sys.argv, "--clock") or "wall"  # tune_sddmm imports timed and shares the flag


def timed(fn, *args):
  r = time_per_call(fn, *args, repeats=7, warmup=2, min_time_s=0.005, keep_output=True,
                    clock=CLOCK)
  return r.median_s * 1e6, r.output[0], r.wall_median_s * 1e6


def main(argv):
  if positional(argv, 2, __doc__) is None:
    return 2
  root, out_csv = argv[:2]
  paths = chosen_matrices(root, argv)
  override = option(argv, "--variants").split(",") if "--variants" in argv else None
  has_cusparse = cusparse_available()
  n_values = [int(n) for n in option(argv, "--n").split(",")] if "--n" in argv else None
  budget = float(option(argv, "--time-budget") or "inf")
  dtypes = [jnp.dtype(d) for d in (option(argv, "--dtypes") or "float32,bfloat16").split(",")]
  rows, t0 = [], time.time()
  key = jax.random.PRNGKey(0)
  for path in paths:
    if time.time() - t0 > budget:
      print(f"time budget of {budget:.0f}s spent: stopping before {path}", flush=True)
      break
    pat = dlmc.read_smtx(path)
    m, k = pat.shape
    suite, level = path.parts[-4], path.parts[-2]
    ns = n_values or ((256, 2048) if suite == "transformer" else (256, 4096))
    for n in ns:
      key, k1, k2 = jax.random.split(key, 3)
      A32 = dlmc.load_csr(pat, k1, jnp.float32)
      x32 = jax.random.normal(k2, (k, n), jnp.float32)
      ref = np.asarray(A32.todense(), np.float64) @ np.asarray(x32, np.float64)
      flops = 2 * pat.nnz * n
      def record(contender, dtype, us, out, wall):
        err = float(np.linalg.norm(np.asarray(out, np.float64) - ref) / np.linalg.norm(ref))
        rows.append(dict(suite=suite, level=level, matrix=path.name, m=m, k=k, n=n, nnz=pat.nnz,
                         dtype=dtype, contender=contender, us=round(us, 3),
                         wall_us=round(wall, 3), tflops=round(flops / us / 1e6, 3),
                         rel_err=f"{err:.2e}"))
      for dtype in dtypes:
        A, x = A32.with_values(A32.values.astype(dtype)), x32.astype(dtype)
        for variant in variants(n, dtype, override):
          os.environ["JSDL_SPMM_VARIANT"] = variant
          us, out, wall = timed(lambda A, x: jsdl.spmm(A, x, precision="highest"), A, x)
          record(f"jsdl:{variant}", jnp.dtype(dtype).name, us, out, wall)
        os.environ.pop("JSDL_SPMM_VARIANT")
        W = A.todense()
        for prec in (("highest", "default") if dtype == jnp.float32 else ("default",)):
          us, out, wall = timed(lambda W, x: jnp.dot(W, x, precision=prec), W, x)
          record(f"dense:{prec}", jnp.dtype(dtype).name, us, out, wall)
      if has_cusparse:
        from jax_sparse_dl import cusparse
        for alg in cusparse.ALGORITHMS:
          try:
            us, out, wall = timed(lambda A, x: cusparse.spmm(A, x, alg=alg), A32, x32)
          except Exception as e:  # report and go on: the jsdl rows matter most here
            print(f"cusparse {alg} failed: {e}", flush=True)
            continue
          record(f"cusparse:{alg}", "float32", us, out, wall)
    print(f"[{time.time() - t0:6.0f}s] {suite} {level} {m}x{k} nnz={pat.nnz}", flush=True)
    write_csv(out_csv, rows)  # after every problem: a cut run keeps what it measured
  # Best jsdl variant per problem, against the best cuSPARSE and dense.
  probs, nan = {}, float("nan")
  for r in rows:
    key = (r["suite"], r["level"], r["m"], r["k"], r["n"], r["dtype"])
    probs.setdefault(key, {})[r["contender"]] = r["us"]
  print(f"{'problem':40s} {'auto':>8s} {'best':>18s} {'cusp':>8s} {'dHI':>8s} {'dDEF':>8s}")
  for p, t in probs.items():
    jv = {c: u for c, u in t.items() if c.startswith("jsdl:")}
    if not jv:  # cuSPARSE's float32 rows of a run with --dtypes bfloat16
      continue
    best = min(jv, key=jv.get)
    # cuSPARSE times float32 only: its rows stand beside every dtype's.
    cusp = min([u for c, u in probs.get(p[:-1] + ("float32",), {}).items()
                if c.startswith("cusparse")] or [nan])
    print(f"{str(p):40s} {t.get('jsdl:auto', nan):8.2f} {best[5:]:>11s}{jv[best]:7.2f} "
          f"{cusp:8.2f} {t.get('dense:highest', nan):8.2f} {t.get('dense:default', nan):8.2f}")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
