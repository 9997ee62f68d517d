"""PNG plots of a summary (``report.summarize``), when matplotlib is importable:

* ``<op>_speedup.png``: geometric-mean speedup of jsdl over each contender vs sparsity level, one
  panel per comparison, one line per suite (log scale, 1 = parity);
* ``<op>_peak.png``: median throughput as % of the fp32 peak vs sparsity level, one panel per
  suite and size class, one line per contender.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["make_plots"]


def _plt():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:  # noqa: BLE001 - no matplotlib (or no backend): no plots
        return None
    return plt


def _grid(n):
    cols = min(3, max(1, n))
    return math.ceil(n / cols), cols


def _speedup_plot(plt, op, s, path):
    from .report import ALL
    comps = [c for c in s["comparisons"]  # only comparisons with data
             if any(cells[c][0] is not None for _, cells in s["speedup"])]
    if not comps:
        return None
    rows, cols = _grid(len(comps))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    suites = sorted({suite for (suite, level), _ in s["speedup"] if suite != ALL})
    for ax, comp in zip(axes.flat, comps):
        for suite in suites:
            pts = sorted((float(level), cells[comp][0]) for (su, level), cells in s["speedup"]
                         if su == suite and level != ALL and cells[comp][0] is not None)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=suite)
        ax.axhline(1.0, color="gray", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_title(f"{comp[0]} vs {comp[1]}", fontsize=9)
        ax.set_xlabel("sparsity")
        ax.set_ylabel("speedup (geo. mean)")
        ax.legend(fontsize=8)
    return _finish(plt, fig, axes, len(comps), f"{op}: speedup of jsdl (> 1: jsdl faster)",
                   path)


def _peak_plot(plt, op, s, path):
    from .report import ALL
    groups = sorted({(suite, ncls) for (suite, ncls, level), _ in s["throughput"]},
                    key=lambda g: (str(g[0]), str(g[1])))
    if not groups:
        return None
    names = s["throughput_contenders"]
    rows, cols = _grid(len(groups))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    any_pct = False
    for ax, (suite, ncls) in zip(axes.flat, groups):
        for name in names:
            pts = sorted((float(level), cells[name][1])
                         for (su, nc, level), cells in s["throughput"] if su == suite and nc == ncls and level != ALL and name in cells
                         and cells[name][1] is not None)
            if pts:
                any_pct = True
                ax.plot(*zip(*pts), marker="o", label=name,
                        ls="-" if name.startswith("jsdl") else "--")
        ax.set_title(f"{suite} {ncls}", fontsize=9)
        ax.set_xlabel("sparsity")
        ax.set_ylabel("% of fp32 peak")
        ax.legend(fontsize=6)
    return _finish(plt, fig, axes, len(groups),
                   f"{op}: median throughput (2 nnz N / t) as % of fp32 peak",
                   path if any_pct else None)


def _finish(plt, fig, axes, used, title, path):
    """Hide the unused panels, title, save to `path` (unless None), close; returns path."""
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def make_plots(summary, out_dir) -> list[Path]:
    """The PNG files written ([] without matplotlib)."""
    plt = _plt()
    if plt is None:
        return []
    out_dir = Path(out_dir)
    files = []
    for op in ("spmm", "sddmm"):
        s = summary.get(op)
        if not s:
            continue
        for fn, name in ((_speedup_plot, "speedup"), (_peak_plot, "peak")):
            f = fn(plt, op, s, out_dir / f"{op}_{name}.png")
            if f is not None:
                files.append(f)
    return files
