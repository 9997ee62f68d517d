"""summary.md (and plots) from the benchmark's records; also runs on its own:

    python -m jax_sparse_dl.bench.report DIR [--peak-tflops X] [--no-plots]

reads DIR/results.json (or results.jsonl of a run cut short) and writes DIR/summary.md and, when
matplotlib is importable, DIR/*.png. Runs nothing on a device (any machine with the package).

Speedup of a jsdl variant over a contender on one problem = t(contender) / t(jsdl) (> 1: jsdl is
faster), from the median times, for problems where both ran and passed the correctness check;
tables give the geometric mean per suite x sparsity level, per suite and overall. Throughput is
the useful work 2 nnz N / t for every contender (dense ones included), as % of the device's fp32
peak. "jsdl beats X from level L" is the lowest level from which the geometric mean is > 1 at
every higher level too.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from .common import ALL, format_table
from .results import forced_kernel_choices
from .targets import judge_targets

__all__ = ["COMPARISONS", "THROUGHPUT_CONTENDERS", "geomean", "summarize", "render_markdown",
           "text_tables", "write_report", "main"]

COMPARISONS = {
    "spmm": [("jsdl_f32_highest", "cusparse_best"), ("jsdl_f32_highest", "dense_f32_highest"),
             ("jsdl_f32_highest", "dense_f32_default"), ("jsdl_f32_default", "dense_f32_default"),
             ("jsdl_bf16", "dense_bf16"), ("jsdl_bf16", "cusparse_bf16"),
             ("jsdl_f32_highest", "bcsr"), ("jsdl_f32_highest", "bcsr_cusparse")],
    "sddmm": [("jsdl_f32_highest", "cusparse"), ("jsdl_f32_default", "cusparse"),
              ("jsdl_bf16", "cusparse"), ("jsdl_f32_highest", "dense_f32_highest"),
              ("jsdl_f32_highest", "dense_f32_default"), ("jsdl_f32_default", "dense_f32_default"),
              ("jsdl_bf16", "dense_bf16"), ("jsdl_f32_highest", "bcoo_sampled")],
    "softmax": [("jsdl_f32", "dense_masked_f32"), ("jsdl_bf16", "dense_masked_bf16")],
}
THROUGHPUT_CONTENDERS = {
    "spmm": ["jsdl_f32_highest", "jsdl_f32_default", "jsdl_bf16", "cusparse_best",
             "cusparse_bf16", "dense_f32_highest", "dense_f32_default", "dense_bf16", "bcsr",
             "bcsr_cusparse"],
    "sddmm": ["jsdl_f32_highest", "jsdl_f32_default", "jsdl_bf16", "cusparse",
              "dense_f32_highest", "dense_f32_default", "dense_bf16", "bcoo_sampled"],
}
_SUITE_ORDER = {"transformer": 0, "rn50": 1}


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0 and math.isfinite(x)]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def comparison_label(a: str, b: str) -> str:
    return f"{a} vs {b}"


def _suite_key(s):
    return (_SUITE_ORDER.get(s, 2), s)


def _level_key(level):
    return (1, 0.0) if level == ALL else (0, float(level))


def _ok(rec) -> bool:
    return rec.get("status") == "ok" and bool(rec.get("median_us"))


def _by_problem(records, op):
    out = defaultdict(dict)
    for r in records:
        if r.get("op") == op and r.get("contender"):
            out[r["problem"]][r["contender"]] = r
    return out


def _crossover(per_level):
    """Lowest level from which every geometric mean is > 1: 'all (>= L)', '>= L' or 'never'."""
    levels = sorted(per_level, key=float)
    if not levels:
        return None
    start = None
    for lv in reversed(levels):
        if per_level[lv] is not None and per_level[lv] > 1:
            start = lv
        else:
            break
    if start is None:
        return f"never (up to {float(levels[-1]):g})"
    if start == levels[0]:
        return f"all levels (>= {float(start):g})"
    return f">= {float(start):g}"


def summarize(records, metadata=None) -> dict:
    """Everything summary.md shows, computed from the records."""
    metadata = metadata or {}
    summary = {"status": defaultdict(int), "bad": [], "skipped": defaultdict(int),
               "cost": defaultdict(lambda: [0, 0, 0.0])}
    for r in records:
        if r.get("wall_s") is not None:
            cost = summary["cost"][(r.get("op"), r.get("contender"))]
            cost[0] += 1
            cost[1] += r.get("compiles") or 0
            cost[2] += r["wall_s"]
        st = r.get("status", "?")
        summary["status"][st] += 1
        if st in ("mismatch", "error"):
            summary["bad"].append(r)
        elif st == "skipped":
            summary["skipped"][(r.get("op"), r.get("contender"), r.get("reason", ""))] += 1

    for op in ("spmm", "sddmm"):
        problems = _by_problem(records, op)
        if not problems:
            continue
        comps = COMPARISONS[op]
        speed = defaultdict(lambda: defaultdict(list))  # (suite, level) -> comp -> ratios
        speed_class = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
        through = defaultdict(lambda: defaultdict(list))  # (suite, n_class, level) -> c -> recs
        best_algs = defaultdict(lambda: defaultdict(int))
        for contenders in problems.values():
            any_rec = next(iter(contenders.values()))
            suite, level, ncls = any_rec.get("suite"), any_rec.get("level"), any_rec.get("n_class")
            for a, b in comps:
                ra, rb = contenders.get(a), contenders.get(b)
                if ra and rb and _ok(ra) and _ok(rb):
                    ratio = rb["median_us"] / ra["median_us"]
                    for key in ((suite, level), (suite, ALL), (ALL, ALL)):
                        speed[key][(a, b)].append(ratio)
                    speed_class[(suite, ncls)][level][(a, b)].append(ratio)
            for name, r in contenders.items():
                if _ok(r) and r.get("tflops") is not None:
                    through[(suite, ncls, level)][name].append(r)
                    through[(suite, ncls, ALL)][name].append(r)
                if name == "cusparse_best" and r.get("best_alg"):
                    best_algs[suite][r["best_alg"]] += 1
        present = {c for cs in problems.values() for c in cs}
        comps = [(a, b) for a, b in comps if a in present and b in present]
        speed_rows = []
        for key in sorted(speed, key=lambda k: (k[0] == ALL, _suite_key(k[0]), _level_key(k[1]))):
            cells = {c: (geomean(speed[key][c]), len(speed[key][c])) for c in comps}
            speed_rows.append((key, cells))
        cross, level_means = {}, {}
        for (suite, ncls), per_level in sorted(
                speed_class.items(), key=lambda kv: (_suite_key(kv[0][0]), _ncls_key(kv[0][1]))):
            means = {lv: {c: geomean(r) for c, r in v.items()} for lv, v in per_level.items()}
            level_means[(suite, ncls)] = means
            cross[(suite, ncls)] = {
                c: _crossover({lv: m[c] for lv, m in means.items() if c in m})
                for c in comps if c[1].startswith("dense")}
        tp_names = [c for c in THROUGHPUT_CONTENDERS[op] if c in present]
        tp_names += sorted(c for c in present - set(tp_names)
                           if not c.startswith("cusparse_") or op == "sddmm")
        tp_rows = []
        for key in sorted(through, key=lambda k: (_suite_key(k[0]), _ncls_key(k[1]),
                                                  _level_key(k[2]))):
            cells = {}
            for name in tp_names:
                rs = through[key].get(name, [])
                if rs:
                    pct = [r["pct_peak"] for r in rs if r.get("pct_peak") is not None]
                    cells[name] = (statistics.median(r["tflops"] for r in rs),
                                   statistics.median(pct) if pct else None, len(rs))
            tp_rows.append((key, cells))
        summary[op] = {"comparisons": comps, "speedup": speed_rows, "crossover": cross,
                       "level_means": level_means,
                       "throughput": tp_rows, "throughput_contenders": tp_names,
                       "best_algs": {s: dict(v) for s, v in best_algs.items()},
                       "problems": len(problems)}

    soft = [r for r in records if r.get("op") == "softmax"]
    copy = [r for r in records if r.get("op") == "copy" and _ok(r)]
    if soft or copy:
        copy_gbps = copy[-1]["gbps"] if copy else metadata.get("copy_bandwidth_gbps")
        ratios = {}
        by = {r["contender"]: r for r in soft}
        for a, b in COMPARISONS["softmax"]:
            if a in by and b in by and _ok(by[a]) and _ok(by[b]):
                ratios[(a, b)] = by[b]["median_us"] / by[a]["median_us"]
        summary["softmax"] = {"records": soft, "copy_gbps": copy_gbps, "speedup": ratios}
    floor = [r for r in records if r.get("op") == "floor" and _ok(r)]
    summary["launch_floor_us"] = (floor[-1]["median_us"] if floor
                                  else metadata.get("launch_floor_us"))
    return summary


def _ncls_key(ncls):
    s = str(ncls)
    digits = "".join(ch for ch in s if ch.isdigit())
    return (s.split("=")[0] if "=" in s else s[:1], int(digits) if digits else 0, s)


def _fmt_speed(cell):
    gm, n = cell
    return "-" if gm is None else f"{gm:.2f} ({n})"


def _fmt_level(level):
    return level if level == ALL else f"{float(level):g}"


def speedup_table(op_summary):
    comps = op_summary["comparisons"]
    header = ["suite", "level"] + [comparison_label(a, b) for a, b in comps]
    rows = [[suite, _fmt_level(level)] + [_fmt_speed(cells[c]) for c in comps]
            for (suite, level), cells in op_summary["speedup"]]
    return header, rows


def throughput_table(op_summary):
    names = op_summary["throughput_contenders"]
    header = ["suite", "size", "level"] + names
    rows = []
    for (suite, ncls, level), cells in op_summary["throughput"]:
        row = [suite, ncls, _fmt_level(level)]
        for name in names:
            if name in cells:
                tf, pct, _ = cells[name]
                row.append(f"{tf:.3g}" + (f" ({pct:.1f}%)" if pct is not None else ""))
            else:
                row.append("-")
        rows.append(row)
    return header, rows


def crossover_table(op_summary):
    cross = op_summary["crossover"]
    comps = sorted({c for v in cross.values() for c in v}, key=op_summary["comparisons"].index)
    header = ["suite", "size"] + [comparison_label(a, b) for a, b in comps]
    rows = [[suite, ncls] + [v.get(c) or "-" for c in comps] for (suite, ncls), v in cross.items()]
    return header, rows


def softmax_table(soft):
    header = ["contender", "dtype", "median us", "GB/s", "% of copy BW", "rel_err", "status"]
    rows = []
    for r in soft["records"]:
        rows.append([r["contender"], r.get("dtype", ""), _num(r.get("median_us"), ".1f"),
                     _num(r.get("gbps"), ".3g"), _num(r.get("pct_copy_bw"), ".1f"),
                     _num(r.get("rel_err"), ".1e"),
                     r.get("status", "") + (f": {r['reason']}" if r.get("reason") else "")])
    return header, rows


def _num(x, fmt):
    return "-" if x is None else format(x, fmt)


def _md_table(header, rows):
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return out


_OP_TITLES = {"spmm": "SpMM (C = A B, A sparse m x k, B dense k x N)",
              "sddmm": "SDDMM ((lhs rhs^T) at A's pattern, inner dimension d)"}


def render_markdown(summary, metadata, plots=()) -> str:
    md = metadata or {}
    lines = ["# jax-sparse-dl benchmark", ""]
    git = md.get("git") or {}
    info = [
        ("date", md.get("date")), ("device", f"{md.get('device_kind')} ({md.get('backend')})"),
        ("nvidia-smi", "; ".join(md.get("nvidia_smi") or []) or None),
        ("jax / jaxlib", f"{md.get('jax')} / {md.get('jaxlib')}"),
        ("package", md.get("package_version")),
        ("commit", (git.get("commit") or git.get("commit_env") or "unknown")
         + (" (dirty)" if git.get("dirty") else "")),
        ("jsdl CUDA kernels", md.get("jsdl_cuda_kernels")), ("cuSPARSE", md.get("cusparse")),
        ("fp32 peak", f"{(md.get('peak') or {}).get('fp32_tflops')} TFLOP/s "
                      f"({(md.get('peak') or {}).get('source')})"),
        ("copy bandwidth", _num(md.get("copy_bandwidth_gbps"), ".0f") + " GB/s"),
        ("smallest kernel", None if summary.get("launch_floor_us") is None else
         f"{summary['launch_floor_us']:.2f} µs (a one-element XLA op, the run's clock: "
         "the floor under every call's time)"),
        ("command", f"`{md.get('command')}`" if md.get("command") else None),
        ("elapsed", f"{md.get('elapsed_s')} s" if md.get("elapsed_s") is not None else None),
        ("timing", md.get("timing")),
    ]
    lines += [f"- {k}: {v}" for k, v in info if v is not None]
    if forced := forced_kernel_choices(md.get("environment") or {}):
        lines.append("- **jsdl's kernel choice forced** (not the heuristic's): "
                     + ", ".join(f"`{k}={v}`" for k, v in forced.items()))
    if md.get("stopped"):
        st = md["stopped"]
        lines.append(f"- **stopped early** ({st.get('reason')}): {st.get('problems_done')} of "
                     f"{st.get('problems_planned')} problems run")
    lines.append("")

    status = dict(summary["status"])
    lines.append("## Correctness")
    lines.append("")
    lines.append("Records: " + ", ".join(f"{k} {v}" for k, v in sorted(status.items()))
                 + ". Every contender's output is compared with a float64 host reference "
                 "(relative L2 error; tolerance by precision class: "
                 + ", ".join(f"{k} {v:g}" for k, v in (md.get("tolerances") or {}).items()) + ").")
    lines.append("")
    if summary["bad"]:
        lines.append(f"**{len(summary['bad'])} MISMATCHES / ERRORS** (not in the speedups):")
        lines.append("")
        for r in summary["bad"]:
            size = r.get("n", r.get("d", ""))
            lines.append(f"- **{r.get('status', '').upper()}** {r.get('op')} {r.get('suite')}/"
                         f"{r.get('level')}/{r.get('matrix')} size {size} **{r.get('contender')}**"
                         f": {r.get('reason')}")
        lines.append("")
    if summary["skipped"]:
        lines.append("Skipped (count, reason):")
        lines.append("")
        for (op, name, reason), count in sorted(summary["skipped"].items(),
                                                key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
            lines.append(f"- {op} {name}: {count} x {reason}")
        lines.append("")

    if targets := _measured_targets(summary, md):
        lines += ["## Issue 3's targets (H100 / H200)", "",
                  "Geometric means over this run's problems; \"from L on\": in every suite and "
                  "size class, jsdl is faster at every level from L on (`bench/targets.py`).", ""]
        lines += _md_table(["target", "measured", "verdict"], targets) + [""]

    for op in ("spmm", "sddmm"):
        s = summary.get(op)
        if not s:
            continue
        lines += [f"## {_OP_TITLES[op]}", "", f"{s['problems']} problems.", ""]
        lines += ["### Geometric-mean speedup of jsdl (t_contender / t_jsdl; > 1: jsdl faster; "
                  "(problems))", ""]
        lines += _md_table(*speedup_table(s)) + [""]
        if s["crossover"]:
            lines += ["### Sparsity level from which jsdl beats the dense contender", ""]
            lines += _md_table(*crossover_table(s)) + [""]
        size = "N" if op == "spmm" else "d"
        lines += [f"### Median throughput, TFLOP/s of useful work (2 nnz {size} / t; % of fp32 "
                  "peak)", ""]
        lines += _md_table(*throughput_table(s)) + [""]
        if s.get("best_algs"):
            lines.append("cuSPARSE algorithm that won (cusparse_best): " + "; ".join(
                f"{suite}: " + ", ".join(f"{a} {n}" for a, n in sorted(v.items()))
                for suite, v in s["best_algs"].items()))
            lines.append("")
        for p in plots:
            if Path(p).name.startswith(op):
                lines += [f"![{Path(p).stem}]({Path(p).name})", ""]

    soft = summary.get("softmax")
    if soft:
        lines += ["## csr_softmax (attention-like pattern)", ""]
        if soft["records"]:
            r0 = soft["records"][0]
            lines.append(f"{r0.get('heads')} heads sharing one {r0.get('seq')} x {r0.get('seq')} "
                         f"pattern, sparsity {r0.get('level')}, nnz {r0.get('nnz')}. Bandwidth = "
                         "(values in + probabilities out + row offsets) / time; dense: (scores "
                         "in + out + mask) / time. Copy bandwidth: a jitted elementwise op over a "
                         f"large float32 array, {_num(soft['copy_gbps'], '.0f')} GB/s.")
            lines.append("")
            lines += _md_table(*softmax_table(soft)) + [""]
        for (a, b), ratio in soft["speedup"].items():
            lines.append(f"- speedup {a} vs {b}: {ratio:.2f}x")
        lines.append("")
    if summary["cost"]:
        lines += ["## Where the run's time went", "",
                  "Per contender: timings, loops compiled, wall time (inputs, compiles, runs, "
                  "check).", ""]
        rows = [[op, name, n, comp, f"{wall:.1f}"] for (op, name), (n, comp, wall)
                in sorted(summary["cost"].items(), key=lambda kv: -kv[1][2])]
        lines += _md_table(["op", "contender", "timings", "compiles", "wall s"], rows) + [""]
    return "\n".join(lines) + "\n"


def _measured_targets(summary, metadata) -> list:
    """The issue's targets this run measured; none off the GPU (they are a GPU's targets)."""
    if (metadata or {}).get("backend", "gpu") not in ("gpu", "cuda"):
        return []
    rows = [row for row in judge_targets(summary) if row[2] != "not measured"]
    if st := (metadata or {}).get("stopped"):
        # A run stopped early judges only the problems it reached: it settles no target.
        note = (f" on {st.get('problems_done')} of {st.get('problems_planned')} problems "
                "(stopped early)")
        rows = [(target, measured, verdict + note) for target, measured, verdict in rows]
    return rows


def text_tables(summary, metadata=None) -> list[str]:
    """The tables printed at the end of a run (plain text)."""
    out = []
    for op in ("spmm", "sddmm"):
        s = summary.get(op)
        if not s:
            continue
        out.append(f"{op}: geometric-mean speedup of jsdl (t_contender / t_jsdl, (problems))")
        header, rows = speedup_table(s)
        out += format_table([h.replace(" vs ", "/") for h in header], rows)
        out.append("")
    soft = summary.get("softmax")
    if soft and soft["records"]:
        out.append(f"softmax (copy bandwidth {_num(soft['copy_gbps'], '.0f')} GB/s)")
        out += format_table(*softmax_table(soft))
        out.append("")
    if targets := _measured_targets(summary, metadata):
        out.append("issue 3's targets")
        out += [f"  {verdict:>6}  {target}: {measured}" for target, measured, verdict in targets]
        out.append("")
    if summary["bad"]:
        out.append(f"!! {len(summary['bad'])} mismatches / errors: see summary.md")
    return out


def write_report(out_dir, metadata, records, plots=True) -> list[str]:
    """Writes summary.md (and plots); returns the text tables to print."""
    out_dir = Path(out_dir)
    summary = summarize(records, metadata)
    files = []
    if plots:
        from .plots import make_plots
        try:
            files = make_plots(summary, out_dir)
        except Exception as e:  # noqa: BLE001 - plots are optional
            print(f"plots failed: {type(e).__name__}: {e}", file=sys.stderr)
    (out_dir / "summary.md").write_text(render_markdown(summary, metadata, files))
    return text_tables(summary, metadata) + [f"summary: {out_dir / 'summary.md'}"
                                   + (f", plots: {', '.join(Path(f).name for f in files)}"
                                      if files else " (no plots: matplotlib missing or disabled)"
                                      if plots else "")]


def main(argv=None) -> int:
    from .results import load_results
    p = argparse.ArgumentParser(prog="python -m jax_sparse_dl.bench.report",
                                description="Regenerate summary.md and plots from results.json.")
    p.add_argument("dir", help="a benchmark output folder (with results.json)")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="fp32 peak for the %% of peak (recomputes pct_peak of every record)")
    p.add_argument("--no-plots", action="store_true")
    args = p.parse_args(argv)
    try:
        metadata, records = load_results(args.dir)
    except (FileNotFoundError, ValueError) as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    if args.peak_tflops:
        metadata.setdefault("peak", {})
        metadata["peak"] = {"fp32_tflops": args.peak_tflops, "source": "--peak-tflops (report)"}
        for r in records:
            if r.get("tflops") is not None:
                r["pct_peak"] = 100.0 * r["tflops"] / args.peak_tflops
    for line in write_report(args.dir, metadata, records, plots=not args.no_plots):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
