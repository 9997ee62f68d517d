"""spmm: y = relu?(A @ x + bias) against dense float64 references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from conftest import assert_close, f64, make_problem, rand_dense, rand_values, scattered_pattern

# (m, k, n, pattern options): odd sizes, one row, one column, empty rows, spread row lengths
SHAPES = [
    (1, 1, 1, {}),
    (3, 7, 5, {}),
    (7, 3, 1, dict(spread=True)),
    (33, 65, 7, dict(empty_rows=5)),
    (65, 33, 17, dict(spread=True)),
    (1, 65, 3, {}),
    (65, 1, 3, {}),
    (40, 50, 9, dict(spread=True, empty_rows=8)),
    (17, 129, 130, dict(spread=True, empty_rows=3)),
]
SHAPE_IDS = [f"{m}x{k}x{n}" + "".join(f"-{a}" for a in kw) for m, k, n, kw in SHAPES]


def reference(W64, x64, bias64=None, relu=False):
    y = np.matmul(W64, x64)
    if bias64 is not None:
        y = y + bias64[..., :, None]
    if relu:
        y = np.maximum(y, 0.0)
    return y


@pytest.mark.parametrize("m,k,n,kw", SHAPES, ids=SHAPE_IDS)
def test_spmm_shapes(rng, dtype, m, k, n, kw):
    p = make_problem(rng, m, k, dtype, **kw)
    x, x64 = rand_dense(rng, (k, n), dtype)
    y = jsdl.spmm(p.A, x)
    assert y.shape == (m, n)
    assert_close(y, reference(p.W64, x64), dtype, what="spmm")
    # rows without entries are exactly zero
    empty = np.diff(p.indptr) == 0
    assert np.all(f64(y)[empty] == 0)


@pytest.mark.parametrize("mode", ["bias", "relu", "bias_relu"])
def test_spmm_bias_relu(rng, dtype, mode):
    m, k, n = 33, 20, 7
    p = make_problem(rng, m, k, dtype, empty_rows=6, spread=True)
    x, x64 = rand_dense(rng, (k, n), dtype)
    use_bias = "bias" in mode
    relu = "relu" in mode
    bias, b64 = rand_dense(rng, (m,), dtype) if use_bias else (None, None)
    y = jsdl.spmm(p.A, x, bias=bias, relu=relu)
    ref = reference(p.W64, x64, b64, relu)
    assert_close(y, ref, dtype, what=mode)
    yf = f64(y)
    if relu:
        assert np.all(yf >= 0)
        assert np.any(yf == 0) and np.any(yf > 0)
    empty = np.diff(p.indptr) == 0
    assert empty.any()
    # rows with no entries hold relu?(bias) (or 0) exactly
    expect = np.broadcast_to((b64 if use_bias else np.zeros(m))[:, None], (m, n))
    if relu:
        expect = np.maximum(expect, 0)
    np.testing.assert_array_equal(yf[empty], expect[empty])


# (values batch, x batch, bias batch or None, relu) -> output batch
BATCH_CASES = [
    ((2, 1), (3,), None, False, (2, 3)),
    ((), (4,), None, False, (4,)),
    ((3,), (), None, False, (3,)),
    ((2,), (2,), None, True, (2,)),
    ((1,), (2, 3), None, False, (2, 3)),
    ((2, 1), (3,), (3,), True, (2, 3)),
    ((), (), (2,), False, (2,)),
    ((3,), (), (), True, (3,)),
    ((2, 1), (1,), (1, 3), False, (2, 3)),
]


@pytest.mark.parametrize("dtype_name", ["float32", "float16"])
@pytest.mark.parametrize("vb,xb,bb,relu,ob", BATCH_CASES,
                         ids=[f"v{c[0]}-x{c[1]}-b{c[2]}-r{int(c[3])}" for c in BATCH_CASES])
def test_spmm_batch_broadcast(rng, dtype_name, vb, xb, bb, relu, ob):
    dt = jnp.dtype(dtype_name)
    m, k, n = 7, 9, 5
    p = make_problem(rng, m, k, dt, batch=vb, empty_rows=2)
    x, x64 = rand_dense(rng, xb + (k, n), dt)
    bias, b64 = rand_dense(rng, bb + (m,), dt) if bb is not None else (None, None)
    y = jsdl.spmm(p.A, x, bias=bias, relu=relu)
    assert y.shape == ob + (m, n)
    assert_close(y, reference(p.W64, x64, b64, relu), dt, what="batched spmm")


def test_spmm_matmul_operator_and_transpose(rng, dtype):
    m, k, n = 13, 21, 6
    p = make_problem(rng, m, k, dtype, spread=True)
    x, x64 = rand_dense(rng, (k, n), dtype)
    y1 = p.A @ x
    y2 = jsdl.spmm(p.A, x)
    assert_close(y1, reference(p.W64, x64), dtype, what="A @ x")
    np.testing.assert_array_equal(f64(y1), f64(y2))
    z, z64 = rand_dense(rng, (m, 3), dtype)
    yt = p.A.T @ z
    assert yt.shape == (k, 3)
    assert_close(yt, p.W64.T @ z64, dtype, what="A.T @ z")


def test_spmm_jit(rng):
    m, k, n = 11, 17, 5
    dt = jnp.float32
    p = make_problem(rng, m, k, dt, batch=(2,), empty_rows=3)
    x, x64 = rand_dense(rng, (k, n), dt)
    bias, b64 = rand_dense(rng, (m,), dt)
    f = jax.jit(lambda A, x, b: jsdl.spmm(A, x, bias=b, relu=True))
    y = f(p.A, x, bias)
    assert_close(y, reference(p.W64, x64, b64, True), dt)
    # a transposed (non-row-major) operand produced inside the computation
    xt = jnp.asarray(x64.T, dt)
    g = jax.jit(lambda A, xt: jsdl.spmm(A, xt.T) * 2.0)
    assert_close(g(p.A, xt), 2.0 * reference(p.W64, x64), dt)
    # the same jitted function with new values of the same pattern
    v2 = jnp.asarray(np.asarray(p.A.values) * -3.0)
    y2 = f(p.A.with_values(v2), x, bias)
    assert_close(y2, reference(-3.0 * p.W64, x64, b64, True), dt)


def test_spmm_nnz_zero(rng, dtype):
    m, k, n = 5, 7, 3
    p = make_problem(rng, m, k, dtype, nnz_zero=True)
    assert p.A.nnz == 0
    x, _ = rand_dense(rng, (k, n), dtype)
    y = jsdl.spmm(p.A, x)
    assert y.shape == (m, n) and y.dtype == dtype
    assert np.all(f64(y) == 0)
    bias, b64 = rand_dense(rng, (m,), dtype)
    y = jsdl.spmm(p.A, x, bias=bias, relu=True)
    np.testing.assert_array_equal(f64(y), np.broadcast_to(np.maximum(b64, 0)[:, None], (m, n)))


@pytest.mark.parametrize("case", ["n0", "batch0", "m0"])
def test_spmm_empty_sizes(rng, case):
    dt = jnp.float32
    if case == "m0":
        m, k, n = 0, 5, 3
        A = jsdl.CSR.from_parts(jnp.zeros((0,), dt), np.zeros(1, np.int32), np.zeros(0, np.int32), (0, k))
        x, _ = rand_dense(rng, (k, n), dt)
        y = jsdl.spmm(A, x)
        assert y.shape == (0, n)
        return
    m, k = 6, 5
    p = make_problem(rng, m, k, dt)
    if case == "n0":
        x = jnp.zeros((k, 0), dt)
        assert jsdl.spmm(p.A, x).shape == (m, 0)
    else:
        x = jnp.zeros((0, k, 4), dt)
        assert jsdl.spmm(p.A, x).shape == (0, m, 4)
    # the operation still works for the non-empty case with the same pattern
    x, x64 = rand_dense(rng, (k, 4), dt)
    assert_close(jsdl.spmm(p.A, x), p.W64 @ x64, dt)


def test_spmm_accumulates_16bit_in_f32(rng):
    """bf16 inputs whose running sums get large and then cancel: a bf16 accumulator
    loses whole units (spacing 64 at 8000), a float32 one is exact here."""
    m, k, n = 4, 257, 3
    dt = jnp.bfloat16
    indptr = np.arange(m + 1, dtype=np.int32) * k
    indices = np.tile(np.arange(k, dtype=np.int32), m)
    row = np.where(np.arange(k) < k // 2, 1.0, -1.0)
    row[0] = 0.5
    v64 = np.tile(row, m)
    A = jsdl.CSR.from_parts(jnp.asarray(v64, dt), indptr, indices, (m, k))
    x64 = 64.0 + 0.5 * rng.integers(0, 8, (k, n))  # exactly representable in bf16
    x = jnp.asarray(x64, dt)
    assert np.array_equal(f64(x), x64)
    W = np.tile(row, (m, 1))
    ref = W @ x64
    assert np.all(np.abs(ref) > 1)
    assert_close(jsdl.spmm(A, x), ref, dt, what="bf16 cancellation")


@pytest.mark.parametrize("dtype_name,vb,xb", [("float32", (), ()), ("bfloat16", (2, 1), (3,))])
def test_spmm_huge_shape_few_entries(rng, dtype_name, vb, xb):
    """m * k far beyond what a dense formulation should materialise (72M), only a few hundred
    entries, some in the last row and column; also the gradients (transposed pattern)."""
    dt = jnp.dtype(dtype_name)
    m, k, n = 9001, 8011, 5
    indptr, indices = scattered_pattern(rng, m, k)
    nnz = indices.shape[0]
    vals, v64 = rand_values(rng, vb + (nnz,), dt)
    A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
    x, x64 = rand_dense(rng, xb + (k, n), dt)
    y = jsdl.spmm(A, x)
    ob = np.broadcast_shapes(vb, xb)
    assert y.shape == ob + (m, n)
    erow = np.repeat(np.arange(m), np.diff(indptr))
    ref = np.zeros(ob + (m, n))
    np.add.at(ref, (..., erow, slice(None)),
              np.broadcast_to(v64[..., :, None] * x64[..., indices, :], ob + (nnz, n)))
    assert_close(y, ref, dt, what="huge spmm")

    if dt == jnp.float32:
        ct, ct64 = rand_dense(rng, (m, n), dt)
        gv, gx = jax.jit(jax.grad(lambda v, x: jnp.sum(jsdl.spmm(A.with_values(v), x) * ct),
                                  argnums=(0, 1)))(vals, x)
        gv_ref = np.einsum("jn,jn->j", ct64[erow], x64[indices])
        gx_ref = np.zeros((k, n))
        np.add.at(gx_ref, indices, v64[:, None] * ct64[erow])
        assert_close(gv, gv_ref, dt, what="d values")
        assert_close(gx, gx_ref, dt, what="d x")
