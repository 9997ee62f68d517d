"""Lower bounds on the SpMM calls of a benchmark run, and the ratio to cuSPARSE each would allow.

A float32 call at HIGHEST on the CUDA cores takes at least the launch floor the run measured (its
`floor` record: an XLA one-element op in the same timed loop) plus the larger of
- memory: the rows of B the pattern uses, C and the entries (value and column), each once, at
  --bandwidth bytes a second;
- shared memory: one 4-byte read a multiply-add (the stream and panel kernels read B's panel
  from shared memory for every entry; the gather kernel reads L1 or L2, no faster), at
  --sms x --smem-bytes-per-cycle x --clock.
The wgmma tile (tensor cores) is held to the first bound only; where it runs, the second may not
hold. The geometric means say how far the benchmark's SpMM target (2x cuSPARSE's best at
HIGHEST) is from what such bounds allow.

    python scripts/spmm_bounds.py docs/gpu-runs/<run>/spmm-bench/results.csv .dlmc
"""
import argparse
from pathlib import Path

import numpy as np

from jax_sparse_dl.bench.report import geomean
from jax_sparse_dl.bench.results import read_csv
from jax_sparse_dl.dlmc import read_smtx

OURS, THEIRS = "jsdl_f32_highest", "cusparse_best"


def bounds_us(m: int, used_rows: int, nnz: int, n: int, bandwidth: float,
              smem_bandwidth: float) -> tuple[float, float]:
  """(memory, shared-memory) lower bounds of one float32 call in µs, launch floor excluded."""
  memory_bytes = (used_rows * n + m * n) * 4 + nnz * 8
  return memory_bytes / bandwidth * 1e6, nnz * n * 4 / smem_bandwidth * 1e6


def matrix_path(dlmc: Path, problem: str) -> Path:
  """The .smtx(.gz) of a record's `problem` (spmm|suite|method|level|name|n)."""
  _, suite, method, level, name, _ = problem.split("|")
  folder = dlmc / suite / method / level
  for suffix in (".smtx.gz", ".smtx"):
    if (folder / (name + suffix)).is_file():
      return folder / (name + suffix)
  raise FileNotFoundError(f"{name}.smtx(.gz) not under {folder}")


def calls(results_csv: Path, dlmc: Path, bandwidth: float, smem_bandwidth: float) -> list[dict]:
  """One dict a problem timed by both contenders: times, bounds, ratios."""
  rows = read_csv(results_csv)
  floors = [r["median_us"] for r in rows if r["op"] == "floor" and r["status"] == "ok"]
  if not floors:
    raise ValueError(f"{results_csv} has no launch floor record")
  floor = floors[0]
  times: dict[str, dict[str, float]] = {}
  for r in rows:
    if r["op"] == "spmm" and r["status"] == "ok" and r["contender"] in (OURS, THEIRS):
      times.setdefault(r["problem"], {})[r["contender"]] = r["median_us"]
  out = []
  for problem, t in times.items():
    if len(t) < 2:
      continue
    pattern = read_smtx(matrix_path(dlmc, problem))
    m = pattern.shape[0]
    n = int(problem.rsplit("|", 1)[1])
    used_rows = len(np.unique(pattern.column_indices))
    memory, smem = bounds_us(m, used_rows, pattern.nnz, n, bandwidth, smem_bandwidth)
    bound = floor + max(memory, smem)
    out.append(dict(problem=problem, ours=t[OURS], theirs=t[THEIRS], memory_us=memory,
                    smem_us=smem, bound_us=bound, now=t[THEIRS] / t[OURS],
                    at_bound=t[THEIRS] / bound,
                    at_memory=t[THEIRS] / (floor + memory)))
  return out


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("results_csv", type=Path)
  parser.add_argument("dlmc", type=Path, help="the DLMC folder the run read")
  parser.add_argument("--bandwidth", type=float, default=3.0e12, help="bytes/s (H100 HBM3)")
  parser.add_argument("--sms", type=int, default=132)
  parser.add_argument("--smem-bytes-per-cycle", type=int, default=128)
  parser.add_argument("--clock", type=float, default=1.755e9, help="Hz (H100 SXM boost)")
  a = parser.parse_args(argv)
  found = calls(a.results_csv, a.dlmc, a.bandwidth, a.sms * a.smem_bytes_per_cycle * a.clock)
  print(f"{'problem':62s} {'ours':>8s} {'theirs':>8s} {'memory':>7s} {'smem':>7s} "
        f"{'now':>5s} {'bound':>6s}")
  for c in found:
    name = "|".join(c["problem"].split("|")[1:])
    print(f"{name[-62:]:62s} {c['ours']:8.1f} {c['theirs']:8.1f} {c['memory_us']:7.1f} "
          f"{c['smem_us']:7.1f} {c['now']:5.2f} {c['at_bound']:6.2f}")
  print(f"geometric mean over {len(found)} problems: now {geomean(c['now'] for c in found):.2f}x, "
        f"at the floor + max(memory, shared memory) {geomean(c['at_bound'] for c in found):.2f}x, "
        f"at the floor + memory {geomean(c['at_memory'] for c in found):.2f}x")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
