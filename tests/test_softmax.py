"""csr_softmax: softmax over the stored entries of each row."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from conftest import Problem, assert_close, entry_rows, f64, make_problem, rounded, tol


def reference(v64, indptr):
    """Row-wise softmax over CSR entries in float64 (values (*b, nnz))."""
    out = np.zeros_like(v64)
    for r in range(len(indptr) - 1):
        a, b = indptr[r], indptr[r + 1]
        if a == b:
            continue
        seg = v64[..., a:b]
        e = np.exp(seg - seg.max(axis=-1, keepdims=True))
        out[..., a:b] = e / e.sum(axis=-1, keepdims=True)
    return out


def dense_masked_reference(W64, mask):
    """The same thing computed as a dense masked softmax (rows without entries -> 0)."""
    logits = np.where(mask, W64, -np.inf)
    mx = np.max(logits, axis=-1, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    e = np.where(mask, np.exp(np.where(mask, W64 - mx, 0.0)), 0.0)
    s = e.sum(-1, keepdims=True)
    return np.where(s > 0, e / np.where(s > 0, s, 1.0), 0.0)


def check_softmax(P, p, v64, dtype):
    assert isinstance(P, jsdl.CSR)
    assert P.shape == p.A.shape
    np.testing.assert_array_equal(np.asarray(P.row_offsets), p.indptr)
    np.testing.assert_array_equal(np.asarray(P.column_indices), p.indices)
    assert P.dtype == dtype
    ref = reference(v64, p.indptr)
    assert_close(P.values, ref, dtype, what="csr_softmax values")
    # against a dense masked softmax as well
    W = np.zeros(v64.shape[:-1] + (p.m, p.k))
    W[..., p.rows, p.indices] = v64
    dense_ref = dense_masked_reference(W, p.mask)
    assert_close(P.values, dense_ref[..., p.rows, p.indices], dtype, what="csr_softmax vs dense")
    # each non-empty row sums to one
    pv = f64(P.values)
    lengths = np.diff(p.indptr)
    sums = np.add.reduceat(pv, p.indptr[:-1][lengths > 0], axis=-1) if lengths.any() else None
    if sums is not None:
        np.testing.assert_allclose(sums, 1.0, rtol=0, atol=tol(dtype))
    # rows with exactly one entry have probability one
    single = p.indptr[:-1][lengths == 1]
    if single.size:
        eps = float(jnp.finfo(dtype).eps)
        assert np.all(np.abs(pv[..., single] - 1.0) <= eps), pv[..., single]
    assert np.all(pv >= 0)


SHAPES = [
    (1, 1, {}),
    (3, 7, {}),
    (7, 3, dict(spread=True)),
    (33, 65, dict(empty_rows=5, spread=True)),
    (65, 1, {}),
    (40, 300, dict(spread=True, empty_rows=8)),
]


@pytest.mark.parametrize("m,k,kw", SHAPES, ids=[f"{m}x{k}" + "".join(f"-{a}" for a in kw) for m, k, kw in SHAPES])
def test_softmax(rng, dtype, m, k, kw):
    p = make_problem(rng, m, k, dtype, **kw)
    vals, v64 = rounded(2.0 * rng.standard_normal(p.nnz), dtype)
    P = jsdl.csr_softmax(p.A.with_values(vals))
    check_softmax(P, p, v64, dtype)


def test_softmax_rows_empty_and_single(rng, dtype):
    # row lengths: 0, 1, 5, 0, 1, 1, 9, 0
    lengths = np.array([0, 1, 5, 0, 1, 1, 9, 0])
    k = 11
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    indices = np.concatenate([np.sort(rng.choice(k, L, replace=False)) for L in lengths]).astype(np.int32)
    vals, v64 = rounded(3.0 * rng.standard_normal(indices.shape[0]), dtype)
    A = jsdl.CSR.from_parts(vals, indptr, indices, (len(lengths), k))
    P = jsdl.csr_softmax(A)
    p = Problem(A, v64, None, indptr, indices, entry_rows(indptr), len(lengths), k)
    check_softmax(P, p, v64, dtype)
    pv = f64(P.values)
    eps = float(jnp.finfo(dtype).eps)
    assert np.all(np.abs(pv[indptr[[1, 4, 5]]] - 1.0) <= eps)
    dense = f64(P.todense())
    assert np.all(dense[[0, 3, 7]] == 0)


@pytest.mark.parametrize("offset", [1e3, -1e3])
def test_softmax_large_values(rng, dtype, offset):
    """Offsets of +-1000 overflow a naive exp in every dtype: the kernel must subtract the max."""
    p = make_problem(rng, 9, 16, dtype, empty_rows=2, spread=True)
    row_off = offset * (1.0 + 0.1 * rng.integers(0, 3, p.m))  # per-row offsets of different size
    raw = row_off[p.rows] + rng.standard_normal(p.nnz)
    vals, v64 = rounded(raw, dtype)
    P = jsdl.csr_softmax(p.A.with_values(vals))
    assert np.all(np.isfinite(f64(P.values)))
    check_softmax(P, p, v64, dtype)


@pytest.mark.parametrize("batch", [(3,), (2, 1, 2)])
def test_softmax_batched(rng, dtype, batch):
    p = make_problem(rng, 11, 13, dtype, empty_rows=3, spread=True)
    vals, v64 = rounded(2.0 * rng.standard_normal(batch + (p.nnz,)), dtype)
    P = jsdl.csr_softmax(p.A.with_values(vals))
    assert P.values.shape == batch + (p.nnz,)
    assert P.batch_shape == batch
    check_softmax(P, p, v64, dtype)


def test_softmax_nnz_zero(rng, dtype):
    p = make_problem(rng, 4, 5, dtype, nnz_zero=True)
    P = jsdl.csr_softmax(p.A)
    assert P.values.shape == (0,)
    assert P.shape == (4, 5)
    assert np.all(f64(P.todense()) == 0)


def test_softmax_jit_and_invariance(rng):
    """jit; adding a per-row constant leaves the result unchanged."""
    dt = jnp.float32
    p = make_problem(rng, 10, 12, dt, empty_rows=2)
    vals, v64 = rounded(rng.standard_normal(p.nnz), dt)
    f = jax.jit(lambda A: jsdl.csr_softmax(A).values)
    P1 = f(p.A.with_values(vals))
    shift = rng.integers(-4, 5, p.m).astype(np.float64)[p.rows]
    P2 = f(p.A.with_values(jnp.asarray(v64 + shift, dt)))
    ref = reference(v64, p.indptr)
    assert_close(P1, ref, dt)
    assert_close(P2, ref, dt)
