"""The benchmark loop: problems x contenders, timed, checked, recorded as they come.

For every problem the selected contenders run one after the other on the same inputs:
``timing.time_per_call`` (the same method for all: many calls in one jitted loop, median of the
repeats after warm-up) with the output of the timed loop kept and compared with a float64 host
reference (relative L2 error, tolerance by precision class). A wrong result is recorded with
status "mismatch" (its time stays in the files, not in the speedups) and printed at once.

Compile time dominates small problems, so: compiled loops are cached by contender and argument
shapes (DLMC matrices of one shape and level have the same nnz, and the dense contenders depend
on the shape only), the calls per loop of a new shape are guessed from the contender's last
problem (one compile instead of two), timings are short (``--min-time``, ``--repeats``,
``--warmup``), and ``--time-budget`` stops starting new problems. Problems run matrix by matrix,
round-robin over suites and levels, so a run cut short still covers every level.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import gc
import math
import sys
import time
from pathlib import Path

from . import problems as P
from .common import TOLERANCES, rel_err, short_exc

__all__ = ["Config", "run", "plan_summary"]


@dataclasses.dataclass
class Config:
    paths: list = dataclasses.field(default_factory=list)
    ops: tuple = ("spmm", "sddmm", "softmax")
    dtypes: tuple = ("float32", "bfloat16")
    n_values: tuple | None = None
    rn50_batches: tuple = P.RN50_BATCHES
    d_values: tuple = P.SDDMM_D
    batchsizes: str | None = None
    limit_per_level: int | None = None
    max_matrices: int | None = None
    contenders: tuple | None = None  # fnmatch patterns of contender names to run
    skip_contenders: tuple = ()
    out: str = "bench-results"
    min_time: float = 0.01
    repeats: int = 5
    warmup: int = 2
    max_calls: int = 10_000
    clock: str = "auto"  # timing.CLOCKS or "auto": "device" on a GPU, else "wall"
    time_budget: float | None = None
    seed: int = 0
    peak_tflops: float | None = None
    softmax_seq: int = 8192
    softmax_heads: int = 8
    softmax_sparsity: float = 0.95
    copy_mib: float = 1024.0
    gather_max_gib: float = 4.0
    dense_max_gib: float = 16.0
    check_cols: int = 2048
    plots: bool = True
    quick: bool = False


class _Log:
    def __init__(self, t0, stream=None):
        self.t0, self.stream = t0, stream or sys.stdout

    def __call__(self, msg=""):
        print(msg, file=self.stream, flush=True)

    def progress(self, msg):
        self(f"[{time.perf_counter() - self.t0:7.1f}s] {msg}")


class CallsEstimator:
    """Guesses the calls per timing loop of a contender from its previous problems, to save the
    calls=1 compile: the time of the nearest problem in work, scaled by sqrt(work ratio) (between
    latency-bound, time constant, and throughput-bound, time linear in work: either way within
    the factor 4 that ``time_per_call`` accepts for work ratios up to 16)."""

    def __init__(self, min_time):
        self.min_time = min_time
        self.seen: dict[str, list] = {}

    def hint(self, name, work):
        seen = self.seen.get(name)
        if not seen or work <= 0:
            return None
        w, t = min(seen, key=lambda wt: abs(math.log(max(wt[0], 1e-30) / work)))
        per_call = max(t * math.sqrt(work / max(w, 1e-30)), 1e-6)
        return max(1, math.ceil(1.2 * self.min_time / per_call))

    def add(self, name, work, t):
        if work > 0 and t > 0:
            self.seen.setdefault(name, []).append((work, t))
            del self.seen[name][:-8]


def _fmt_us(us):
    if us is None:
        return "-"
    return f"{us:.1f}" if us < 1000 else f"{us:.0f}"


def _selected(name, cfg):
    if cfg.contenders and not any(fnmatch.fnmatch(name, p) for p in cfg.contenders):
        return False
    return not any(fnmatch.fnmatch(name, p) for p in cfg.skip_contenders)


def select_contenders(all_contenders, cfg, extra=()):
    """The contenders to run per op: the op and dtype are selected, the name matches."""
    out = {}
    for op in cfg.ops:
        cs = list(all_contenders.get(op, [])) + [c for c in extra if c.op == op]
        out[op] = [c for c in cs if c.dtype in cfg.dtypes and _selected(c.name, cfg)]
    return out


def _problem_id(problem):
    if problem.op == "softmax":
        return f"softmax|{problem.heads}x{problem.seq}|{problem.sparsity:g}"
    m = problem.matrix
    return f"{problem.op}|{m.suite}|{m.method}|{m.level:g}|{m.name}|{problem.size}"


def base_record(problem):
    if problem.op == "softmax":
        nnz_est = None
        return {"op": "softmax", "suite": "attention", "method": "", "level": problem.sparsity,
                "matrix": f"attention {problem.heads}x{problem.seq}", "m": problem.seq,
                "k": problem.seq, "heads": problem.heads, "seq": problem.seq, "nnz": nnz_est,
                "n_class": f"{problem.heads} heads", "problem": _problem_id(problem)}
    m = problem.matrix
    rec = {"op": problem.op, "suite": m.suite, "method": m.method, "level": m.level,
           "level_source": m.level_source, "matrix": m.name, "path": m.path, "m": m.m, "k": m.k,
           "nnz": m.nnz, "sparsity": round(m.sparsity, 6), "n_class": problem.n_class,
           "problem": _problem_id(problem)}
    rec["n" if problem.op == "spmm" else "d"] = problem.size
    return rec


def resolve_clock(clock: str, on_gpu: bool) -> str:
    """The timing clock of a run: "auto" is "device" (GPU busy time) on a GPU, else "wall"."""
    if clock == "auto":
        return "device" if on_gpu else "wall"
    return clock


class Runner:
    def __init__(self, cfg: Config, contenders, env, writer, log, peak, limits):
        from jax_sparse_dl import timing
        self.cfg, self.contenders, self.env = cfg, contenders, env
        self.writer, self.log, self.peak, self.limits = writer, log, peak, limits
        self.timing = timing
        self.cache: dict = {}
        self.estimator = CallsEstimator(cfg.min_time)
        self.copy_gbps = None
        self.bad: list[str] = []
        self.clock = resolve_clock(cfg.clock, env.on_gpu)

    # -------------------------------------------------------------------------------- one run
    def time_contender(self, c, problem, data):
        rec = dict(base_record(problem), contender=c.name, family=c.family, dtype=c.dtype,
                   precision=c.precision, tol=TOLERANCES[c.tol_class], checked=data.checked)
        if problem.op == "softmax":
            rec["nnz"] = data.pattern.nnz
        reason = c.skip or (c.limit(problem, self.limits) if c.limit else "")
        if reason:
            rec.update(status="skipped", reason=reason)
            return rec
        t_start = time.perf_counter()
        try:
            args = c.inputs(data)
            work = c.work(problem)
            with c.context():
                r = self.timing.time_per_call(
                    c.fn, *args, repeats=self.cfg.repeats, warmup=self.cfg.warmup,
                    min_time_s=self.cfg.min_time, max_calls=self.cfg.max_calls,
                    calls_hint=self.estimator.hint(c.name, work), cache=self.cache,
                    keep_output=True, clock=self.clock)
            out = r.output[0]
            del args
            rec.update(median_us=r.median_s * 1e6, min_us=r.min_s * 1e6, max_us=r.max_s * 1e6,
                       wall_us=r.wall_median_s * 1e6, clock=r.clock, calls=r.calls,
                       repeats=r.repeats, compile_s=round(r.compile_s, 4), compiles=r.compiles)
            self.estimator.add(c.name, work, r.median_s)
            if c.hlo_must_contain:
                if c.hlo_must_contain not in r.executable.as_text():
                    raise RuntimeError(f"the compiled loop has no {c.hlo_must_contain!r} call "
                                       "(the intended lowering was not used)")
            del r
            view = c.view(data, out) if c.view else data.view(out)
            del out
            err = rel_err(view, data.reference(c.dtype))
            rec["rel_err"] = err
            rec["status"] = "ok" if err <= rec["tol"] else "mismatch"
            if rec["status"] == "mismatch":
                rec["reason"] = f"rel_err {err:.2e} > tol {rec['tol']:.0e}"
        except Exception as e:  # noqa: BLE001 - recorded, the run goes on
            rec.update(status="error", reason=short_exc(e))
        rec["wall_s"] = round(time.perf_counter() - t_start, 3)  # inputs, compiles, runs, check
        self._rates(rec, problem, data)
        return rec

    def _rates(self, rec, problem, data):
        us = rec.get("median_us")
        if not us:
            return
        if problem.op == "softmax":
            gbps = data.bytes_moved(rec["family"] == "dense", rec["dtype"]) / (us * 1e-6) / 1e9
            rec["gbps"] = gbps
            if self.copy_gbps:
                rec["pct_copy_bw"] = 100.0 * gbps / self.copy_gbps
            return
        tflops = problem.flops / (us * 1e-6) / 1e12
        rec["tflops"] = tflops
        if self.peak:
            rec["pct_peak"] = 100.0 * tflops / self.peak

    def best_of(self, recs, problem):
        """cusparse_best: the fastest correct cuSPARSE algorithm of this problem."""
        cands = [r for r in recs if r["family"] == "cusparse" and r["dtype"] == "float32"
                 and r["contender"].startswith("cusparse_")]
        if not cands:
            return None
        rec = dict(base_record(problem), contender="cusparse_best", family="cusparse",
                   dtype="float32", precision="fp32", tol=cands[0]["tol"],
                   checked=cands[0].get("checked"))
        ok = [r for r in cands if r.get("status") == "ok"]
        if ok:
            best = min(ok, key=lambda r: r["median_us"])
            for key in ("median_us", "min_us", "max_us", "wall_us", "clock", "calls", "repeats",
                        "compile_s", "compiles", "rel_err", "tflops", "pct_peak"):
                if key in best:
                    rec[key] = best[key]
            rec.update(status="ok", best_alg=best["contender"][len("cusparse_"):])
        else:
            statuses = {r.get("status") for r in cands}
            reasons = {r.get("reason", r.get("status")) for r in cands}
            rec.update(status="skipped" if statuses == {"skipped"} else "error",
                       reason=reasons.pop() if len(reasons) == 1 else
                       "no cuSPARSE algorithm ran correctly: " + "; ".join(
                           f"{r['contender']}: {r.get('reason', r.get('status'))}" for r in cands))
        return rec

    def run_problem(self, problem, data, index, total):
        recs = []
        for c in self.contenders[problem.op]:
            rec = self.time_contender(c, problem, data)
            recs.append(rec)
            self.writer.add(rec)
            if rec["status"] in ("mismatch", "error"):
                msg = f"{rec['status'].upper()} {problem.label} {c.name}: {rec.get('reason')}"
                self.bad.append(msg)
                self.log(f"  !! {msg}")
        hidden = set()  # the cuSPARSE algorithms: their best is shown
        if problem.op == "spmm":
            best = self.best_of(recs, problem)
            if best is not None:
                recs.append(best)
                self.writer.add(best)
                hidden = {r["contender"] for r in recs if r["family"] == "cusparse"
                          and r["dtype"] == "float32" and r is not best}
        parts = []
        for rec in recs:
            if rec["status"] == "skipped" or rec["contender"] in hidden:
                continue
            flag = {"ok": "", "mismatch": "!MISMATCH", "error": "!ERROR"}[rec["status"]]
            extra = f"({rec['best_alg']})" if rec.get("best_alg") else ""
            parts.append(f"{rec['contender']} {_fmt_us(rec.get('median_us'))}{extra}{flag}")
        self.log.progress(f"{index}/{total} {problem.label}: " + ", ".join(parts) + " us")
        return recs

    def _time_xla_op(self, op, contender, fn, elements, matrix, bytes_moved=None):
        """Times a jitted elementwise ``fn`` over ``elements`` float32 ones by the run's clock and
        records it as the device's own row (op "copy" or "floor"; with ``bytes_moved``, its
        GB/s)."""
        import jax.numpy as jnp
        x = jnp.ones((elements,), jnp.float32)
        r = self.timing.time_per_call(fn, x, repeats=self.cfg.repeats, warmup=self.cfg.warmup,
                                      min_time_s=self.cfg.min_time,
                                      max_calls=self.cfg.max_calls, clock=self.clock)
        del x
        rec = {"op": op, "suite": "device", "contender": contender, "family": "xla",
               "dtype": "float32", "matrix": matrix, "status": "ok",
               "median_us": r.median_s * 1e6, "min_us": r.min_s * 1e6, "max_us": r.max_s * 1e6,
               "wall_us": r.wall_median_s * 1e6, "clock": r.clock, "calls": r.calls,
               "repeats": r.repeats, "problem": op}
        if bytes_moved is not None:
            rec["gbps"] = bytes_moved / r.median_s / 1e9
        self.writer.add(rec)
        return rec

    def copy_bandwidth(self, mib):
        """GB/s of a jitted elementwise op over a float32 array of ``mib`` MiB (read + write)."""
        n = max(1, int(mib * (1 << 20) / 4))
        rec = self._time_xla_op("copy", "xla_elementwise", lambda a: a * 1.5 + 0.5, n,
                                f"{n * 4 / (1 << 20):.0f} MiB", bytes_moved=2.0 * 4 * n)
        self.copy_gbps = rec["gbps"]
        return self.copy_gbps

    def launch_floor(self):
        """Microseconds of a jitted one-element op by the run's clock: what the smallest kernel
        costs, to read the few-microsecond calls against."""
        return self._time_xla_op("floor", "xla_one_element", lambda a: a + 1.0, 1,
                                 "1 element")["median_us"]


def plan_summary(plan, contenders, softmax_problem=None):
    """Counts of a plan: problems, timed contenders, distinct compiled loops (contender x
    argument shapes), as lines of text."""
    problems = sum(len(ps) for _, ps in plan)
    timed, keys = 0, set()
    by_op = {}
    for mat, ps in plan:
        for p in ps:
            by_op[p.op] = by_op.get(p.op, 0) + 1
            for c in contenders.get(p.op, []):
                timed += 1
                shape = (mat.m, mat.k, p.size) if (c.dense_work and p.op == "spmm") else \
                    (mat.m, mat.k, mat.nnz, p.size)
                keys.add((p.op, c.name, shape))
    if softmax_problem is not None:
        n = len(contenders.get("softmax", []))
        timed += n
        keys.update(("softmax", c.name) for c in contenders.get("softmax", []))
    lines = [f"plan: {len(plan)} matrices, {problems} problems "
             f"({', '.join(f'{k} {v}' for k, v in sorted(by_op.items()))}"
             f"{', softmax 1' if softmax_problem is not None else ''}), "
             f"{timed} timings, {len(keys)} distinct compiled loops"]
    return lines, timed, len(keys)


class _Terminated(BaseException):
    """SIGTERM arrived: stop measuring, write the files and the summary. A BaseException, so
    that the ``except Exception`` around each contender and problem lets it through."""


def _on_sigterm():
    """Turns SIGTERM into _Terminated while the benchmark runs (main thread only)."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process
        raise _Terminated()
    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous):
    import signal
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _resolve_batchsizes(cfg, log):
    if cfg.batchsizes:
        path = Path(cfg.batchsizes)
        return P.load_batchsizes(path), str(path)
    found = P.find_batchsizes(cfg.paths)
    if found is not None:
        return P.load_batchsizes(found), str(found)
    path = P.embedded_batchsizes()
    return P.load_batchsizes(path), f"{path} (embedded copy)"


def run(cfg: Config, argv=(), extra_contenders=(), stream=None, plan_only=False) -> int:
    """Runs the benchmark; returns the exit status (0, or 1 when a jsdl contender failed or was
    wrong, 2 for bad input)."""
    t0 = time.perf_counter()
    log = _Log(t0, stream)
    from jax_sparse_dl import dlmc
    from . import contenders as C
    from .data import PatternData, make_data
    from .results import ResultWriter, collect_metadata, forced_kernel_choices, peak_fp32_tflops

    # ------------------------------------------------------------------ what to run, on what
    try:
        matrices = P.discover(cfg.paths) if {"spmm", "sddmm"} & set(cfg.ops) else []
    except (FileNotFoundError, ValueError, TypeError) as e:
        log(f"jax_sparse_dl.bench: {e}")
        return 2
    if {"spmm", "sddmm"} & set(cfg.ops) and not matrices:
        log("jax_sparse_dl.bench: no .smtx / .smtx.gz matrices found")
        return 2
    matrices = P.select_per_level(matrices, cfg.limit_per_level)
    if cfg.max_matrices is not None:
        matrices = matrices[:cfg.max_matrices]
    try:
        batchsizes, batchsizes_source = _resolve_batchsizes(cfg, log)
    except (OSError, ValueError) as e:
        log(f"jax_sparse_dl.bench: batch sizes: {e}")
        return 2
    plan = P.plan_problems(matrices, cfg.ops, n_values=cfg.n_values,
                           rn50_batches=cfg.rn50_batches, batchsizes=batchsizes,
                           d_values=cfg.d_values)
    softmax_problem = (P.SoftmaxProblem(cfg.softmax_seq, cfg.softmax_heads, cfg.softmax_sparsity)
                       if "softmax" in cfg.ops else None)
    missing_n = sorted({m.base for m in matrices if m.suite == "rn50" and m.base not in batchsizes})

    env = C.detect_env()
    every = C.build_contenders(env)
    contenders = select_contenders(every, cfg, extra_contenders)
    if plan_only:
        assumed = {op: [dataclasses.replace(c, skip="") for c in cs]
                   for op, cs in contenders.items()}
        lines, timed, loops = plan_summary(plan, assumed, softmax_problem)
        for line in lines:
            log(line)
        problems = sum(len(ps) for _, ps in plan)
        # A GPU run by the device clock times the repeats again inside the profiler.
        executions = cfg.warmup + cfg.repeats * (2 if resolve_clock(cfg.clock, True) == "device"
                                                 else 1)
        estimate = loops * 0.15 + timed * (executions * cfg.min_time + 0.02) + problems * 0.1
        log(f"rough GPU estimate (all contenders available; 0.15 s per compiled loop, "
            f"{executions} executions of {cfg.min_time * 1e3:g} ms per timing, 0.1 s of data and "
            f"references per problem): {estimate / 60:.1f} min")
        for mat, ps in plan:
            log(f"  {mat.label} ({mat.m}x{mat.k}, nnz {mat.nnz}): "
                + ", ".join(f"{p.op} {p.size}" for p in ps))
        log(f"rn50 batch sizes: {batchsizes_source}")
        if missing_n:
            log(f"rn50 layers without a batch size (N = 256 used): {', '.join(missing_n)}")
        return 0

    import jax
    device = jax.devices()[0]
    peak = peak_fp32_tflops(device.device_kind, cfg.peak_tflops)
    limits = C.Limits(gather_bytes=cfg.gather_max_gib * C.GIB,
                      dense_bytes=cfg.dense_max_gib * C.GIB)
    options = {k: (list(v) if isinstance(v, tuple) else v)
               for k, v in dataclasses.asdict(cfg).items()}
    metadata = collect_metadata(list(argv), options, env, contenders, peak)
    metadata["rn50_batchsizes"] = batchsizes_source
    metadata["matrices"] = len(matrices)
    writer = ResultWriter(cfg.out, metadata)
    runner = Runner(cfg, contenders, env, writer, log, peak[0], limits)
    metadata["timing"] += f"; {runner.clock} clock"

    log(f"jax {jax.__version__}, backend {env.backend}, device {device.device_kind} "
        f"({jax.device_count()} device(s)); fp32 peak {peak[0]} TFLOP/s ({peak[1]})")
    log(f"jax-sparse-dl {metadata['package_version']}, CUDA kernels loaded: {env.jsdl_cuda}")
    if env.on_gpu and not env.jsdl_cuda:
        log("!! WARNING: on a GPU without the jsdl CUDA module: jsdl runs its pure-JAX fallback")
    if forced := forced_kernel_choices(metadata["environment"]):
        log("!! WARNING: jsdl's kernel choice is forced (not the heuristic's): "
            + ", ".join(f"{k}={v}" for k, v in forced.items()))
    log("cuSPARSE contenders: "
        + ("yes" if env.cusparse is not None else "SKIPPED: " + env.cusparse_reason))
    log(f"timing: median of {cfg.repeats} executions after {cfg.warmup} warm-up(s), loops of "
        f">= {cfg.min_time * 1e3:g} ms, {runner.clock} clock (jax_sparse_dl.timing); "
        f"output -> {Path(cfg.out).resolve()}")
    for op, cs in contenders.items():
        log(f"{op}: " + ", ".join(c.name + (" (skipped: " + c.skip + ")" if c.skip else "")
                                   for c in cs))
    log(f"rn50 batch sizes: {batchsizes_source}")
    if missing_n:
        log(f"rn50 layers without a batch size (N = 256 used): {', '.join(missing_n)}")
    for line in plan_summary(plan, contenders, softmax_problem)[0]:
        log(line)

    total = sum(len(ps) for _, ps in plan) + (softmax_problem is not None)
    done = 0
    stopped = None
    cfg_reason = None

    def over_budget():
        return cfg.time_budget is not None and time.perf_counter() - t0 > cfg.time_budget

    previous = _on_sigterm()
    try:
        def run_one(problem, make, index):
            """Inputs, timings and checks of one problem; its device buffers freed after."""
            data = None
            try:
                data = make()
                runner.run_problem(problem, data, index, total)
            except Exception as e:  # noqa: BLE001
                runner.bad.append(f"ERROR {problem.label}: {short_exc(e)}")
                log(f"  !! {problem.label} failed: {short_exc(e)}")
            finally:
                if data is not None:
                    data.release()

        # ------------------------------------------------------------------- softmax (and copy)
        if softmax_problem is not None:
            try:
                gbps = runner.copy_bandwidth(cfg.copy_mib)
                metadata["copy_bandwidth_gbps"] = gbps
                log.progress(f"copy bandwidth ({cfg.copy_mib:g} MiB float32, read + write): "
                             f"{gbps:.0f} GB/s")
            except Exception as e:  # noqa: BLE001
                log(f"  !! copy bandwidth failed: {short_exc(e)}")
            run_one(softmax_problem, lambda: make_data(softmax_problem, None, cfg.seed), 1)
            done += 1
            writer.flush()

        # ------------------------------------------------------------------------ SpMM / SDDMM
        if plan and not over_budget():
            try:
                metadata["launch_floor_us"] = runner.launch_floor()
                log.progress(f"smallest kernel (a one-element XLA op, {runner.clock} clock): "
                             f"{metadata['launch_floor_us']:.2f} us")
            except Exception as e:  # noqa: BLE001
                log(f"  !! launch floor failed: {short_exc(e)}")
        for mat, ps in plan:
            if over_budget():
                stopped = done
                break
            try:
                pattern = PatternData.from_smtx(mat, dlmc.read_smtx(mat.path))
            except Exception as e:  # noqa: BLE001
                runner.bad.append(f"ERROR reading {mat.path}: {short_exc(e)}")
                log(f"  !! reading {mat.path} failed: {short_exc(e)}")
                done += len(ps)
                continue
            for p in ps:
                if over_budget():
                    stopped = done
                    break
                done += 1
                run_one(p, lambda: make_data(p, pattern, cfg.seed, cfg.check_cols), done)
            pattern.release()
            gc.collect()
            writer.flush()
            if stopped is not None:
                break
    except (_Terminated, KeyboardInterrupt) as e:
        stopped = done
        cfg_reason = ("SIGTERM (e.g. the time limit of `timeout`)" if isinstance(e, _Terminated)
                      else "interrupted")
        log(f"!! terminated: writing what was measured ({done} of {total} problems)")
    finally:
        _restore_sigterm(previous)

    if stopped is not None:
        reason = cfg_reason or f"time budget {cfg.time_budget:g} s"
        metadata["stopped"] = {"reason": reason, "problems_done": stopped,
                               "problems_planned": total}
        log(f"!! stopped ({reason}): {total - stopped} of {total} problems not run")
    metadata["elapsed_s"] = round(time.perf_counter() - t0, 1)
    metadata["compiled_loops"] = sum(1 for k in runner.cache if k[0] == "loop")
    writer.close()

    # --------------------------------------------------------------------------- report
    from . import report
    try:
        summary_lines = report.write_report(cfg.out, metadata, writer.records, plots=cfg.plots)
    except Exception as e:  # noqa: BLE001
        summary_lines = [f"!! report failed: {short_exc(e)}"]
    log()
    for line in summary_lines:
        log(line)
    jsdl_bad = [r for r in writer.records if r.get("family") == "jsdl"
                and r.get("status") in ("mismatch", "error")]
    if runner.bad:
        log()
        log(f"!! {len(runner.bad)} contender(s) failed or gave wrong results:")
        for msg in runner.bad:
            log(f"!!   {msg}")
    status = "FAILED (a jsdl contender was wrong or failed)" if jsdl_bad else "OK"
    log(f"\n{status}: {len(writer.records)} records in {Path(cfg.out).resolve()} "
        f"({time.perf_counter() - t0:.1f} s)")
    return 1 if jsdl_bad else 0
