"""The inputs of each problem on the device and the float64 references on the host.

Inputs are made lazily (only what the selected contenders use) and dropped with ``release()``
after the problem, so device memory stays bounded by one problem.

* Values of a sparse matrix: magnitudes uniform in [0.5, 1.5) with random signs (never zero,
  also after rounding to bfloat16), drawn on the host with a seed from (run seed, matrix, op,
  size): fresh for every problem, the same in every run.
* Dense operands: standard normal, drawn on the device (``jax.random``; large ResNet-50 batches
  are gigabytes), float32 then rounded to bfloat16 for the bfloat16 contenders.
* References: float64 numpy on the *rounded* inputs of each dtype (so what is measured is the
  contender's arithmetic). SpMM outputs wider than ``check_cols`` columns are checked on
  ``check_cols`` of them (a quarter of those at each end of the output, the rest at random).
* Softmax scores: 2 x standard normal on the host (bfloat16: rounded from float32).
"""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp

import jax_sparse_dl as jsdl

from .common import softmax_reference
from .problems import (Matrix, SddmmProblem, SoftmaxProblem, SpmmProblem, attention_pattern,
                       seed_of)

__all__ = ["PatternData", "SpmmData", "SddmmData", "SoftmaxData", "make_data"]

_DENSE_HOST_LIMIT = 1 << 25  # elements of a dense float64 host matrix for the references


def _np_dtype(name: str):
    return np.dtype(jnp.dtype(name))


def host_f64(a) -> np.ndarray:
    """Any array (jax or numpy, bfloat16 included) as float64 numpy."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc" or a.dtype.itemsize < 4:
        a = a.astype(np.float32)
    return a.astype(np.float64)


def _rounded(values64, dtype: str) -> np.ndarray:
    f32 = values64.astype(np.float32)
    return f32 if dtype == "float32" else f32.astype(_np_dtype(dtype))


def _random_values(rng, shape) -> np.ndarray:
    mag = rng.uniform(0.5, 1.5, size=shape)
    return np.where(rng.random(shape) < 0.5, -mag, mag)


class _Lazy:
    """Device arrays built on first use and kept until ``release()``."""

    def __init__(self):
        self._cache = {}

    def _get(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def release(self):
        self._cache.clear()


class PatternData(_Lazy):
    """A matrix's pattern: host arrays, and on the device the jsdl Sparsity (row order and
    transpose built once), CSR offsets/columns and COO rows/columns for the other libraries."""

    def __init__(self, matrix, row_offsets, column_indices):
        super().__init__()
        self.matrix = matrix
        self.shape = (matrix.m, matrix.k)
        self.offsets = np.asarray(row_offsets, np.int32)
        self.cols = np.asarray(column_indices, np.int32)
        self.rows = np.repeat(np.arange(self.shape[0], dtype=np.int32), np.diff(self.offsets))
        self.nnz = int(self.cols.shape[0])

    @classmethod
    def from_smtx(cls, matrix, pattern):
        return cls(matrix, pattern.row_offsets, pattern.column_indices)

    def sparsity(self):
        return self._get("sparsity", lambda: jsdl.Sparsity.build(self.offsets, self.cols,
                                                                  self.shape))

    def offsets_dev(self):
        return self._get("offsets", lambda: jnp.asarray(self.offsets))

    def cols_dev(self):
        return self._get("cols", lambda: jnp.asarray(self.cols))

    def rows_dev(self):
        return self._get("rows", lambda: jnp.asarray(self.rows))

    def coo_indices(self):
        """(nnz, 2) int32 [row, column] (BCOO indices)."""
        return self._get("coo", lambda: jnp.asarray(np.stack([self.rows, self.cols], axis=1)))

    def host_dense(self, values64) -> np.ndarray:
        out = np.zeros(self.shape, np.float64)
        out[self.rows, self.cols] = values64
        return out


class _ProblemData(_Lazy):
    def __init__(self, problem, pattern: PatternData | None, seed: int):
        super().__init__()
        self.problem = problem
        self.pattern = pattern
        self.seed = seed
        self._refs = {}

    def key(self, tag: str):
        return jax.random.key(seed_of(self.seed, tag))

    def reference(self, dtype: str) -> np.ndarray:
        if dtype not in self._refs:
            self._refs[dtype] = self._reference(dtype)
        return self._refs[dtype]

    def release(self):
        super().release()
        self._refs.clear()


class _MatrixProblemData(_ProblemData):
    """Shared by SpMM and SDDMM: values of A (host, per dtype) and the CSR / dense forms."""

    def __init__(self, problem, pattern, seed):
        super().__init__(problem, pattern, seed)
        rng = np.random.default_rng(seed)
        self._values64 = _random_values(rng, (pattern.nnz,))

    def host_values(self, dtype: str) -> np.ndarray:
        """A's values rounded to dtype (numpy, the dtype itself): float32 from float64, others
        from float32, as the device rounds the dense operands."""
        return self._get(("host_values", dtype), lambda: _rounded(self._values64, dtype))

    def values(self, dtype: str):
        return self._get(("values", dtype), lambda: jnp.asarray(self.host_values(dtype)))

    def csr(self, dtype: str):
        return self._get(("csr", dtype), lambda: jsdl.CSR(self.values(dtype),
                                                          self.pattern.sparsity()))

    def dense_a(self, dtype: str):
        def build():
            if dtype != "float32":
                return self.dense_a("float32").astype(dtype)
            return jnp.asarray(self.pattern.host_dense(host_f64(self.host_values(dtype)))
                               .astype(np.float32))
        return self._get(("dense_a", dtype), build)

    def bcsr(self, dtype: str):
        from jax.experimental import sparse as jsparse
        return self._get(("bcsr", dtype), lambda: jsparse.BCSR(
            (self.values(dtype), self.pattern.cols_dev(), self.pattern.offsets_dev()),
            shape=self.pattern.shape))


class SpmmData(_MatrixProblemData):
    """C = A @ B with A (m, k) sparse, B (k, N) dense."""

    def __init__(self, problem: SpmmProblem, pattern: PatternData, seed: int, check_cols: int):
        super().__init__(problem, pattern, seed)
        n = problem.n
        if n <= check_cols:
            self.check_columns = None  # all
        else:
            rng = np.random.default_rng(seed_of(seed, "columns"))
            ends = max(1, check_cols // 4)
            middle = rng.choice(np.arange(ends, n - ends), size=check_cols - 2 * ends,
                                replace=False)
            self.check_columns = np.unique(np.concatenate(
                [np.arange(ends), np.arange(n - ends, n), middle])).astype(np.int32)

    @property
    def checked(self) -> str:
        return "all" if self.check_columns is None else f"{len(self.check_columns)} columns"

    def x(self, dtype: str):
        def build():
            if dtype != "float32":
                return self.x("float32").astype(dtype)
            m, k = self.pattern.shape
            return jax.random.normal(self.key("x"), (k, self.problem.n), jnp.float32)
        return self._get(("x", dtype), build)

    def view(self, out) -> np.ndarray:
        """The checked part of an (m, N) output, float64 on the host."""
        if self.check_columns is not None:
            out = jnp.take(out, jnp.asarray(self.check_columns), axis=1)
        return host_f64(out)

    def _reference(self, dtype: str) -> np.ndarray:
        x64 = self.view(self.x(dtype))
        v64 = host_f64(self.host_values(dtype))
        m, k = self.pattern.shape
        if m * k <= _DENSE_HOST_LIMIT:
            return self.pattern.host_dense(v64) @ x64
        import scipy.sparse as sp
        a = sp.csr_array((v64, self.pattern.cols, self.pattern.offsets), shape=(m, k))
        return np.asarray(a @ x64)


class SddmmData(_MatrixProblemData):
    """values = (lhs @ rhs^T) at A's pattern, lhs (m, d), rhs (k, d)."""

    checked = "all"

    def operand(self, side: str, dtype: str):
        """side "lhs" (m, d) or "rhs" (k, d)."""
        def build():
            if dtype != "float32":
                return self.operand(side, "float32").astype(dtype)
            rows = self.pattern.shape[0 if side == "lhs" else 1]
            return jax.random.normal(self.key(side), (rows, self.problem.d), jnp.float32)
        return self._get((side, dtype), build)

    def view(self, out) -> np.ndarray:
        return host_f64(out)

    def _reference(self, dtype: str) -> np.ndarray:
        lhs = host_f64(self.operand("lhs", dtype))
        rhs = host_f64(self.operand("rhs", dtype))
        rows, cols = self.pattern.rows, self.pattern.cols
        m, k = self.pattern.shape
        if m * k <= _DENSE_HOST_LIMIT:
            return (lhs @ rhs.T)[rows, cols]
        out = np.empty(rows.shape[0], np.float64)
        step = 1 << 16
        for s in range(0, rows.shape[0], step):
            out[s:s + step] = np.einsum("ed,ed->e", lhs[rows[s:s + step]], rhs[cols[s:s + step]])
        return out


class SoftmaxData(_ProblemData):
    """Attention-like scores: ``heads`` value vectors on one random (seq, seq) pattern."""

    checked = "all"

    def __init__(self, problem: SoftmaxProblem, seed: int):
        offsets, cols = attention_pattern(problem.seq, problem.sparsity, seed_of(seed, "pattern"))
        matrix = Matrix("<synthetic>", "attention", "attention", "attention", "", problem.sparsity,
                        "nnz", problem.seq, problem.seq, int(cols.shape[0]))
        super().__init__(problem, PatternData(matrix, offsets, cols), seed)
        rng = np.random.default_rng(seed)
        self._values64 = 2.0 * rng.standard_normal((problem.heads, self.pattern.nnz))

    def host_values(self, dtype: str) -> np.ndarray:
        return self._get(("host_values", dtype), lambda: _rounded(self._values64, dtype))

    def csr(self, dtype: str):
        return self._get(("csr", dtype), lambda: jsdl.CSR(jnp.asarray(self.host_values(dtype)),
                                                          self.pattern.sparsity()))

    def dense_scores(self, dtype: str):
        """(heads, seq, seq): the scores at the pattern, 0 elsewhere (masked out anyway)."""
        def build():
            seq = self.problem.seq
            out = jnp.zeros((self.problem.heads, seq, seq), dtype)
            return out.at[:, self.pattern.rows_dev(), self.pattern.cols_dev()].set(
                self.csr(dtype).values)
        return self._get(("dense", dtype), build)

    def mask(self):
        seq = self.problem.seq
        return self._get("mask", lambda: jnp.zeros((seq, seq), bool).at[
            self.pattern.rows_dev(), self.pattern.cols_dev()].set(True))

    def view(self, out) -> np.ndarray:
        return host_f64(out)

    def dense_view(self, out) -> np.ndarray:
        return host_f64(out[:, self.pattern.rows_dev(), self.pattern.cols_dev()])

    def _reference(self, dtype: str) -> np.ndarray:
        return softmax_reference(host_f64(self.host_values(dtype)), self.pattern.rows,
                                 self.problem.seq)

    def bytes_moved(self, dense: bool, dtype: str) -> float:
        """Bytes a softmax must read and write: values in, probabilities out, row offsets
        (dense: the (heads, seq, seq) scores in and out, and the boolean mask)."""
        p, item = self.problem, jnp.dtype(dtype).itemsize
        if dense:
            return 2.0 * p.heads * p.seq * p.seq * item + p.seq * p.seq
        return 2.0 * p.heads * self.pattern.nnz * item + 4.0 * (p.seq + 1)


def _matrix_id(matrix):
    """What identifies a matrix across machines (not its absolute path)."""
    return (matrix.suite, matrix.method, matrix.level, matrix.name)


def make_data(problem, pattern: PatternData | None, seed: int, check_cols: int = 2048):
    """The data object of a problem (seeded by the run seed and the problem)."""
    if isinstance(problem, SpmmProblem):
        return SpmmData(problem, pattern, seed_of(seed, _matrix_id(problem.matrix), "spmm",
                                                  problem.n), check_cols)
    if isinstance(problem, SddmmProblem):
        return SddmmData(problem, pattern, seed_of(seed, _matrix_id(problem.matrix), "sddmm",
                                                   problem.d))
    if isinstance(problem, SoftmaxProblem):
        return SoftmaxData(problem, seed_of(seed, "softmax", problem.seq, problem.heads,
                                            problem.sparsity))
    raise TypeError(f"unknown problem {problem!r}")
