"""Causal attention patterns for sparse attention, each returned as a CSR (values all ones).

Both patterns are built with vectorised numpy, a block of rows at a time, so memory stays at
(rows per block x length) however long the sequence. Every row holds its diagonal entry, so a
row-wise softmax never meets an empty row, and no row attends to a later position (causal).

Sparsity is measured against the full length x length matrix (as the paper does, and as dense
attention computes it): a causal pattern is at least about 50% sparse.
"""
from __future__ import annotations

import numpy as np

from ..csr import CSR

_BLOCK_ELEMENTS = 1 << 24  # rows per block x length: 16M booleans / float32 draws at a time


def _csr_from_row_blocks(length: int, row_mask_fn) -> CSR:
  """A (length, length) CSR from `row_mask_fn(rows) -> bool (len(rows), length)` over blocks."""
  block = max(1, _BLOCK_ELEMENTS // max(length, 1))
  counts, columns = [], []
  for start in range(0, length, block):
    rows = np.arange(start, min(start + block, length))
    keep = row_mask_fn(rows)
    counts.append(keep.sum(axis=1))
    columns.append(np.nonzero(keep)[1].astype(np.int32))  # row-major: sorted within rows
  offsets = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int32)
  cols = np.concatenate(columns)
  return CSR.from_parts(np.ones(cols.shape[0], np.float32), offsets, cols, (length, length))


def _longrange_probability(length: int, local: int, scale: float, power: float):
  """p(d) for distances d = 0..length-1: 1 inside the local band, scale * (local / d) ** power
  beyond it (capped at 1)."""
  d = np.arange(length, dtype=np.float64)
  p = np.ones(length)
  far = d >= local
  p[far] = np.minimum(1.0, scale * (local / d[far]) ** power)
  return p


def _expected_entries(p) -> float:
  """Expected nnz of a causal pattern where row i holds distance d <= i with probability p[d]:
  distance d occurs in length - d rows."""
  length = p.shape[0]
  return float(np.sum(p * (length - np.arange(length))))


def _calibrate_scale(length: int, local: int, power: float, target_nnz: float) -> float:
  """The scale whose expected nnz is target_nnz (bisection in log space; nnz grows with scale)."""
  lo, hi = 1e-9, 1e9
  for _ in range(100):
    mid = np.sqrt(lo * hi)
    if _expected_entries(_longrange_probability(length, local, mid, power)) < target_nnz:
      lo = mid
    else:
      hi = mid
  return float(np.sqrt(lo * hi))


def causal_decay_pattern(length: int, sparsity: float = 0.955, local: int = 128,
                         power: float = 1.0, seed: int = 0) -> CSR:
  """Causal local band plus random long-range entries whose probability decays with distance.

  Row i holds every j with i - local < j <= i, and each earlier j with probability
  min(1, c * (local / (i - j)) ** power), c chosen so the expected sparsity (against the full
  length x length matrix) is `sparsity`. When the band alone is already denser than that, the
  band is all there is. The defaults give the paper's ImageNet-64 setting: 95.5% sparse at
  length 12288 (about 550 entries per row).
  """
  if not 0.0 <= sparsity < 1.0:
    raise ValueError(f"sparsity must lie in [0, 1), got {sparsity}")
  if length < 1 or local < 1:
    raise ValueError(f"length and local must be >= 1, got {length} and {local}")
  local = min(local, length)
  band = _expected_entries(_longrange_probability(length, local, 0.0, power))
  target = (1.0 - sparsity) * length * length
  scale = 0.0 if target <= band else _calibrate_scale(length, local, power, target)
  p = _longrange_probability(length, local, scale, power).astype(np.float32)
  # Row i's probabilities over columns j are p[i - j] for j <= i and 0 after: a window of the
  # reversed, zero-padded p, so no (length x length) distance array is ever built.
  reversed_p = np.concatenate([np.zeros(length, np.float32), p])[::-1]
  windows = np.lib.stride_tricks.sliding_window_view(reversed_p, length)
  rng = np.random.default_rng(seed)

  def row_mask(rows):
    probability = windows[length - 1 - rows]
    return rng.random(probability.shape, dtype=np.float32) < probability

  return _csr_from_row_blocks(length, row_mask)


def local_strided_pattern(length: int, local: int = 128, stride: int = 128) -> CSR:
  """Fixed causal pattern (Child et al.'s strided attention): row i holds the band
  i - local < j <= i and every earlier j with (i - j) a multiple of `stride`."""
  if length < 1 or local < 1 or stride < 1:
    raise ValueError(f"length, local and stride must be >= 1, got {length}, {local}, {stride}")
  cols = np.arange(length)

  def row_mask(rows):
    distance = rows[:, None] - cols[None, :]
    return (distance >= 0) & ((distance < local) | (distance % stride == 0))

  return _csr_from_row_blocks(length, row_mask)


def pattern_sparsity(pattern) -> float:
  """Fraction of the (m, k) matrix that a CSR or Sparsity pattern leaves out."""
  m, k = pattern.shape
  return 1.0 - pattern.nnz / float(m * k)


def dense_mask(pattern) -> np.ndarray:
  """The pattern of a CSR or Sparsity as a numpy bool (m, k) array (for dense baselines)."""
  offsets = np.asarray(pattern.row_offsets)
  cols = np.asarray(pattern.column_indices)
  mask = np.zeros(pattern.shape, bool)
  mask[np.repeat(np.arange(pattern.shape[0]), np.diff(offsets)), cols] = True
  return mask
