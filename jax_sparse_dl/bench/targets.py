"""Issue 3's targets, judged from a benchmark's summary (report.summarize): met, missed, or not
measured by this run. The thresholds are the issue's; every verdict shows the number behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import ALL

__all__ = ["TARGETS", "Target", "judge_targets"]


@dataclass(frozen=True)
class Target:
    text: str
    op: str
    kind: str  # "geomean", "from_level", "median_tflops" or "softmax_bandwidth"
    jsdl: str
    contender: str | None = None
    threshold: float = 1.0  # a geomean's minimum, a level, TFLOP/s or % of copy bandwidth
    suite: str | None = None  # median_tflops: the suite and size class
    size: str | None = None


TARGETS = (
    Target("SpMM float32 HIGHEST >= 2x cuSPARSE's best algorithm", "spmm", "geomean",
           "jsdl_f32_highest", "cusparse_best", 2.0),
    Target("SpMM float32 HIGHEST faster than dense fp32 from 70% sparsity on", "spmm",
           "from_level", "jsdl_f32_highest", "dense_f32_highest", 0.7),
    Target("SpMM float32 HIGHEST median >= 10 TFLOP/s, transformer at N = 2048", "spmm",
           "median_tflops", "jsdl_f32_highest", threshold=10.0, suite="transformer",
           size="N=2048"),
    Target("SpMM float32 DEFAULT faster than XLA's dense dot at DEFAULT from 80% on", "spmm",
           "from_level", "jsdl_f32_default", "dense_f32_default", 0.8),
    Target("SpMM bfloat16 faster than XLA's dense bfloat16 dot from 80% on", "spmm",
           "from_level", "jsdl_bf16", "dense_bf16", 0.8),
    Target("SDDMM float32 HIGHEST >= 2x cuSPARSE SDDMM", "sddmm", "geomean",
           "jsdl_f32_highest", "cusparse", 2.0),
    Target("SDDMM float32 DEFAULT >= 2x cuSPARSE SDDMM", "sddmm", "geomean",
           "jsdl_f32_default", "cusparse", 2.0),
    Target("csr_softmax >= 70% of measured copy bandwidth", "softmax", "softmax_bandwidth",
           "jsdl_f32", threshold=70.0),
)


def _geomean(target, s):
    cells = dict(s["speedup"]).get((ALL, ALL), {})
    gm, n = cells.get((target.jsdl, target.contender), (None, 0))
    if gm is None:
        return None, None
    return gm >= target.threshold, f"{gm:.2f}x ({n} problems)"


def _from_level(target, s):
    """Met when, in every suite and size class, the geometric mean is > 1 at every measured level
    from the threshold on."""
    parts, met, seen = [], True, False
    for (suite, size), levels in s["level_means"].items():
        at = {lv: gm for lv, cells in levels.items()
              if float(lv) >= target.threshold - 1e-9
              and (gm := cells.get((target.jsdl, target.contender))) is not None}
        if not at:
            continue
        seen = True
        losing = sorted((float(lv) for lv, gm in at.items() if gm <= 1.0))
        met = met and not losing
        worst = min(at.values())
        verdict = "wins" if not losing else "loses at " + ", ".join(f"{lv:g}" for lv in losing)
        parts.append(f"{suite} {size}: {verdict} (lowest {worst:.2f}x)")
    return (met if seen else None), ("; ".join(parts) if seen else None)


def _median_tflops(target, s):
    for (suite, size, level), cells in s["throughput"]:
        if (suite, size, level) == (target.suite, target.size, ALL) and target.jsdl in cells:
            tflops, _, n = cells[target.jsdl]
            return tflops >= target.threshold, f"{tflops:.3g} TFLOP/s ({n} problems)"
    return None, None


def _softmax_bandwidth(target, soft):
    for r in soft["records"]:
        if (r.get("contender") == target.jsdl and r.get("status") == "ok"
                and r.get("pct_copy_bw") is not None):
            pct = r["pct_copy_bw"]
            return pct >= target.threshold, (f"{pct:.1f}% ({r.get('heads')} heads, sequence "
                                             f"{r.get('seq')}, sparsity {r.get('level')})")
    return None, None


_JUDGES = {"geomean": _geomean, "from_level": _from_level, "median_tflops": _median_tflops,
           "softmax_bandwidth": _softmax_bandwidth}


def judge_targets(summary) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for every target; verdict 'met', 'missed' or 'not measured'."""
    rows = []
    for target in TARGETS:
        part = summary.get(target.op)
        met, measured = _JUDGES[target.kind](target, part) if part else (None, None)
        verdict = "not measured" if met is None else "met" if met else "missed"
        rows.append((target.text, measured or "-", verdict))
    return rows
