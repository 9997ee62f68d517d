"""The attention benchmark's outputs: results.json, a markdown table with the sparse-vs-dense
ratios the issue's targets ask about, and a PNG plot of time and memory against length."""
from __future__ import annotations

import json
from pathlib import Path

MiB = 2**20


def _cell(record, mode, key):
  entry = record.get(mode, {})
  if "error" in entry:
    return entry["error"].split(":")[0]  # "out of memory" / "did not run"
  if key == "ms":
    return f"{entry['median_s'] * 1e3:.3f}"
  if key == "tok/s":
    return f"{entry['tokens_per_s']:.3g}"
  if key == "MiB":
    total = entry.get("compiled_memory", {}).get("total")
    return "" if total is None else f"{total / MiB:.1f}"
  return ""


def _ratio(results, length, mode, faster, slower, key):
  """slower's / faster's time (or memory) at a length, when both ran."""
  get = {r["contender"]: r.get(mode, {}) for r in results if r["length"] == length}
  a, b = get.get(faster, {}), get.get(slower, {})
  if key == "time" and "median_s" in a and "median_s" in b:
    return b["median_s"] / a["median_s"]
  if key == "memory":
    ma, mb = a.get("compiled_memory", {}).get("total"), b.get("compiled_memory", {}).get("total")
    if ma and mb:
      return mb / ma
  return None


def table(results, environment) -> str:
  lines = [f"# Attention benchmark ({environment['device']}, jax {environment['jax']}, "
           f"jsdl CUDA kernels: {environment['jsdl_cuda_kernels']})", "",
           f"batch 1, {environment['heads']} heads, head dim {environment['head_dim']}, "
           f"causal decay pattern, target sparsity {environment['target_sparsity']}. Memory: "
           "compiled memory analysis of one call (arguments + outputs + temporaries).", "",
           "| length | sparsity | contender | dtype | fwd ms | fwd tok/s | fwd MiB | step ms | "
           "step tok/s | step MiB | fwd rel. error |", "|" + "---|" * 11]
  for r in results:
    error = r.get("forward", {}).get("rel_error_vs_xla_f32")
    lines.append(f"| {r['length']} | {r.get('sparsity', 0):.4f} | {r['contender']} | "
                 f"{r.get('dtype', '')} | {_cell(r, 'forward', 'ms')} | "
                 f"{_cell(r, 'forward', 'tok/s')} | {_cell(r, 'forward', 'MiB')} | "
                 f"{_cell(r, 'step', 'ms')} | {_cell(r, 'step', 'tok/s')} | "
                 f"{_cell(r, 'step', 'MiB')} | {'' if error is None else f'{error:.1e}'} |")
  lines += ["", "Ratios (dense / jsdl: > 1 means jsdl is faster or smaller):", "",
            "| length | step time: xla_masked / jsdl | step memory: xla_masked / jsdl | "
            "step time: cudnn_masked / jsdl_bf16 | step memory: cudnn_masked / jsdl_bf16 |",
            "|---|---|---|---|---|"]
  fmt = lambda x: "n/a" if x is None else f"{x:.2f}x"
  for length in sorted({r["length"] for r in results}):
    lines.append(f"| {length} | {fmt(_ratio(results, length, 'step', 'jsdl', 'xla_masked', 'time'))} | "
                 f"{fmt(_ratio(results, length, 'step', 'jsdl', 'xla_masked', 'memory'))} | "
                 f"{fmt(_ratio(results, length, 'step', 'jsdl_bf16', 'cudnn_masked', 'time'))} | "
                 f"{fmt(_ratio(results, length, 'step', 'jsdl_bf16', 'cudnn_masked', 'memory'))} |")
  failures = [f"- {r['contender']} at {r['length']}, {mode}: {r[mode]['error']}"
              for r in results for mode in ("forward", "step") if "error" in r.get(mode, {})]
  if failures:
    lines += ["", "Failures:", ""] + failures
  return "\n".join(lines) + "\n"


def plot(results, path: Path) -> bool:
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
  except ImportError:
    return False
  fig, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(11, 4))
  for name in sorted({r["contender"] for r in results}):
    rows = [r for r in results if r["contender"] == name and "median_s" in r.get("step", {})]
    if not rows:
      continue
    lengths = [r["length"] for r in rows]
    ax_time.plot(lengths, [r["step"]["median_s"] * 1e3 for r in rows], "o-", label=name)
    memory = [r["step"].get("compiled_memory", {}).get("total") for r in rows]
    if all(m is not None for m in memory):
      ax_memory.plot(lengths, [m / MiB for m in memory], "o-", label=name)
  for ax, label in ((ax_time, "training step, ms"), (ax_memory, "training step memory, MiB")):
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length")
    ax.set_ylabel(label)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return True


def write_report(results, environment, out: Path, plots: bool = True) -> Path:
  out.mkdir(parents=True, exist_ok=True)
  (out / "results.json").write_text(json.dumps({"environment": environment,
                                                "results": results}, indent=2))
  (out / "results.md").write_text(table(results, environment))
  if plots:
    plot(results, out / "attention.png")
  return out
