"""The CSR type: a shared sparsity pattern plus (batched) values, as a JAX pytree.

Everything that depends only on the pattern (the row order by length, the transposed pattern and
the permutations between the two value orders) is built once, when the pattern is made, so the
backward passes never sort or scan the pattern again.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

_INDEX = jnp.int32
_SPARSITY_FIELDS = ("row_offsets", "column_indices", "row_indices", "t_row_offsets",
                    "t_column_indices", "t_row_indices", "to_t", "from_t", "tile_offsets",
                    "tile_entries", "t_tile_offsets", "t_tile_entries", "entry_rows",
                    "t_entry_rows")
PATTERN_ARRAYS = len(_SPARSITY_FIELDS)  # the pattern operands every primitive takes
# Those the SpMM and SDDMM FFI targets take (positions in the pattern's arrays): the rows, the
# tile index and the entries' rows.
FFI_PATTERN = tuple(_SPARSITY_FIELDS.index(name) for name in (
    "row_offsets", "column_indices", "row_indices", "tile_offsets", "tile_entries", "entry_rows"))
# The tile index: the entries of each TILE_EDGE x TILE_EDGE tile of the matrix, so that a dense-tile
# SDDMM block reads only its own entries (cuda/sddmm/sddmm_tile_kernel.cuh).
TILE_EDGE = 64


def _is_concrete(*arrays) -> bool:
  return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def row_ids(row_offsets, nnz: int):
  """The row of every stored entry (nnz,), from the offsets. Pure JAX, works under jit."""
  return (jnp.searchsorted(row_offsets, jnp.arange(nnz, dtype=_INDEX), side="right") - 1
          ).astype(_INDEX)


def scatter_to_dense(values, row_offsets, column_indices, shape):
  """Dense (*batch, m, k) from values (*batch, nnz); duplicate entries add up."""
  rows = row_ids(row_offsets, column_indices.shape[0])
  out = jnp.zeros((*values.shape[:-1], *shape), values.dtype)
  return out.at[..., rows, column_indices].add(values)


def _length_bucket(lengths):
  """A key that grows with the length, equal for lengths within 1/8 of each other: lengths below
  16 are their own key, longer ones share a key by their leading four bits."""
  lengths = lengths.astype(_INDEX)
  top = 31 - jax.lax.clz(jnp.maximum(lengths, 1))  # floor(log2(length))
  mantissa = (lengths >> jnp.maximum(top - 3, 0)) & 7
  return jnp.where(lengths < 16, lengths, 16 + (top - 4) * 8 + mantissa)


def _rows_by_length(lengths, exact: bool = False):
  """Rows by decreasing length, so long rows are scheduled first (load balance). Rows whose
  lengths lie within 1/8 of each other share a bucket and keep their natural order in it:
  neighbouring rows of banded patterns (attention) share most of their columns, and kept
  together their dense rows are re-read from L1. `exact` sorts by the length alone."""
  key = lengths if exact else _length_bucket(lengths)
  return jnp.argsort(key, stable=True, descending=True).astype(_INDEX)


def tile_count(shape) -> int:
  """Tiles of TILE_EDGE x TILE_EDGE covering a matrix of `shape`."""
  m, k = shape
  return -(-m // TILE_EDGE) * -(-k // TILE_EDGE)


def _tile_index(rows, column_indices, shape):
  """(tile_offsets, tile_entries): tile_entries lists the entries tile by tile (tiles in
  row-major order, entries of a tile in CSR order), tile_offsets (tiles + 1) where each tile's
  list starts. Empty arrays ((0,) and (0,)) when the matrix has more tiles than max(nnz, 2^16):
  the offsets would outweigh the pattern, and the kernels walk the rows instead."""
  m, k = shape
  nnz = column_indices.shape[0]
  tiles = tile_count(shape)
  if tiles > max(nnz, 1 << 16):
    return jnp.zeros((0,), _INDEX), jnp.zeros((0,), _INDEX)
  per_row = -(-k // TILE_EDGE)
  key = (rows // TILE_EDGE) * per_row + column_indices // TILE_EDGE
  entries = jnp.argsort(key, stable=True).astype(_INDEX)
  counts = jnp.zeros((tiles,), _INDEX).at[key].add(1, mode="drop")
  offsets = jnp.concatenate([jnp.zeros((1,), _INDEX), jnp.cumsum(counts, dtype=_INDEX)])
  return offsets, entries


@functools.partial(jax.jit, static_argnames=("shape",))
def _build_sparsity_arrays(row_offsets, column_indices, *, shape):
  m, k = shape
  nnz = column_indices.shape[0]
  row_offsets = row_offsets.astype(_INDEX)
  column_indices = column_indices.astype(_INDEX)
  rows = row_ids(row_offsets, nnz)
  # Entries are stored row by row, so a stable sort by column orders the transpose by
  # (column, row): exactly the CSR order of A^T.
  to_t = jnp.argsort(column_indices, stable=True).astype(_INDEX)
  t_lengths = jnp.zeros((k,), _INDEX).at[column_indices].add(1, mode="drop")
  t_row_offsets = jnp.concatenate([jnp.zeros((1,), _INDEX), jnp.cumsum(t_lengths, dtype=_INDEX)])
  from_t = jnp.zeros((nnz,), _INDEX).at[to_t].set(jnp.arange(nnz, dtype=_INDEX))
  t_column_indices = rows[to_t]
  t_rows = column_indices[to_t]  # the row of A^T holding each of its entries
  return (row_offsets, column_indices, _rows_by_length(jnp.diff(row_offsets)), t_row_offsets,
          t_column_indices, _rows_by_length(t_lengths), to_t, from_t,
          *_tile_index(rows, column_indices, (m, k)),
          *_tile_index(t_rows, t_column_indices, (k, m)), rows, t_rows)


@jax.tree_util.register_pytree_node_class
class Sparsity:
  """A sparsity pattern of shape (m, k) with its transpose (see docs/architecture.md).

  Arrays (all int32): row_offsets (m+1), column_indices (nnz), row_indices (m), t_row_offsets
  (k+1), t_column_indices (nnz), t_row_indices (k), to_t (nnz): values_T = values[..., to_t],
  from_t (nnz): its inverse; tile_offsets (tiles+1) and tile_entries (nnz): the entries of each
  64 x 64 tile (see _tile_index; both (0,) for very sparse large matrices), t_tile_offsets and
  t_tile_entries: the same for the transpose; entry_rows (nnz) and t_entry_rows (nnz): the row of
  every entry of each half (the SDDMM reads an entry's row beside its column instead of
  searching row_offsets).
  """
  __slots__ = _SPARSITY_FIELDS + ("shape",)

  def __init__(self, *arrays, shape):
    if len(arrays) != len(_SPARSITY_FIELDS):
      raise TypeError(f"Sparsity takes {len(_SPARSITY_FIELDS)} arrays, got {len(arrays)}")
    for name, a in zip(_SPARSITY_FIELDS, arrays):
      setattr(self, name, a)
    self.shape = tuple(int(d) for d in shape)

  @classmethod
  def build(cls, row_offsets, column_indices, shape) -> "Sparsity":
    """The full pattern from CSR offsets and column indices (works under jit)."""
    m, k = (int(d) for d in shape)
    row_offsets, column_indices = jnp.asarray(row_offsets), jnp.asarray(column_indices)
    if row_offsets.shape != (m + 1,):
      raise ValueError(f"row_offsets must have shape ({m + 1},) for a matrix with {m} rows, "
                       f"got {row_offsets.shape}")
    if column_indices.ndim != 1:
      raise ValueError(f"column_indices must be 1-D, got shape {column_indices.shape}")
    if column_indices.shape[0] > 0 and (m == 0 or k == 0):
      raise ValueError(f"a {m} x {k} pattern holds no entries, got {column_indices.shape[0]} "
                       "column indices")
    for name, a in (("row_offsets", row_offsets), ("column_indices", column_indices)):
      if not jnp.issubdtype(a.dtype, jnp.integer):
        raise TypeError(f"{name} must be an integer array, got {a.dtype}")
    return cls(*_build_sparsity_arrays(row_offsets, column_indices, shape=(m, k)), shape=(m, k))

  @property
  def arrays(self) -> tuple:
    return tuple(getattr(self, f) for f in _SPARSITY_FIELDS)

  @property
  def nnz(self) -> int:
    return self.column_indices.shape[0]

  @property
  def T(self) -> "Sparsity":
    a = self.arrays
    return Sparsity(*a[3:6], *a[0:3], a[7], a[6], *a[10:12], *a[8:10], a[13], a[12],
                    shape=self.shape[::-1])

  def without_tile_index(self) -> "Sparsity":
    """The same pattern without its tile index (both halves), as built for very sparse large
    matrices: the SDDMM tile kernels then walk the rows. For measuring what the index buys."""
    none = jnp.zeros((0,), _INDEX)
    return Sparsity(*self.arrays[:8], none, none, none, none, *self.arrays[12:], shape=self.shape)

  def tree_flatten(self):
    return self.arrays, self.shape

  @classmethod
  def tree_unflatten(cls, shape, arrays):
    obj = object.__new__(cls)
    for name, a in zip(_SPARSITY_FIELDS, arrays):
      setattr(obj, name, a)
    obj.shape = shape
    return obj

  def __repr__(self):
    return f"Sparsity(shape={self.shape}, nnz={self.nnz})"


@jax.tree_util.register_pytree_node_class
class CSR:
  """A sparse (m, k) matrix in CSR form whose values may carry leading batch dimensions.

  `values` has shape (*batch, nnz); every batch member shares the one pattern, as the heads of
  sparse attention do. Build one with `CSR.fromdense`, `CSR.from_scipy`, `CSR.from_bcsr`,
  `CSR.from_parts` or `random_csr`.
  """
  __slots__ = ("values", "sparsity")

  def __init__(self, values, sparsity: Sparsity):
    if not isinstance(sparsity, Sparsity):
      raise TypeError(f"CSR needs a Sparsity, got {type(sparsity).__name__}")
    values = jnp.asarray(values)
    if values.ndim < 1 or values.shape[-1] != sparsity.nnz:
      raise ValueError(f"values must have shape (..., {sparsity.nnz}) for a pattern with "
                       f"{sparsity.nnz} entries, got {values.shape}")
    if not jnp.issubdtype(values.dtype, jnp.floating):
      raise TypeError(f"CSR values must be floating point, got {values.dtype}")
    self.values = values
    self.sparsity = sparsity

  # --- construction -------------------------------------------------------------------------
  @classmethod
  def from_parts(cls, values, row_offsets, column_indices, shape) -> "CSR":
    """A CSR from its values, offsets and column indices; builds the row order and transpose."""
    return cls(values, Sparsity.build(row_offsets, column_indices, shape))

  @classmethod
  def fromdense(cls, w, *, nnz: int | None = None) -> "CSR":
    """The nonzeros of w (*batch, m, k); batch members share the union of their patterns.

    Without `nnz` w must be concrete. With `nnz` it also works under jit: the first nnz
    nonzeros (row-major) are kept, and missing ones are padded with explicit zeros in the last
    row. Entries beyond nnz are dropped, as in jax.experimental.sparse.BCSR.fromdense(nse=...).
    """
    w = jnp.asarray(w)
    if w.ndim < 2:
      raise ValueError(f"fromdense needs an array of rank >= 2, got shape {w.shape}")
    m, k = w.shape[-2:]
    mask = jnp.any(w != 0, axis=tuple(range(w.ndim - 2)))
    if nnz is None:
      if not _is_concrete(w):
        raise TypeError("CSR.fromdense needs a concrete array to count its nonzeros; "
                        "under jit pass nnz=...")
      rows, cols = np.nonzero(np.asarray(mask))
    else:
      if nnz > 0 and m == 0:
        raise ValueError("fromdense: nnz > 0 needs at least one row")
      rows, cols = jnp.nonzero(mask, size=nnz, fill_value=(m - 1, 0))
    rows, cols = jnp.asarray(rows, _INDEX), jnp.asarray(cols, _INDEX)
    counts = jnp.zeros((m,), _INDEX).at[rows].add(1)
    offsets = jnp.concatenate([jnp.zeros((1,), _INDEX), jnp.cumsum(counts, dtype=_INDEX)])
    values = w[..., rows, cols]
    if nnz is not None:  # padding entries repeat a real position: their values must be zero
      real = jnp.arange(nnz) < jnp.sum(mask)
      values = jnp.where(real, values, jnp.zeros((), w.dtype))
    return cls.from_parts(values, offsets, cols, (m, k))

  @classmethod
  def from_scipy(cls, mat, dtype=None) -> "CSR":
    """From any scipy.sparse matrix or array; duplicates are summed, columns sorted."""
    import scipy.sparse as sp
    if not sp.issparse(mat):
      raise TypeError(f"from_scipy needs a scipy.sparse matrix, got {type(mat).__name__}")
    csr = sp.csr_array(mat, copy=True)
    csr.sum_duplicates()
    values = csr.data if dtype is None else csr.data.astype(dtype)
    return cls.from_parts(values, csr.indptr.astype(np.int32), csr.indices.astype(np.int32),
                          csr.shape)

  @classmethod
  def from_bcsr(cls, b) -> "CSR":
    """From jax.experimental.sparse.BCSR (no dense dims; batched BCSR must share one pattern)."""
    from jax.experimental import sparse as jsparse
    if not isinstance(b, jsparse.BCSR):
      raise TypeError(f"from_bcsr needs a jax.experimental.sparse.BCSR, got {type(b).__name__}")
    if b.n_dense:
      raise ValueError("from_bcsr: BCSR with dense dimensions is not supported")
    if not _is_concrete(b.indptr, b.indices):
      raise TypeError("from_bcsr needs a concrete BCSR pattern (call it outside jit)")
    indptr = np.asarray(b.indptr).reshape(-1, b.indptr.shape[-1])
    indices = np.asarray(b.indices).reshape(-1, b.indices.shape[-1])
    if not (np.all(indptr == indptr[:1]) and np.all(indices == indices[:1])):
      raise ValueError("from_bcsr: the batch members of this BCSR have different patterns; "
                       "a CSR shares one pattern across its batch")
    nnz = int(indptr[0, -1])  # BCSR pads beyond indptr[-1] up to nse
    m, k = b.shape[b.n_batch:]
    return cls.from_parts(b.data[..., :nnz], indptr[0], indices[0, :nnz], (m, k))

  # --- views -----------------------------------------------------------------------------------
  row_offsets = property(lambda self: self.sparsity.row_offsets)
  column_indices = property(lambda self: self.sparsity.column_indices)
  row_indices = property(lambda self: self.sparsity.row_indices)
  shape = property(lambda self: self.sparsity.shape)
  nnz = property(lambda self: self.sparsity.nnz)
  dtype = property(lambda self: self.values.dtype)
  batch_shape = property(lambda self: tuple(self.values.shape[:-1]))

  @property
  def T(self) -> "CSR":
    """The transpose (k, m): a gather of the values; the pattern was transposed once."""
    return CSR(self.values[..., self.sparsity.to_t], self.sparsity.T)

  def with_values(self, values) -> "CSR":
    """The same pattern with new values (*batch, nnz)."""
    return CSR(values, self.sparsity)

  def todense(self):
    return scatter_to_dense(self.values, self.row_offsets, self.column_indices, self.shape)

  def to_scipy(self):
    """A scipy.sparse.csr_array (16-bit values are widened to float32, exactly)."""
    import scipy.sparse as sp
    if self.batch_shape:
      raise ValueError(f"to_scipy needs unbatched values, these have batch shape {self.batch_shape}")
    values = np.asarray(self.values)
    if values.dtype.itemsize < 4:
      values = values.astype(np.float32)
    return sp.csr_array((values, np.asarray(self.column_indices), np.asarray(self.row_offsets)),
                        shape=self.shape)

  def to_bcsr(self):
    """A jax.experimental.sparse.BCSR with n_batch = len(batch_shape)."""
    from jax.experimental import sparse as jsparse
    batch = self.batch_shape
    indices = jnp.broadcast_to(self.column_indices, (*batch, self.nnz))
    indptr = jnp.broadcast_to(self.row_offsets, (*batch, self.shape[0] + 1))
    return jsparse.BCSR((self.values, indices, indptr), shape=(*batch, *self.shape))

  def validate(self) -> "CSR":
    """Checks what only the data can tell; raises ValueError naming the problem. Returns self.

    The kernels assume a valid pattern: monotonic offsets from 0 to nnz, column indices in
    [0, k), row_indices a permutation, and a transposed half consistent with the pattern.
    """
    from .validation import validate_sparsity
    validate_sparsity(self.sparsity)
    return self

  def __matmul__(self, x):
    from .spmm import spmm
    return spmm(self, x)

  def __rmatmul__(self, x):  # x @ A = (A^T @ x^T)^T
    from .spmm import spmm
    return jnp.swapaxes(spmm(self.T, jnp.swapaxes(jnp.asarray(x), -1, -2)), -1, -2)

  def tree_flatten(self):
    return (self.values, self.sparsity), None

  @classmethod
  def tree_unflatten(cls, _, children):
    obj = object.__new__(cls)
    obj.values, obj.sparsity = children
    return obj

  def __repr__(self):
    return (f"CSR(shape={self.shape}, nnz={self.nnz}, batch_shape={self.batch_shape}, "
            f"dtype={self.dtype})")


def random_csr(key, shape, sparsity: float = 0.9, *, dtype=jnp.float32, batch_shape=()) -> CSR:
  """A random (m, k) pattern, each entry present with probability 1 - sparsity, normal values."""
  if not 0.0 <= sparsity <= 1.0:
    raise ValueError(f"sparsity must lie in [0, 1], got {sparsity}")
  m, k = (int(d) for d in shape)
  pattern_key, value_key = jax.random.split(key)
  mask = np.asarray(jax.random.uniform(pattern_key, (m, k)) >= sparsity)
  rows, cols = np.nonzero(mask)
  offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m))]).astype(np.int32)
  values = jax.random.normal(value_key, (*batch_shape, len(cols)), dtype)
  return CSR.from_parts(values, offsets, cols.astype(np.int32), (m, k))
