"""Checks of a sparsity pattern that only its data can tell (the kernels trust a valid pattern)."""
from __future__ import annotations

import numpy as np

from .csr import Sparsity, _is_concrete


def _fail(msg: str):
  raise ValueError(f"invalid CSR pattern: {msg}")


def _check_half(offsets, cols, order, n_rows: int, n_cols: int, side: str):
  nnz = cols.shape[0]
  if offsets.shape != (n_rows + 1,):
    _fail(f"{side}row_offsets has shape {offsets.shape}, expected ({n_rows + 1},)")
  if offsets[0] != 0:
    _fail(f"{side}row_offsets[0] is {offsets[0]}, must be 0")
  if offsets[-1] != nnz:
    _fail(f"{side}row_offsets[-1] is {offsets[-1]} but there are {nnz} column_indices")
  steps = np.diff(offsets)
  if np.any(steps < 0):
    row = int(np.argmax(steps < 0))
    _fail(f"{side}row_offsets decrease at row {row} ({offsets[row]} -> {offsets[row + 1]})")
  bad = (cols < 0) | (cols >= n_cols)
  if np.any(bad):
    j = int(np.argmax(bad))
    _fail(f"{side}column_indices[{j}] = {cols[j]} is outside [0, {n_cols})")
  if order.shape != (n_rows,) or not np.array_equal(np.sort(order), np.arange(n_rows)):
    _fail(f"{side}row_indices is not a permutation of the {n_rows} rows")


def validate_sparsity(s: Sparsity) -> None:
  """Raises ValueError naming the first problem found in the pattern `s`."""
  if not _is_concrete(*s.arrays):
    raise TypeError("validate() needs concrete arrays: call it outside jit")
  a = [np.asarray(x) for x in s.arrays]
  for name, x in zip(("row_offsets", "column_indices", "row_indices"), a):
    if x.dtype != np.int32:
      _fail(f"{name} has dtype {x.dtype}, expected int32")
  m, k = s.shape
  _check_half(a[0], a[1], a[2], m, k, "")
  # The transposed half is derived data; recompute it to catch hand-made inconsistent patterns.
  expected = Sparsity.build(a[0], a[1], (m, k))
  for name in ("t_row_offsets", "t_column_indices", "to_t", "from_t", "tile_offsets",
               "tile_entries", "t_tile_offsets", "t_tile_entries", "entry_rows", "t_entry_rows"):
    got = np.asarray(getattr(s, name))
    if name.endswith(("tile_offsets", "tile_entries")) and got.shape == (0,):
      continue  # no tile index (without_tile_index): the kernels walk the rows
    if not np.array_equal(got, np.asarray(getattr(expected, name))):
      _fail(f"{name} does not match the pattern (build patterns with CSR.from_parts)")
  _check_half(a[3], a[4], a[5], k, m, "t_")
