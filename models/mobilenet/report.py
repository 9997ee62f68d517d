"""The benchmark's summary (markdown tables, target checks) and plot, from its results dict."""
from __future__ import annotations

import pathlib

SPARSE = "sparse"


def fps_of(results, width, batch, model):
  for r in results:
    if (r["width"], r["batch"], r["model"]) == (width, batch, model) and "fps" in r:
      return r["fps"]
  return None


def best_dense(results, width, batch, precision: str):
  """The dense variant of `precision` with the most frames/s at (width, batch), or None."""
  rows = [r for r in results if r["width"] == width and r["batch"] == batch and "fps" in r
          and r["model"] != SPARSE and r["model"].endswith("-" + precision)]
  return max(rows, key=lambda r: r["fps"])["model"] if rows else None


def _best_fps(results, width, batch, precision):
  best = best_dense(results, width, batch, precision)
  return best, (fps_of(results, width, batch, best) if best else None)


def _fmt(x):
  return "-" if x is None else f"{x:.1f}"


def summary_markdown(report: dict) -> str:
  results, env = report["results"], report["environment"]
  widths = sorted({r["width"] for r in results})
  batches = sorted({r["batch"] for r in results if r["batch"] is not None})
  lines = [f"# MobileNetV1 inference: sparse SpMM vs dense ({env['device']})", "",
           f"jax {env['jax']}, flax {env['flax']}, jsdl CUDA kernels: {env['jsdl_cuda_kernels']}."
           " Frames/s. Dense columns: the fastest dense variant (named) at that precision. "
           "Headline: sparse against dense HIGHEST (both true float32).", "",
           "| width | batch | sparse | dense HIGHEST | dense DEFAULT (TF32) | sparse / HIGHEST "
           "| sparse / DEFAULT |", "|---|---|---|---|---|---|---|"]
  for batch in batches:
    for width in widths:
      sparse = fps_of(results, width, batch, SPARSE)
      cells, ratios = [f"{width:.2f}", str(batch), _fmt(sparse)], []
      for precision in ("highest", "default"):
        best, dense = _best_fps(results, width, batch, precision)
        cells.append(f"{_fmt(dense)} ({best})" if best else "-")
        ratios.append(f"{sparse / dense:.2f}x" if sparse and dense else "-")
      lines.append("| " + " | ".join(cells + ratios) + " |")
  lines += ["", "## Every model, frames/s", "",
            "Dense variants ending in -xladw run the depthwise layers as XLA's grouped "
            "convolution; all other models use `jax_sparse_dl.nn.depthwise_conv`.", ""]
  models = sorted({r["model"] for r in results if "fps" in r}, key=lambda m: (m != SPARSE, m))
  lines += ["| width | batch | " + " | ".join(models) + " |",
            "|---|---|" + "---|" * len(models)]
  for batch in batches:
    for width in widths:
      lines.append(f"| {width:.2f} | {batch} | " + " | ".join(
          _fmt(fps_of(results, width, batch, m)) for m in models) + " |")
  lines += ["", "## Targets (batch 1)", ""] + _targets(results)
  failures = [r for r in results if "error" in r or "skipped" in r]
  failures += [e for e in report["layers"] if "error" in e or "skipped" in e]
  if failures:
    lines += ["", "## Failed or skipped", ""]
    lines += [f"- width {r['width']} batch {r['batch']} {r['model']}: "
              f"{r.get('error') or r.get('skipped')}" for r in failures]
  lines += ["", "## Checks", ""]
  lines += [f"- width {w}: pointwise sparsity {c['pointwise_sparsity']:.3f}; sparse vs dense "
            f"network of the same pruned weights: max rel. error "
            f"{c['sparse_vs_dense_rel_err']:.2e}" for w, c in report["checks"].items()]
  for entry in report["layers"]:
    if entry["model"] == SPARSE and "layers" in entry:
      lines += _layer_table(entry, report["layers"])
  return "\n".join(lines) + "\n"


def _targets(results) -> list:
  out = []
  sparse14 = fps_of(results, 1.4, 1, SPARSE)
  for precision in ("highest", "default"):
    _, dense10 = _best_fps(results, 1.0, 1, precision)
    if sparse14 and dense10:
      verdict = "met" if sparse14 >= dense10 else "NOT met"
      out.append(f"- sparse 1.4 ({sparse14:.0f}/s) >= dense 1.0 {precision.upper()} "
                 f"({dense10:.0f}/s): {verdict}")
  for width in sorted({r["width"] for r in results}):
    sparse = fps_of(results, width, 1, SPARSE)
    _, dense = _best_fps(results, width, 1, "highest")
    if sparse and dense:
      verdict = "met" if sparse >= 1.5 * dense else "NOT met"
      out.append(f"- width {width}: sparse / dense HIGHEST = {sparse / dense:.2f}x "
                 f"(>= 1.5x: {verdict})")
  return out or ["- (not measured)"]


def _layer_table(entry, all_entries) -> list:
  dense = next((e for e in all_entries if e["width"] == entry["width"]
                and e["batch"] == entry["batch"] and e["model"] != SPARSE and "layers" in e),
               None)
  dense_rows = {r["layer"]: r for r in (dense or {}).get("layers", [])}
  dense_name = dense["model"] if dense else "dense"
  lines = ["", f"## Per layer: width {entry['width']}, batch {entry['batch']}", "",
           f"| layer | input | sparse us | {dense_name} us | sparse / dense |",
           "|---|---|---|---|---|"]
  totals = [0.0, 0.0]
  for r in entry["layers"]:
    d = dense_rows.get(r["layer"])
    totals[0] += r["median_us"]
    totals[1] += d["median_us"] if d else 0.0
    ratio = f"{r['median_us'] / d['median_us']:.2f}" if d else "-"
    lines.append(f"| {r['layer']} | {tuple(r['input_shape'])} | {r['median_us']:.1f} | "
                 f"{_fmt(d['median_us'] if d else None)} | {ratio} |")
  lines.append(f"| sum | | {totals[0]:.1f} | {totals[1]:.1f} | |")
  return lines


def plot(report: dict, path: pathlib.Path) -> bool:
  """fps against width, one panel per batch size; False when matplotlib is missing."""
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
  except ImportError:
    return False
  results = report["results"]
  batches = sorted({r["batch"] for r in results if r["batch"] is not None})
  if not batches:
    return False
  fig, axes = plt.subplots(1, len(batches), figsize=(6 * len(batches), 4), squeeze=False)
  for ax, batch in zip(axes[0], batches):
    for model in sorted({r["model"] for r in results if r["batch"] == batch}):
      points = sorted((r["width"], r["fps"]) for r in results
                      if r["batch"] == batch and r["model"] == model and "fps" in r)
      if points:
        ax.plot(*zip(*points), marker="o", label=model, linewidth=2.5 if model == SPARSE else 1)
    ax.set(title=f"batch {batch}", xlabel="width multiplier", ylabel="frames / s")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  fig.suptitle(f"MobileNetV1, {report['environment']['device']}")
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return True
