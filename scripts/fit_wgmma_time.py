"""Fits the SpMM wgmma tile's time model to standalone-harness runs.

The model (`WgmmaFaster` in cuda/spmm/spmm_heuristic.h, its constants in `SpmmWgmmaConfig`,
cuda/spmm/spmm_config.h) charges a call

    start + waves * (wave + chunks * chunk[type])

with waves = ceil(items / SMs), items = ceil(m / 64) * ceil(n / 128) * batch, chunks =
ceil(k / 64), and chunk[type] for TF32, 3xTF32 (float32 at HIGHEST) and the 16-bit types. The
start and the wave are shared by the types. This script reads the lines that
scripts/spmm_harness.cu prints (`m=.. k=.. n=.. nnz=.. dtype=.. variant=wgmma:1 us=..`), fits the
five constants by least squares on the relative error (every run weighs the same, whatever its
length), and prints them with each run's prediction.

The model is the tile in one part over k. Since session 33 a plain `wgmma` run may take the
heuristic's parts over k (on few work items), which the model does not charge: session 45's refit
of such runs put 512 x 2048 at N = 256 and N = 2048 (both one wave) at 31 and 49 us and fitted
neither. So time `JSDL_SPMM_VARIANT=wgmma:1`; plain `wgmma` lines are read for the logs from
before parts over k (session 32's, the constants' source), `wgmma:<2 or more>` never.

Usage: python scripts/fit_wgmma_time.py LOG [LOG ...] [--label new] [--sms 132]
  --label: only the runs under a `== ... LABEL` line (the call scripts print one before each run,
  its last word naming the build: old, new, ...).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys

import numpy as np

ROWS, COLS, CHUNK = 64, 128, 64  # SpmmWgmmaConfig: kRows, kCols, kChunk
TYPES = ("tf32", "split", "16bit")  # the chunk constants, in this order after start and wave
_TYPE_OF_DTYPE = {"tf32": "tf32", "float32": "split", "bfloat16": "16bit", "float16": "16bit"}
_RUN = re.compile(r"m=(\d+) k=(\d+) n=(\d+) nnz=\d+ dtype=(\w+) variant=wgmma(?::1)? us=([\d.]+)")


@dataclasses.dataclass(frozen=True)
class Run:
  m: int
  k: int
  n: int
  kind: str  # one of TYPES
  us: float


@dataclasses.dataclass(frozen=True)
class Model:
  start_ns: float
  wave_ns: float
  chunk_ns: dict[str, float]

  def predict_us(self, run: Run, sms: int, batch: int = 1) -> float:
    waves, chunks = shape_terms(run, sms, batch)
    return (self.start_ns + waves * (self.wave_ns + chunks * self.chunk_ns[run.kind])) / 1e3


def _ceil(a: int, b: int) -> int:
  return -(-a // b)


def shape_terms(run: Run, sms: int, batch: int = 1) -> tuple[int, int]:
  items = _ceil(run.m, ROWS) * _ceil(run.n, COLS) * batch
  return _ceil(items, sms), _ceil(run.k, CHUNK)


def parse(lines, label: str | None = None) -> list[Run]:
  """The wgmma runs in harness output; with `label`, those under a `== ... label` line."""
  runs, current = [], None
  for line in lines:
    if line.startswith("=="):
      words = line.split()
      current = words[-1] if words else None
      continue
    match = _RUN.search(line)
    if not match or (label is not None and current != label):
      continue
    m, k, n, dtype, us = match.groups()
    if dtype not in _TYPE_OF_DTYPE:
      raise ValueError(f"unknown dtype {dtype!r} in: {line.strip()}")
    runs.append(Run(int(m), int(k), int(n), _TYPE_OF_DTYPE[dtype], float(us)))
  return runs


def fit(runs: list[Run], sms: int) -> Model:
  """Least squares on t_model / t_measured - 1 over the five constants."""
  if not runs:
    raise ValueError("no wgmma runs to fit")
  kinds = {run.kind for run in runs}
  missing = [kind for kind in TYPES if kind not in kinds]
  if missing:
    raise ValueError(f"no runs of {', '.join(missing)}: every chunk constant needs runs")
  a = np.zeros((len(runs), 2 + len(TYPES)))
  t = np.empty(len(runs))
  for i, run in enumerate(runs):
    waves, chunks = shape_terms(run, sms)
    a[i, 0], a[i, 1] = 1.0, waves
    a[i, 2 + TYPES.index(run.kind)] = waves * chunks
    t[i] = run.us * 1e3
  x, *_ = np.linalg.lstsq(a / t[:, None], np.ones(len(runs)), rcond=None)
  return Model(float(x[0]), float(x[1]), {kind: float(x[2 + i]) for i, kind in enumerate(TYPES)})


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("logs", nargs="+")
  parser.add_argument("--label", default=None)
  parser.add_argument("--sms", type=int, default=132, help="SMs of the GPU (H200, H100 SXM: 132)")
  args = parser.parse_args(argv)
  runs = []
  for path in args.logs:
    with open(path) as f:
      runs += parse(f, args.label)
  model = fit(runs, args.sms)
  print(f"kStartNanos {model.start_ns:.0f}, kWaveNanos {model.wave_ns:.0f}, kChunkNanosTf32 "
        f"{model.chunk_ns['tf32']:.0f}, kChunkNanosSplit {model.chunk_ns['split']:.0f}, "
        f"kChunkNanos16Bit {model.chunk_ns['16bit']:.0f} ({len(runs)} runs)")
  errors = []
  for run in runs:
    predicted = model.predict_us(run, args.sms)
    errors.append(predicted / run.us - 1)
    print(f"  {run.m} x {run.k}, n = {run.n}, {run.kind}: measured {run.us:.1f} us, model "
          f"{predicted:.1f} ({errors[-1]:+.0%})")
  errors = np.asarray(errors)
  print(f"errors {errors.min():+.0%} to {errors.max():+.0%}, "
        f"{int(np.sum(np.abs(errors) <= 0.1))} of {len(runs)} within 10%")
  return 0


if __name__ == "__main__":
  sys.exit(main())
