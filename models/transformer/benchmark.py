"""Attention benchmark: jsdl sparse attention against dense baselines on the same mask.

  python -m models.transformer.benchmark --out bench-attention          # 1024 ... 12288
  python -m models.transformer.benchmark --quick --out /tmp/bench-quick  # CPU smoke run

Problem: batch 1, 8 heads, head dim 64, a causal-decay pattern 95% sparse (against the full
L x L matrix) at each length. Contenders (each the whole attention: scores, softmax, product):
  jsdl / jsdl_bf16      sddmm -> csr_softmax -> spmm on the pattern (float32 / bfloat16)
  xla_masked(_bf16)     dense scores, masked softmax, dense product (XLA)
  cudnn_masked          jax.nn.dot_product_attention(implementation="cudnn", mask=the pattern),
                        bfloat16 (cuDNN's fused attention needs 16-bit)
  cudnn_causal          the same with is_causal=True and no mask: full causal attention, NOT the
                        same mask (the fastest dense kernel, for reference)
Each is timed forward and as a training step (gradients w.r.t. q, k, v of <out, cotangent>)
with jax_sparse_dl.timing.time_per_call (calls in one jitted loop, median of repeats).
Memory: `compiled.memory_analysis()` of one call (arguments + outputs + temporaries, i.e.
inputs, mask or pattern included: what XLA allocates for it), and with --isolate (one process
per measurement) also the device's `peak_bytes_in_use` above what was in use before the call.
Out-of-memory and any other failure is recorded per contender and length ("did not run: ...").
Writes OUT/results.json, OUT/results.md and OUT/attention.png (when matplotlib is there).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jax_sparse_dl import has_cuda_kernels
from jax_sparse_dl.nn import causal_decay_pattern, dense_mask, pattern_sparsity
from jax_sparse_dl.nn.attention import masked_dense_attention, sparse_attention
from jax_sparse_dl.timing import time_per_call

CONTENDERS = ("jsdl", "jsdl_bf16", "xla_masked", "xla_masked_bf16", "cudnn_masked", "cudnn_causal")
REFERENCE = "xla_masked"


def _cudnn(q, k, v, mask, causal):
  """cuDNN takes (batch, length, heads, head_dim); we keep (batch, heads, length, head_dim)."""
  to_blhd = lambda a: jnp.swapaxes(a, 1, 2)
  out = jax.nn.dot_product_attention(to_blhd(q), to_blhd(k), to_blhd(v),
                                     mask=None if causal else mask[None, None],
                                     is_causal=causal,
                                     implementation="cudnn")
  return jnp.swapaxes(out, 1, 2)


def attention_fn(name):
  """(forward(q, k, v, structure), what structure it takes: "pattern", "mask" or "none")."""
  if name.startswith("jsdl"):
    return sparse_attention, "pattern"
  if name.startswith("xla_masked"):
    return masked_dense_attention, "mask"
  if name == "cudnn_masked":
    return (lambda q, k, v, mask: _cudnn(q, k, v, mask, False)), "mask"
  if name == "cudnn_causal":
    return (lambda q, k, v, mask: _cudnn(q, k, v, None, True)), "none"
  raise ValueError(f"unknown contender {name!r}; choose from {CONTENDERS}")


def contender_dtype(name):
  return jnp.float32 if name in ("jsdl", "xla_masked") else jnp.bfloat16


def training_step(forward):
  """Gradients of <forward(q, k, v), cotangent> w.r.t. q, k and v."""
  def step(q, k, v, cotangent, structure):
    loss = lambda q, k, v: jnp.sum((forward(q, k, v, structure) * cotangent).astype(jnp.float32))
    return jax.grad(loss, argnums=(0, 1, 2))(q, k, v)
  return step


def _memory(fn, args) -> dict:
  analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
  if analysis is None:
    return {}
  parts = {key: int(getattr(analysis, f"{key}_size_in_bytes", 0) or 0)
           for key in ("argument", "output", "temp", "alias")}
  parts["total"] = parts["argument"] + parts["output"] + parts["temp"] - parts["alias"]
  return parts


def _device_bytes(key):
  stats = jax.devices()[0].memory_stats() or {}
  return stats.get(key)


def _failure(error) -> str:
  text = f"{type(error).__name__}: {error}"
  if "RESOURCE_EXHAUSTED" in text or "out of memory" in text.lower():
    return "out of memory: " + text.splitlines()[0][:200]
  return "did not run: " + text.splitlines()[0][:300]


def problem(length, heads, head_dim, sparsity, local, seed=0):
  pattern = causal_decay_pattern(length, sparsity, local, seed=seed)
  keys = jax.random.split(jax.random.key(seed), 4)
  qkv = [jax.random.normal(key, (1, heads, length, head_dim), jnp.float32) for key in keys]
  return pattern, qkv


def measure(name, length, args, pattern=None, qkv=None, reference=None) -> dict:
  """Forward and training-step time and memory of one contender at one length."""
  if pattern is None:
    pattern, qkv = problem(length, args.heads, args.head_dim, args.sparsity, args.local)
  forward, kind = attention_fn(name)
  dtype = contender_dtype(name)
  q, k, v, cotangent = (a.astype(dtype) for a in qkv)
  structure = {"pattern": pattern.sparsity, "mask": jnp.asarray(dense_mask(pattern)),
               "none": jnp.zeros((), bool)}[kind]
  record = {"contender": name, "length": length, "dtype": jnp.dtype(dtype).name}
  timing = dict(repeats=args.repeats, warmup=1, min_time_s=args.min_time)
  tokens = q.shape[0] * length
  for mode, fn, fn_args in (("forward", forward, (q, k, v, structure)),
                            ("step", training_step(forward), (q, k, v, cotangent, structure))):
    try:
      in_use = _device_bytes("bytes_in_use")
      memory = _memory(fn, fn_args)
      result = time_per_call(fn, *fn_args, **timing)
      peak = _device_bytes("peak_bytes_in_use")
      record[mode] = {"median_s": result.median_s, "tokens_per_s": tokens / result.median_s,
                      "compiled_memory": memory,
                      "peak_bytes_above_start": None if peak is None else peak - in_use}
      if mode == "forward" and reference is not None and kind != "none":
        out = np.asarray(jax.jit(fn)(*fn_args), np.float64)
        record["forward"]["rel_error_vs_xla_f32"] = float(
            np.linalg.norm(out - reference) / np.linalg.norm(reference))
    except Exception as error:  # noqa: BLE001 - every failure is a result to record
      record[mode] = {"error": _failure(error)}
  return record


def measure_isolated(name, length, args) -> dict:
  """One measurement in a fresh process, so the device's peak memory is this call's alone."""
  command = [sys.executable, "-m", "models.transformer.benchmark", "--worker", name,
             str(length)] + args.passthrough
  done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[2])
  lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
  if done.returncode or not lines:
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"contender": name, "length": length, "forward": {"error": "did not run: " + tail[0]},
            "step": {"error": "did not run: " + tail[0]}}
  return json.loads(lines[-1])


def run(args) -> list[dict]:
  results = []
  for length in args.lengths:
    pattern, qkv = problem(length, args.heads, args.head_dim, args.sparsity, args.local)
    reference = None
    if length <= args.check_max_length:
      try:
        with jax.default_matmul_precision("highest"):  # the reference in true float32
          reference = np.asarray(jax.jit(masked_dense_attention)(
              *qkv[:3], jnp.asarray(dense_mask(pattern))), np.float64)
      except Exception as error:  # noqa: BLE001
        print(f"no reference at length {length}: {_failure(error)}", flush=True)
    for name in args.contenders:
      t0 = time.perf_counter()
      if args.isolate:
        record = measure_isolated(name, length, args)
      else:
        record = measure(name, length, args, pattern, qkv, reference)
      record["sparsity"] = pattern_sparsity(pattern)
      record["seconds"] = time.perf_counter() - t0
      results.append(record)
      print(json.dumps({k: record.get(k) for k in ("contender", "length")} | {
          mode: record[mode].get("median_s", record[mode].get("error")) for mode in
          ("forward", "step")}), flush=True)
    del pattern, qkv, reference
  return results


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--lengths", type=int, nargs="+", default=None,
                 help="default 1024 2048 4096 8192 12288 (--quick: 128 256)")
  p.add_argument("--heads", type=int, default=8)
  p.add_argument("--head-dim", type=int, default=64)
  p.add_argument("--sparsity", type=float, default=0.95)
  p.add_argument("--local", type=int, default=128)
  p.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
  p.add_argument("--repeats", type=int, default=5)
  p.add_argument("--min-time", type=float, default=0.02)
  p.add_argument("--check-max-length", type=int, default=8192,
                 help="check outputs against XLA float32 up to this length")
  p.add_argument("--isolate", action="store_true", help="one process per measurement")
  p.add_argument("--quick", action="store_true", help="tiny sizes (CPU, seconds)")
  p.add_argument("--no-plots", action="store_true")
  p.add_argument("--out", default="bench-attention")
  p.add_argument("--worker", nargs=2, metavar=("CONTENDER", "LENGTH"), help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.quick:
    args.lengths = args.lengths or [128, 256]
    args.heads, args.head_dim, args.local, args.repeats, args.min_time = 2, 16, 16, 2, 0.002
  args.lengths = args.lengths or [1024, 2048, 4096, 8192, 12288]
  # What a worker process needs to rebuild the same problem.
  args.passthrough = ["--heads", str(args.heads), "--head-dim", str(args.head_dim),
                      "--sparsity", str(args.sparsity), "--local", str(args.local),
                      "--repeats", str(args.repeats), "--min-time", str(args.min_time)]
  return args


def main(argv=None):
  args = parse_args(argv)
  if args.worker:
    print(json.dumps(measure(args.worker[0], int(args.worker[1]), args)))
    return
  results = run(args)
  from .benchmark_report import write_report
  environment = {"backend": jax.default_backend(), "device": str(jax.devices()[0]),
                 "jax": jax.__version__, "jsdl_cuda_kernels": has_cuda_kernels(),
                 "heads": args.heads, "head_dim": args.head_dim, "batch": 1,
                 "target_sparsity": args.sparsity, "local": args.local, "isolated": args.isolate}
  out = write_report(results, environment, Path(args.out), plots=not args.no_plots)
  print(f"wrote {out}")


if __name__ == "__main__":
  main()
