"""``python -m jax_sparse_dl.bench [PATH ...] [options]``: the benchmark's command line."""

from __future__ import annotations

import argparse
import sys

from . import problems as P
from .run import Config, run

# What --quick sets, unless given explicitly: a smoke run of a few seconds to a minute.
QUICK = dict(limit_per_level=1, max_matrices=3, n_values=(64,), d_values=(32,), softmax_seq=512,
             softmax_heads=2, copy_mib=16.0, min_time=0.002, repeats=3, warmup=1)
_OPS = ("spmm", "sddmm", "softmax")
_DTYPES = ("float32", "bfloat16")


def _ints(text):
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _choices(allowed):
    def parse(text):
        values = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)}, got {text!r}")
        return values
    return parse


def _patterns(text):
    return tuple(t.strip() for t in text.split(",") if t.strip())


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m jax_sparse_dl.bench",
        description="Benchmark jax-sparse-dl's SpMM, SDDMM and csr_softmax against cuSPARSE, XLA "
        "dense and jax.experimental.sparse on DLMC matrices; writes results.json, results.csv and "
        "summary.md (and plots) to --out.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help=".smtx / .smtx.gz files or folders (recursive; DLMC layout "
                   "<suite>/<method>/<level>/<name>.smtx.gz); default: the bundled sample")
    g = p.add_argument_group("problems")
    g.add_argument("--ops", type=_choices(_OPS), default=_OPS, help="default spmm,sddmm,softmax")
    g.add_argument("--dtypes", type=_choices(_DTYPES), default=_DTYPES,
                   help="contender dtypes (default float32,bfloat16)")
    g.add_argument("--n", dest="n_values", type=_ints, default=None, metavar="N[,N...]",
                   help="SpMM N for every matrix (default: transformer 256,2048; rn50 its batch "
                   "size x --rn50-batches; other 256)")
    g.add_argument("--rn50-batches", type=_ints, default=P.RN50_BATCHES, metavar="B[,B...]",
                   help="ResNet-50 batch multipliers of the per-image N (default 1,256)")
    g.add_argument("--rn50-batchsizes", dest="batchsizes", default=None, metavar="FILE",
                   help="'name,N' file (default: rn50_batchsizes.txt next to / above the paths, "
                   "else the package's copy)")
    g.add_argument("--d", dest="d_values", type=_ints, default=None, metavar="D[,D...]",
                   help="SDDMM inner dimensions (default 64,256,2048)")
    g.add_argument("--limit-per-level", type=int, default=None, metavar="K",
                   help="at most K matrices per suite/level, spread over its shapes and files")
    g.add_argument("--max-matrices", type=int, default=None, metavar="K",
                   help="at most K matrices in all (after the per-level sampling)")
    g.add_argument("--softmax-seq", type=int, default=None, help="softmax sequence length (8192)")
    g.add_argument("--softmax-heads", type=int, default=None, help="softmax heads (8)")
    g.add_argument("--softmax-sparsity", type=float, default=0.95, help="softmax sparsity (0.95)")
    g.add_argument("--copy-mib", type=float, default=None,
                   help="array size of the copy-bandwidth measurement, MiB (1024)")
    g = p.add_argument_group("contenders")
    g.add_argument("--contenders", type=_patterns, default=None, metavar="PATTERNS",
                   help="only contenders matching these comma-separated globs "
                   "(e.g. 'jsdl*,dense*')")
    g.add_argument("--skip-contenders", type=_patterns, default=(), metavar="PATTERNS",
                   help="leave out contenders matching these globs (e.g. 'bcsr*')")
    g.add_argument("--gather-max-gib", type=float, default=4.0,
                   help="skip BCSR (default lowering) / bcoo_sampled past this intermediate size")
    g.add_argument("--dense-max-gib", type=float, default=16.0,
                   help="skip dense contenders past this operand size")
    g = p.add_argument_group("timing and checks")
    g.add_argument("--min-time", type=float, default=None, metavar="SECONDS",
                   help="minimum time of one timed loop execution (0.01)")
    g.add_argument("--repeats", type=int, default=None, help="timed executions, median (5)")
    g.add_argument("--warmup", type=int, default=None, help="untimed executions (2)")
    g.add_argument("--max-calls", type=int, default=10_000, help="calls per loop at most")
    g.add_argument("--clock", choices=("auto", "device", "wall"), default="auto",
                   help="device: GPU busy time of the timed loops (profiler, kernel time); wall: "
                   "host clock around them (includes XLA's launch work per call, about 10 us "
                   "on an H200); auto (default): device on a GPU, else wall")
    g.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                   help="start no new problem after this many seconds")
    g.add_argument("--check-cols", type=int, default=2048,
                   help="SpMM outputs wider than this are checked on this many sampled columns")
    g.add_argument("--seed", type=int, default=0)
    g = p.add_argument_group("output")
    g.add_argument("--out", default="bench-results", metavar="DIR",
                   help="output folder (default ./bench-results)")
    g.add_argument("--peak-tflops", type=float, default=None,
                   help="fp32 peak of the device, TFLOP/s (default: by GPU name, e.g. 66.9 for "
                   "H100 SXM / H200)")
    g.add_argument("--no-plots", action="store_true", help="no PNG plots")
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke run: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()))
    p.add_argument("--plan", action="store_true",
                   help="print the problems and counts (timings, compiled loops) and exit")
    args = p.parse_args(argv)
    if args.limit_per_level is not None and args.limit_per_level < 1:
        p.error("--limit-per-level must be >= 1")
    for name in ("repeats", "softmax_seq", "softmax_heads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.min_time is not None and args.min_time <= 0:
        p.error("--min-time must be > 0")
    if not 0.0 <= args.softmax_sparsity < 1.0:
        p.error("--softmax-sparsity must lie in [0, 1)")
    return args


def config_from_args(args) -> Config:
    cfg = Config(paths=list(args.paths), ops=args.ops, dtypes=args.dtypes,
                 rn50_batches=args.rn50_batches, batchsizes=args.batchsizes,
                 contenders=args.contenders, skip_contenders=args.skip_contenders, out=args.out,
                 max_calls=args.max_calls, clock=args.clock, time_budget=args.time_budget,
                 seed=args.seed,
                 peak_tflops=args.peak_tflops, softmax_sparsity=args.softmax_sparsity,
                 gather_max_gib=args.gather_max_gib, dense_max_gib=args.dense_max_gib,
                 check_cols=args.check_cols, plots=not args.no_plots, quick=args.quick)
    for name in ("n_values", "d_values", "limit_per_level", "max_matrices", "softmax_seq",
                 "softmax_heads", "copy_mib", "min_time", "repeats", "warmup"):
        value = getattr(args, name)
        if value is None and args.quick and name in QUICK:
            value = QUICK[name]
        if value is not None:
            setattr(cfg, name, value)
    return cfg


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    return run(config_from_args(args), argv=argv, plan_only=args.plan)


if __name__ == "__main__":
    sys.exit(main())
