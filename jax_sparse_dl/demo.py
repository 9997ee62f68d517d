"""jsdl-demo: check the sparse ops against dense references on DLMC matrices, then time SpMM.

For each matrix (default: the DLMC matrices bundled in ``jax_sparse_dl/data/``):

* the pattern gets N(0, 1) values, ``x`` is a random (k, n) matrix;
* ``jsdl.spmm(A, x)``, ``jsdl.sddmm(q, kmat, A)`` (q (m, d), kmat (k, d)) and
  ``jsdl.csr_softmax(A)`` are compared with float64 numpy references computed from the same
  (rounded) inputs: relative L2 error ``||out - ref|| / ||ref||``; SpMM and SDDMM run at
  precision HIGHEST here (true float32: at DEFAULT, SDDMM may take TF32 tensor cores);
* on the default JAX backend, time per call (``jax_sparse_dl.timing.time_per_call``: many calls in
  one jitted loop, no Python dispatch) of ``jsdl.spmm(A, x)``, dense ``jnp.dot(A_dense, x)`` at
  precision DEFAULT and HIGHEST, and ``jax.experimental.sparse.BCSR @ x``.

The exit status is 1 when an error exceeds the tolerance of the dtype (or an op fails), else 0.

    python -m jax_sparse_dl [--matrices PATH ...] [--n 256] [--repeats 5] [--dtype float32]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from jax_sparse_dl.bench.common import format_table
from jax_sparse_dl.bench.common import rel_err as _rel_err
from jax_sparse_dl.bench.common import short_exc as _short_exc
from jax_sparse_dl.bench.common import softmax_reference as _softmax_reference

__all__ = ["main", "TOLERANCES"]

# Relative L2 error allowed per dtype (the reference is float64 on the same rounded inputs, so
# what remains is accumulation and output rounding).
TOLERANCES = {"float32": 1e-4, "float64": 1e-10, "bfloat16": 2e-2, "float16": 4e-3}

_DTYPES = tuple(TOLERANCES)

_CONTENDERS = (
    ("jsdl", "jsdl.spmm(A, x)"),
    ("dense", "jnp.dot(A_dense, x), precision DEFAULT"),
    ("dense_hi", "jnp.dot(A_dense, x), precision HIGHEST"),
    ("bcsr", "jax.experimental.sparse.BCSR @ x"),
)


def _parse_args(argv):
    p = argparse.ArgumentParser(
        prog="jsdl-demo",
        description="Check jax-sparse-dl ops against dense references on DLMC matrices and time "
        "SpMM against dense matmul and jax.experimental.sparse.BCSR.",
    )
    p.add_argument(
        "--matrices",
        nargs="+",
        metavar="PATH",
        default=None,
        help=".smtx / .smtx.gz files or folders (searched recursively); default: the bundled ones",
    )
    p.add_argument("--n", type=int, default=256, help="columns of the dense operand x (default 256)")
    p.add_argument("--d", type=int, default=64, help="inner dimension of the SDDMM check (default 64)")
    p.add_argument("--repeats", type=int, default=5, help="timed executions per contender (default 5)")
    p.add_argument(
        "--min-time",
        type=float,
        default=0.02,
        metavar="SECONDS",
        help="minimum time of one timed execution; sets the calls per execution (default 0.02)",
    )
    p.add_argument("--dtype", choices=_DTYPES, default="float32", help="dtype of values and x")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--tol", type=float, default=None, help="override the error tolerance of the dtype")
    p.add_argument("--no-timing", action="store_true", help="only check errors, do not time")
    args = p.parse_args(argv)
    if args.n < 1 or args.d < 1:
        p.error("--n and --d must be >= 1")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.min_time <= 0:
        p.error("--min-time must be > 0")
    return args


def _display_names(paths, patterns):
    names = [p.name for p in patterns]
    if len(set(names)) == len(names):
        return names
    # Same file name in several folders (e.g. DLMC sparsity levels): show the distinguishing path.
    common = Path(os.path.commonpath([str(Path(p).resolve().parent) for p in paths]))
    out = []
    for path, pattern in zip(paths, patterns):
        rel = Path(path).resolve().parent.relative_to(common)
        out.append(str(rel / pattern.name) if str(rel) != "." else pattern.name)
    return out


def _fmt_err(err, tol):
    if err is None:
        return "-"
    if isinstance(err, str):
        return err
    return f"{err:.1e}" + ("!" if not err <= tol else "")


def _fmt_us(t):
    if t is None:
        return "n/a"
    us = t * 1e6
    return f"{us:.1f}" if us < 1000 else f"{us:.0f}"


def _fmt_speedup(other, mine):
    if other is None or mine is None or mine <= 0:
        return "n/a"
    return f"{other / mine:.2f}x"


def _print_table(header, rows, out):
    for line in format_table(header, rows):
        print(line, file=out)


def main(argv=None) -> int:
    args = _parse_args(argv)
    out = sys.stdout
    t_start = time.perf_counter()

    import jax

    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import jax_sparse_dl as jsdl
    from jax_sparse_dl import dlmc
    from jax_sparse_dl.timing import time_per_call

    dtype = jnp.dtype(args.dtype)
    tol = args.tol if args.tol is not None else TOLERANCES[args.dtype]

    try:
        paths = dlmc.find_matrices(args.matrices) if args.matrices else dlmc.bundled_matrices()
    except (FileNotFoundError, TypeError) as e:
        print(f"jsdl-demo: {e}", file=sys.stderr)
        return 2
    if not paths:
        print("jsdl-demo: no .smtx / .smtx.gz matrices found", file=sys.stderr)
        return 2
    try:
        patterns = [dlmc.read_smtx(p) for p in paths]
    except ValueError as e:
        print(f"jsdl-demo: {e}", file=sys.stderr)
        return 2
    names = _display_names(paths, patterns)

    device = jax.devices()[0]
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, device {device.device_kind} "
          f"({device.platform}, {jax.device_count()} device(s))", file=out)
    from jax_sparse_dl import lowering
    kernels = {"gpu": ("CUDA", jsdl.has_cuda_kernels()),
               "cpu": ("CPU", lowering.cpu_kernels)}.get(device.platform)
    ops = (f"{kernels[0]} kernels" if kernels and kernels[1] else "the pure-JAX lowering")
    if device.platform == "cpu" and lowering.cpu_kernels:
      ops += f" with {lowering._jsdl_cpu.used_vector_loops()} float32 loops"
    print(f"jax-sparse-dl {getattr(jsdl, '__version__', '?')}: the ops run {ops} "
          f"(CUDA kernels loaded: {jsdl.has_cuda_kernels()}, CPU kernels loaded: "
          f"{jsdl.has_cpu_kernels()})", file=out)
    print(f"dtype {args.dtype}, n = {args.n}, sddmm d = {args.d}, tolerance (relative L2) {tol:g}, "
          f"{len(paths)} matrices", file=out)
    if not args.no_timing:
        print("time: microseconds per call, median of "
              f"{args.repeats} executions of a jitted loop of >= {args.min_time * 1e3:g} ms "
              "(jax_sparse_dl.timing); 'x c' = time(c) / time(jsdl): > 1 when jsdl is faster", file=out)
        for name, what in _CONTENDERS:
            print(f"  {name:9s} {what}", file=out)
    print(file=out, flush=True)

    key = jax.random.key(args.seed)
    rows = []
    problems = []
    speedups = {c: [] for c, _ in _CONTENDERS[1:]}
    failed = False

    for idx, (path, pattern, name) in enumerate(zip(paths, patterns, names)):
        m, k = pattern.shape
        n, d = args.n, args.d
        k_a, k_x, k_q, k_k = jax.random.split(jax.random.fold_in(key, idx), 4)
        errs = {"spmm": None, "sddmm": None, "softmax": None}
        times = {c: None for c, _ in _CONTENDERS}
        try:
            A = dlmc.load_csr(pattern, k_a, dtype=dtype)
            x = jax.random.normal(k_x, (k, n), dtype=dtype)
            q = jax.random.normal(k_q, (m, d), dtype=dtype)
            kmat = jax.random.normal(k_k, (k, d), dtype=dtype)
        except Exception as e:  # noqa: BLE001 - report and go on with the next matrix
            failed = True
            problems.append(f"{name}: loading failed: {_short_exc(e)}")
            rows.append([name, f"{m}x{k}", f"{pattern.sparsity:.3f}"] + ["ERR"] * 3
                        + ([] if args.no_timing else ["n/a"] * (2 * len(_CONTENDERS) - 1)))
            continue

        row_ids = pattern.row_ids()
        cols = pattern.column_indices
        vals64 = np.asarray(A.values).astype(np.float64)
        x64 = np.asarray(x).astype(np.float64)
        a_dense64 = np.zeros((m, k), np.float64)
        a_dense64[row_ids, cols] = vals64

        checks = {
            "spmm": (lambda: jsdl.spmm(A, x, precision="highest"), lambda: a_dense64 @ x64),
            "sddmm": (
                lambda: jsdl.sddmm(q, kmat, A, precision="highest").values,
                lambda: np.einsum(
                    "ed,ed->e",
                    np.asarray(q).astype(np.float64)[row_ids],
                    np.asarray(kmat).astype(np.float64)[cols],
                ),
            ),
            "softmax": (
                lambda: jsdl.csr_softmax(A).values,
                lambda: _softmax_reference(vals64, row_ids, m),
            ),
        }
        for op, (run, ref) in checks.items():
            try:
                err = _rel_err(jax.block_until_ready(run()), ref())
            except Exception as e:  # noqa: BLE001
                failed = True
                errs[op] = "ERR"
                problems.append(f"{name}: {op} failed: {_short_exc(e)}")
                continue
            errs[op] = err
            if not err <= tol:
                failed = True
                problems.append(f"{name}: {op} relative error {err:.2e} exceeds {tol:g}")

        if not args.no_timing:
            a_dense = jnp.asarray(a_dense64, dtype=dtype)
            contenders = {
                "jsdl": (lambda a, b: jsdl.spmm(a, b), lambda: (A, x)),
                "dense": (
                    lambda a, b: jnp.dot(a, b, precision=jax.lax.Precision.DEFAULT),
                    lambda: (a_dense, x),
                ),
                "dense_hi": (
                    lambda a, b: jnp.dot(a, b, precision=jax.lax.Precision.HIGHEST),
                    lambda: (a_dense, x),
                ),
                "bcsr": (lambda a, b: a @ b, lambda: (A.to_bcsr(), x)),
            }
            for c, (fn, make_args) in contenders.items():
                try:
                    r = time_per_call(fn, *make_args(), repeats=args.repeats, min_time_s=args.min_time)
                    times[c] = r.median_s
                except Exception as e:  # noqa: BLE001
                    problems.append(f"{name}: timing {c} failed: {_short_exc(e)}")
                    if c == "jsdl":
                        failed = True
            for c in speedups:
                if times[c] is not None and times["jsdl"] is not None:
                    speedups[c].append(times[c] / times["jsdl"])

        row = [
            name,
            f"{m}x{k}",
            f"{pattern.sparsity:.3f}",
            _fmt_err(errs["spmm"], tol),
            _fmt_err(errs["sddmm"], tol),
            _fmt_err(errs["softmax"], tol),
        ]
        if not args.no_timing:
            row += [_fmt_us(times[c]) for c, _ in _CONTENDERS]
            row += [_fmt_speedup(times[c], times["jsdl"]) for c, _ in _CONTENDERS[1:]]
        rows.append(row)

    header = ["matrix", "shape", "sparsity", "err spmm", "err sddmm", "err softmax"]
    if not args.no_timing:
        header += [f"{c} us" for c, _ in _CONTENDERS]
        header += [f"x {c}" for c, _ in _CONTENDERS[1:]]
    _print_table(header, rows, out)

    if not args.no_timing:
        gm = []
        for c, s in speedups.items():
            if s:
                gm.append(f"x {c} {math.exp(sum(map(math.log, s)) / len(s)):.2f}")
        if gm:
            print(f"\ngeometric mean speedup of jsdl: {', '.join(gm)}", file=out)
    for p in problems:
        print(f"problem: {p}", file=out)
    status = "FAILED" if failed else "OK"
    print(f"\n{status} ({time.perf_counter() - t_start:.1f} s)", file=out, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
