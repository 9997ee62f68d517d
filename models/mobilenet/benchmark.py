"""Inference benchmark: sparse (SpMM pointwise) against dense MobileNetV1, frames per second.

  python -m models.mobilenet.benchmark --out bench-mobilenet          # the full run (GPU)
  python -m models.mobilenet.benchmark --quick --out /tmp/mb-quick    # tiny, CPU, seconds

For each width and batch size, on 224x224x3 inputs with 1000 classes and random weights:
- "sparse": `fold_for_inference` of a model whose pointwise layers 2-13 were magnitude-pruned to
  --sparsity; SpMM with the folded bias + ReLU in its epilogue, NCHW, XLA layers at HIGHEST
  (true float32 everywhere, like the SpMM kernels);
- dense variants "<layout>-<pointwise>-<precision>[-xladw]" (`fold_dense_for_inference` of an
  unpruned model): layout nhwc/nchw, pointwise as cuDNN 1x1 conv or cuBLAS gemm, precision highest
  (true float32, the headline comparison) or default (TF32 on recent GPUs).
Depthwise layers: `jax_sparse_dl.nn.depthwise_conv` in every model (the same code in sparse and
dense, so the comparison is of the pointwise layers); a dense variant ending in "-xladw" runs
them as XLA's grouped convolution instead, to show what that costs.
Frames/s = batch / time of one jitted forward (`jax_sparse_dl.timing.time_per_call`). Per-layer
breakdown: every layer jitted alone on its real input, for --layer-widths at each batch, sparse
and the fastest dense variant at HIGHEST. A failing configuration is recorded, not fatal.
Outputs in --out: results.json, summary.md, fps.png (when matplotlib is installed).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import platform
import sys
import time
import traceback

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import jax_sparse_dl as jsdl
from jax_sparse_dl.timing import time_per_call

from .model import (MobileNetConfig, create_model, fold_dense_for_inference, fold_for_inference,
                    pointwise_sparsity, prune_to)
from .report import SPARSE, best_dense, plot, summary_markdown

DEFAULT_DENSE = ("nhwc-conv-highest", "nhwc-gemm-highest", "nhwc-conv-default",
                 "nhwc-gemm-default")


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--widths", type=float, nargs="+", default=[1.0, 1.2, 1.4, 1.6, 1.8])
  p.add_argument("--batches", type=int, nargs="+", default=[1, 64])
  p.add_argument("--resolution", type=int, default=224)
  p.add_argument("--num-classes", type=int, default=1000)
  p.add_argument("--sparsity", type=float, default=0.9)
  p.add_argument("--dense", nargs="+", default=list(DEFAULT_DENSE),
                 help="dense variants <nhwc|nchw>-<conv|gemm>-<highest|default>")
  p.add_argument("--layer-widths", type=float, nargs="*", default=[1.0, 1.4])
  p.add_argument("--repeats", type=int, default=10)
  p.add_argument("--min-time", type=float, default=0.02, help="seconds per timed execution")
  p.add_argument("--calls", type=int, default=None,
                 help="calls per timed execution (default: chosen from --min-time)")
  p.add_argument("--layer-batches", type=int, nargs="*", default=None,
                 help="batches of the per-layer breakdown (default: --batches)")
  p.add_argument("--time-budget", type=float, default=480.0,
                 help="seconds; configurations after it are recorded as skipped")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--quick", action="store_true",
                 help="tiny widths and resolution, few repeats (CPU smoke run)")
  p.add_argument("--out", type=pathlib.Path, required=True)
  args = p.parse_args(argv)
  if args.quick:  # tiny defaults; widths and batches given explicitly are kept
    if args.widths == p.get_default("widths"):
      args.widths = [0.25, 0.5]
    if args.batches == p.get_default("batches"):
      args.batches = [1, 2]
    args.resolution = 32
    args.num_classes, args.layer_widths, args.layer_batches = 10, [0.25], [1]
    args.dense = ["nhwc-conv-highest", "nhwc-gemm-default"]
    args.repeats, args.calls = 2, 1
  if args.layer_batches is None:
    args.layer_batches = args.batches
  for name in args.dense:
    parse_variant(name)
  return args


def parse_variant(name: str):
  """(layout, pointwise, precision, depthwise) of a dense variant name."""
  parts = name.lower().split("-")
  if len(parts) not in (3, 4) or parts[0] not in ("nhwc", "nchw") \
      or parts[1] not in ("conv", "gemm") or parts[2] not in ("highest", "default") \
      or parts[3:] not in ([], ["xladw"]):
    raise SystemExit(f"bad dense variant {name!r}: want "
                     "<nhwc|nchw>-<conv|gemm>-<highest|default>[-xladw]")
  return parts[0].upper(), parts[1], parts[2].upper(), "xla" if parts[3:] else "taps"


def build_models(width: float, args):
  """({name: inference model}, the pruned training model) for one width."""
  config = MobileNetConfig(width=width, num_classes=args.num_classes, sparsity=args.sparsity)
  pruned = create_model(config, args.seed)
  prune_to(pruned, args.sparsity)
  models = {SPARSE: fold_for_inference(pruned)}
  dense = create_model(dataclasses.replace(config, sparsity=0.0), args.seed)
  for name in args.dense:
    models[name] = fold_dense_for_inference(dense, *parse_variant(name))
  return models, pruned


def make_input(model, batch: int, resolution: int, seed: int):
  shape = (batch, 3, resolution, resolution)
  if model.layout == "NHWC":
    shape = (batch, resolution, resolution, 3)
  return jax.random.normal(jax.random.key(seed), shape, jnp.float32)


def _forward(graphdef):
  return lambda state, x: nnx.merge(graphdef, state)(x)


class Timer:
  """`time_per_call` with the options of the run; a configuration's previous per-call time
  (from the last width, or the last layer) guesses its calls per loop, saving compiles."""

  def __init__(self, args):
    self.args, self.last_s = args, {}

  def __call__(self, fn, state, x, key, fallback_key=None, shorter: bool = False):
    args = self.args
    min_time = args.min_time / 4 if shorter else args.min_time
    last = self.last_s.get(key, self.last_s.get(fallback_key))
    hint = None if last is None else max(1, math.ceil(1.2 * min_time / last))
    r = time_per_call(fn, state, x, calls=args.calls, calls_hint=hint, min_time_s=min_time,
                      repeats=max(2, args.repeats // 2) if shorter else args.repeats)
    self.last_s[key] = r.median_s
    return r


def time_model(model, x, timer: Timer, key) -> dict:
  graphdef, state = nnx.split(model)
  r = timer(_forward(graphdef), state, x, key)
  return {"median_s": r.median_s, "min_s": r.min_s, "fps": x.shape[0] / r.median_s,
          "calls": r.calls, "compile_s": r.compile_s}


def time_layers(model, x, timer: Timer, key) -> list:
  """Each layer jitted alone on the input it gets inside the network."""
  rows, previous = [], None
  for name, layer in model.named_layers():
    graphdef, state = nnx.split(layer)
    fn = _forward(graphdef)
    r = timer(fn, state, x, (*key, name), previous, shorter=True)
    previous = (*key, name)
    rows.append({"layer": name, "input_shape": list(x.shape), "median_us": r.median_s * 1e6})
    x = jax.jit(fn)(state, x)
  return rows


def check_sparse(pruned, sparse_model, args) -> float:
  """Relative max error of the sparse network against the dense network of the same pruned
  weights (NHWC, HIGHEST) on one random image: the kernels' answer, not only their speed."""
  dense = fold_dense_for_inference(pruned, "NHWC", "conv", "HIGHEST")
  x = make_input(sparse_model, 1, args.resolution, args.seed + 1)
  y_sparse = np.asarray(_jitted(sparse_model)(x), np.float64)
  y_dense = np.asarray(_jitted(dense)(jnp.transpose(x, (0, 2, 3, 1))), np.float64)
  return float(np.max(np.abs(y_sparse - y_dense)) / max(np.max(np.abs(y_dense)), 1e-30))


def _jitted(model):
  graphdef, state = nnx.split(model)
  forward = jax.jit(_forward(graphdef))
  return lambda x: forward(state, x)


def _error(e: Exception) -> str:
  traceback.print_exc(file=sys.stderr)
  return f"{type(e).__name__}: {e}"[:2000]


def _attempt(row: dict, over_budget, measure) -> dict:
  """Fills `row` with measure()'s result, the error it raised, or a budget skip."""
  if over_budget():
    row["skipped"] = "time budget"
    return row
  try:
    row.update(measure())
  except Exception as e:  # a failing configuration is recorded; the others still run
    row["error"] = _error(e)
  return row


def _print_row(row):
  if "fps" in row:
    print(f"width {row['width']:.2f} batch {row['batch']:3d} {row['model']:20s} "
          f"{row['fps']:10.1f} frames/s", file=sys.stderr, flush=True)
  else:
    print(f"width {row['width']} batch {row['batch']} {row['model']}: "
          f"{row.get('error') or row.get('skipped')}", file=sys.stderr, flush=True)


def run(args) -> dict:
  started = time.perf_counter()
  over_budget = lambda: time.perf_counter() - started > args.time_budget
  results, layers, checks, timer = [], [], {}, Timer(args)
  for width in args.widths:
    try:
      models, pruned = build_models(width, args)
      checks[str(width)] = {"pointwise_sparsity": pointwise_sparsity(pruned),
                            "sparse_vs_dense_rel_err": check_sparse(pruned, models[SPARSE], args)}
    except Exception as e:
      results.append({"width": width, "model": "*", "batch": None, "error": _error(e)})
      continue
    for batch in args.batches:
      for name, model in models.items():
        row = _attempt({"width": width, "model": name, "batch": batch}, over_budget,
                       lambda: time_model(model, make_input(model, batch, args.resolution,
                                                            args.seed), timer, (name, batch)))
        results.append(row)
        _print_row(row)
      if width in args.layer_widths and batch in args.layer_batches:
        best = best_dense(results, width, batch, "highest")
        for name in [SPARSE] + ([best] if best else []):
          x = make_input(models[name], batch, args.resolution, args.seed)
          layers.append(_attempt({"width": width, "batch": batch, "model": name}, over_budget,
                                 lambda: {"layers": time_layers(models[name], x, timer,
                                                                (name, batch))}))
  return {"environment": environment(), "args": {k: str(v) for k, v in vars(args).items()},
          "checks": checks, "results": results, "layers": layers,
          "seconds": time.perf_counter() - started}


def environment() -> dict:
  import flax
  device = jax.devices()[0]
  return {"device": getattr(device, "device_kind", str(device)), "platform": device.platform,
          "jax": jax.__version__, "flax": flax.__version__, "python": platform.python_version(),
          "jsdl_cuda_kernels": jsdl.has_cuda_kernels()}


def main(argv=None):
  args = parse_args(argv)
  if jax.default_backend() == "gpu" and not jsdl.has_cuda_kernels():
    print("WARNING: GPU without jax_sparse_dl's CUDA kernels: SpMM runs the pure-JAX fallback "
          "(is the source tree shadowing the installed package?)", file=sys.stderr)
  report = run(args)
  args.out.mkdir(parents=True, exist_ok=True)
  (args.out / "results.json").write_text(json.dumps(report, indent=2))
  summary = summary_markdown(report)
  (args.out / "summary.md").write_text(summary)
  plotted = plot(report, args.out / "fps.png")
  print(summary)
  print(f"written: {args.out}/results.json, summary.md" + (", fps.png" if plotted else ""),
        file=sys.stderr)


if __name__ == "__main__":
  main()
