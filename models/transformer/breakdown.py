"""Where the sparse attention training step spends its time: each kernel of it timed alone.

  python -m models.transformer.breakdown --lengths 12288 --out bench-breakdown

The step (gradients of q, k, v through sddmm -> csr_softmax -> spmm) runs these operations, all
batched over the heads on one pattern:
  forward   sddmm(q, k), csr_softmax, spmm(P, v)
  backward  sddmm(dO, v) (dP), csr_softmax_grad (dS), spmm(dS, k) (dq), and for dk and dv a
            gather of the values into the transposed pattern's order, then spmm(P^T, dO) and
            spmm(dS^T, q) on the transposed pattern.
Each op is timed with jax_sparse_dl.timing.time_per_call, as the benchmark times the whole step;
the table gives each op's share of their sum next to the measured step.
Writes OUT/breakdown.json and OUT/breakdown.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp

from jax_sparse_dl import CSR
from jax_sparse_dl.nn.attention import sparse_attention
from jax_sparse_dl.sddmm import sddmm
from jax_sparse_dl.softmax import csr_softmax
from jax_sparse_dl.spmm import spmm
from jax_sparse_dl.timing import time_per_call

from .benchmark import problem, training_step


def operations(q, k, v, pattern):
  """(name, times it runs in one step, fn, args) for each op of the step."""
  sparsity = pattern.sparsity
  batch = q.shape[:-2]
  values = jax.random.uniform(jax.random.key(1), batch + (sparsity.nnz,), q.dtype)
  probs = csr_softmax(CSR(values, sparsity))
  transposed = CSR(probs.values, sparsity).T  # values in the transposed pattern's order
  zeros = jnp.zeros_like(values)
  softmax_grad = lambda p, g: jax.vjp(lambda s: csr_softmax(CSR(s, sparsity)).values, p)[1](g)
  return [
      ("sddmm (scores, dP)", 2, lambda a, b: sddmm(a, b, CSR(zeros, sparsity)).values, (q, k)),
      ("csr_softmax", 1, lambda s: csr_softmax(CSR(s, sparsity)).values, (values,)),
      ("csr_softmax_grad", 1, softmax_grad, (probs.values, values)),
      ("spmm (out, dq)", 2, lambda p, b: spmm(CSR(p, sparsity), b), (probs.values, v)),
      ("gather to transposed order", 2, lambda p: CSR(p, sparsity).T.values, (probs.values,)),
      ("spmm transposed (dk, dv)", 2, lambda p, b: spmm(CSR(p, transposed.sparsity), b),
       (transposed.values, v)),
  ]


def run(args) -> list[dict]:
  rows = []
  timing = dict(repeats=args.repeats, warmup=1, min_time_s=args.min_time)
  for length in args.lengths:
    pattern, qkv = problem(length, args.heads, args.head_dim, args.sparsity, args.local)
    q, k, v, cotangent = qkv
    step = time_per_call(training_step(sparse_attention), q, k, v, cotangent, pattern.sparsity,
                         **timing)
    ops = [(name, count, time_per_call(fn, *fn_args, **timing).median_s)
           for name, count, fn, fn_args in operations(q, k, v, pattern)]
    rows.append({"length": length, "nnz": pattern.nnz, "step_s": step.median_s,
                 "ops": [{"op": name, "count": count, "median_s": t} for name, count, t in ops]})
    print(json.dumps(rows[-1]), flush=True)
  return rows


def write_markdown(rows, path: Path):
  lines = [f"# Sparse attention step, op by op ({jax.devices()[0].device_kind}, jax "
           f"{jax.__version__})", ""]
  for row in rows:
    total = sum(op["count"] * op["median_s"] for op in row["ops"])
    lines += [f"## length {row['length']} (nnz {row['nnz']} per head)", "",
              "| op | per call (ms) | calls per step | ms per step | share |",
              "| --- | --- | --- | --- | --- |"]
    for op in row["ops"]:
      per_step = op["count"] * op["median_s"]
      lines.append(f"| {op['op']} | {op['median_s'] * 1e3:.3f} | {op['count']} | "
                   f"{per_step * 1e3:.3f} | {per_step / total:.0%} |")
    lines += [f"| sum of the ops | | | {total * 1e3:.3f} | |",
              f"| measured step | | | {row['step_s'] * 1e3:.3f} | |", ""]
  path.write_text("\n".join(lines))


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--lengths", type=int, nargs="+", default=[12288])
  p.add_argument("--heads", type=int, default=8)
  p.add_argument("--head-dim", type=int, default=64)
  p.add_argument("--sparsity", type=float, default=0.95)
  p.add_argument("--local", type=int, default=128)
  p.add_argument("--repeats", type=int, default=5)
  p.add_argument("--min-time", type=float, default=0.02)
  p.add_argument("--out", default="bench-breakdown")
  args = p.parse_args(argv)
  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  rows = run(args)
  (out / "breakdown.json").write_text(json.dumps(rows, indent=1))
  write_markdown(rows, out / "breakdown.md")
  print((out / "breakdown.md").read_text())


if __name__ == "__main__":
  main()
