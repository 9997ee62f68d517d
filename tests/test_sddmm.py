"""sddmm: (q @ kmat^T) sampled at A's pattern, against dense float64 references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from conftest import assert_close, f64, make_problem, rand_dense, rand_values, scattered_pattern

# (m, k, d, pattern options)
SHAPES = [
    (1, 1, 1, {}),
    (3, 7, 5, {}),
    (7, 3, 1, dict(spread=True)),
    (33, 65, 7, dict(empty_rows=5)),
    (65, 33, 65, dict(spread=True)),
    (1, 65, 3, {}),
    (65, 1, 33, {}),
    (40, 50, 130, dict(spread=True, empty_rows=8)),
]
SHAPE_IDS = [f"{m}x{k}x{d}" + "".join(f"-{a}" for a in kw) for m, k, d, kw in SHAPES]


def reference(q64, k64, p):
    full = np.matmul(q64, np.swapaxes(k64, -1, -2))  # (*b, m, k)
    return full[..., p.rows, p.indices]


def check_pattern(S, A):
    assert isinstance(S, jsdl.CSR)
    assert S.shape == A.shape
    assert S.nnz == A.nnz
    np.testing.assert_array_equal(np.asarray(S.row_offsets), np.asarray(A.row_offsets))
    np.testing.assert_array_equal(np.asarray(S.column_indices), np.asarray(A.column_indices))
    np.testing.assert_array_equal(np.asarray(S.row_indices), np.asarray(A.row_indices))


@pytest.mark.parametrize("m,k,d,kw", SHAPES, ids=SHAPE_IDS)
def test_sddmm_shapes(rng, dtype, m, k, d, kw):
    p = make_problem(rng, m, k, dtype, **kw)
    q, q64 = rand_dense(rng, (m, d), dtype)
    km, k64 = rand_dense(rng, (k, d), dtype)
    S = jsdl.sddmm(q, km, p.A)
    check_pattern(S, p.A)
    assert S.values.shape == (p.nnz,)
    assert S.dtype == dtype
    assert_close(S.values, reference(q64, k64, p), dtype, what="sddmm")


# (q batch, kmat batch) -> output batch
BATCH_CASES = [
    ((2, 1), (3,), (2, 3)),
    ((4,), (), (4,)),
    ((), (3,), (3,)),
    ((2,), (2,), (2,)),
    ((1,), (2, 3), (2, 3)),
    ((2, 1, 3), (1, 2, 1), (2, 2, 3)),
]


@pytest.mark.parametrize("dtype_name", ["float32", "bfloat16"])
@pytest.mark.parametrize("qb,kb,ob", BATCH_CASES, ids=[f"q{c[0]}-k{c[1]}" for c in BATCH_CASES])
def test_sddmm_batch_broadcast(rng, dtype_name, qb, kb, ob):
    dt = jnp.dtype(dtype_name)
    m, k, d = 7, 9, 5
    p = make_problem(rng, m, k, dt, empty_rows=2)
    q, q64 = rand_dense(rng, qb + (m, d), dt)
    km, k64 = rand_dense(rng, kb + (k, d), dt)
    S = jsdl.sddmm(q, km, p.A)
    check_pattern(S, p.A)
    assert S.values.shape == ob + (p.nnz,)
    assert S.batch_shape == ob
    assert_close(S.values, reference(q64, k64, p), dt, what="batched sddmm")


def test_sddmm_ignores_A_values(rng):
    m, k, d = 9, 8, 4
    dt = jnp.float32
    p = make_problem(rng, m, k, dt, batch=(5,), spread=True)  # batched values are ignored too
    q, q64 = rand_dense(rng, (m, d), dt)
    km, k64 = rand_dense(rng, (k, d), dt)
    S1 = jsdl.sddmm(q, km, p.A)
    assert S1.values.shape == (p.nnz,)
    v2, _ = rand_values(rng, (p.nnz,), dt)
    S2 = jsdl.sddmm(q, km, p.A.with_values(v2))
    np.testing.assert_array_equal(f64(S1.values), f64(S2.values))
    assert_close(S1.values, reference(q64, k64, p), dt)


def test_sddmm_nnz_zero(rng, dtype):
    p = make_problem(rng, 5, 6, dtype, nnz_zero=True)
    q, _ = rand_dense(rng, (2, 5, 3), dtype)
    km, _ = rand_dense(rng, (6, 3), dtype)
    S = jsdl.sddmm(q, km, p.A)
    assert S.values.shape == (2, 0)
    assert S.dtype == dtype
    assert S.todense().shape == (2, 5, 6)
    assert np.all(f64(S.todense()) == 0)


def test_sddmm_jit_and_chain(rng):
    """jit, and the result used directly as the operand of spmm (S @ v)."""
    m, k, d, n = 12, 10, 6, 5
    dt = jnp.float32
    p = make_problem(rng, m, k, dt, empty_rows=2)
    q, q64 = rand_dense(rng, (m, d), dt)
    km, k64 = rand_dense(rng, (k, d), dt)
    v, v64 = rand_dense(rng, (k, n), dt)
    f = jax.jit(lambda q, km, A, v: jsdl.sddmm(q, km, A) @ v)
    y = f(q, km, p.A, v)
    W = np.where(p.mask, q64 @ k64.T, 0.0)
    assert_close(y, W @ v64, dt)
    S = jax.jit(jsdl.sddmm)(q, km, p.A)
    check_pattern(S, p.A)
    assert_close(S.values, reference(q64, k64, p), dt)


def test_sddmm_transposed_pattern(rng):
    """sddmm at A.T's pattern equals the transpose of sddmm(k, q) at A's pattern."""
    m, k, d = 9, 13, 5
    dt = jnp.float32
    p = make_problem(rng, m, k, dt, spread=True)
    q, q64 = rand_dense(rng, (m, d), dt)
    km, k64 = rand_dense(rng, (k, d), dt)
    St = jsdl.sddmm(km, q, p.A.T)
    assert St.shape == (k, m)
    dense = np.where(p.mask.T, k64 @ q64.T, 0.0)
    assert_close(St.todense(), dense, dt)


@pytest.mark.parametrize("dtype_name,qb,kb", [("float32", (), ()), ("float16", (2, 1), (3,))])
def test_sddmm_huge_shape_few_entries(rng, dtype_name, qb, kb):
    """m * k far beyond what a dense product should materialise, a few hundred entries."""
    dt = jnp.dtype(dtype_name)
    m, k, d = 9001, 8011, 6
    indptr, indices = scattered_pattern(rng, m, k)
    nnz = indices.shape[0]
    A = jsdl.CSR.from_parts(jnp.zeros(nnz, dt), indptr, indices, (m, k))
    q, q64 = rand_dense(rng, qb + (m, d), dt)
    km, k64 = rand_dense(rng, kb + (k, d), dt)
    S = jsdl.sddmm(q, km, A)
    erow = np.repeat(np.arange(m), np.diff(indptr))
    ref = np.einsum("...jd,...jd->...j", q64[..., erow, :], k64[..., indices, :])
    assert S.values.shape == ref.shape
    assert_close(S.values, ref, dt, what="huge sddmm")
    if dt == jnp.float32:
        ct, ct64 = rand_dense(rng, (nnz,), dt)
        gq, gk = jax.jit(jax.grad(lambda q, km: jnp.sum(jsdl.sddmm(q, km, A).values * ct),
                                  argnums=(0, 1)))(q, km)
        gq_ref = np.zeros((m, d))
        np.add.at(gq_ref, erow, ct64[:, None] * k64[indices])
        gk_ref = np.zeros((k, d))
        np.add.at(gk_ref, indices, ct64[:, None] * q64[erow])
        assert_close(gq, gq_ref, dt, what="d q")
        assert_close(gk, gk_ref, dt, what="d kmat")
