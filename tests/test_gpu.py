"""CUDA-only checks: the ops lower to the FFI targets, larger problems, determinism, 64-bit indexing.

Skipped unless JAX runs on a GPU and the CUDA module is loaded."""

import gc
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

import jax_sparse_dl as jsdl
from conftest import assert_close, f64, rand_dense, random_pattern, rel_err, rounded, tol

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not (jax.default_backend() == "gpu" and jsdl.has_cuda_kernels()),
        reason="needs a GPU backend and the jax_sparse_dl CUDA module",
    ),
]


def custom_call_targets(hlo_text):
    return set(re.findall(r'custom_call_target="([^"]+)"', hlo_text))


def compiled_text(f, *args):
    return jax.jit(f).lower(*args).compile().as_text()


def random_problem(rng, m, k, sparsity, dtype, batch=()):
    pat = random_pattern(rng, m, k, 1 - sparsity)
    indptr = np.asarray(pat.indptr, dtype=np.int32)
    indices = np.asarray(pat.indices, dtype=np.int32)
    nnz = indices.shape[0]
    vals, v64 = rounded(rng.uniform(0.5, 1.5, batch + (nnz,)) * rng.choice([-1.0, 1.0], batch + (nnz,)), dtype)
    A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
    return A, v64, indptr, indices


def sp64(v64, indptr, indices, shape):
    return sp.csr_array((v64, indices, indptr), shape=shape)


# ----------------------------------------------------------------------------- lowering

def test_lowers_to_custom_calls(rng):
    dt = jnp.float32
    A, _, _, _ = random_problem(rng, 64, 48, 0.8, dt)
    x = rand_dense(rng, (48, 16), dt)[0]
    b = rand_dense(rng, (64,), dt)[0]
    q, km = rand_dense(rng, (64, 8), dt)[0], rand_dense(rng, (48, 8), dt)[0]

    t = custom_call_targets(compiled_text(lambda A, x: jsdl.spmm(A, x), A, x))
    assert "jsdl_spmm" in t, t
    t = custom_call_targets(compiled_text(lambda A, x, b: jsdl.spmm(A, x, bias=b, relu=True), A, x, b))
    assert "jsdl_spmm" in t, t
    t = custom_call_targets(compiled_text(lambda q, km, A: jsdl.sddmm(q, km, A).values, q, km, A))
    assert "jsdl_sddmm" in t, t
    t = custom_call_targets(compiled_text(lambda A: jsdl.csr_softmax(A).values, A))
    assert "jsdl_csr_softmax" in t, t

    def loss(v):
        return jnp.sum(jsdl.csr_softmax(A.with_values(v)).values ** 2)

    t = custom_call_targets(compiled_text(jax.grad(loss), A.values))
    assert {"jsdl_csr_softmax", "jsdl_csr_softmax_grad"} <= t, t

    def attn_loss(q, km, x):
        return jnp.sum(jsdl.spmm(jsdl.csr_softmax(jsdl.sddmm(q, km, A)), x))

    t = custom_call_targets(compiled_text(jax.grad(attn_loss, argnums=(0, 1, 2)), q, km, x))
    assert {"jsdl_spmm", "jsdl_sddmm", "jsdl_csr_softmax", "jsdl_csr_softmax_grad"} <= t, t


# ----------------------------------------------------------------------------- moderately big

@pytest.mark.parametrize("dtype_name", ["float32", "bfloat16"])
def test_big_problem(rng, dtype_name):
    dt = jnp.dtype(dtype_name)
    m = k = 2048
    n, d = 512, 64
    A, v64, indptr, indices = random_problem(rng, m, k, 0.9, dt)
    W = sp64(v64, indptr, indices, (m, k))
    x, x64 = rand_dense(rng, (k, n), dt)
    b, b64 = rand_dense(rng, (m,), dt)

    y = jsdl.spmm(A, x, bias=b, relu=True)
    assert_close(y, np.maximum(W @ x64 + b64[:, None], 0), dt, what="spmm")

    yt = jsdl.spmm(A.T, x)
    assert_close(yt, W.T @ x64, dt, what="spmm A.T")

    q, q64 = rand_dense(rng, (m, d), dt)
    km, k64 = rand_dense(rng, (k, d), dt)
    rows = np.repeat(np.arange(m), np.diff(indptr))
    s_ref = np.einsum("ij,ij->i", q64[rows], k64[indices])
    S = jsdl.sddmm(q, km, A)
    assert_close(S.values, s_ref, dt, what="sddmm")

    s_in, s64 = rounded(s_ref / 4, dt)
    P = jsdl.csr_softmax(A.with_values(s_in))
    mx = np.maximum.reduceat(s64, indptr[:-1][np.diff(indptr) > 0])
    lengths = np.diff(indptr)
    rmax = np.zeros(m)
    rmax[lengths > 0] = mx
    e = np.exp(s64 - rmax[rows])
    sums = np.bincount(rows, weights=e, minlength=m)
    assert_close(P.values, e / sums[rows], dt, what="softmax")

    # gradient of the dense operand: the transposed-pattern SpMM
    ct, ct64 = rand_dense(rng, (m, n), dt)
    gx = jax.grad(lambda x: jnp.sum(jsdl.spmm(A, x).astype(jnp.float32) * ct.astype(jnp.float32)))(x)
    assert_close(gx, W.T @ ct64, dt, factor=2.0, what="grad x")


def test_batched_big(rng):
    dt = jnp.float32
    m, k, n = 700, 900, 130
    A, v64, indptr, indices = random_problem(rng, m, k, 0.95, dt, batch=(2, 1))
    x, x64 = rand_dense(rng, (3, k, n), dt)
    b, b64 = rand_dense(rng, (3, m), dt)
    y = jsdl.spmm(A, x, bias=b)
    assert y.shape == (2, 3, m, n)
    ref = np.empty((2, 3, m, n))
    for i in range(2):
        W = sp64(v64[i, 0], indptr, indices, (m, k))
        for j in range(3):
            ref[i, j] = W @ x64[j] + b64[j][:, None]
    assert_close(y, ref, dt)


# ----------------------------------------------------------------------------- determinism

def test_repeated_calls_bitwise_identical(rng):
    dt = jnp.float32
    m = k = 1024
    n = 256
    A, _, _, _ = random_problem(rng, m, k, 0.9, dt)
    x = rand_dense(rng, (k, n), dt)[0]
    q, km = rand_dense(rng, (m, 64), dt)[0], rand_dense(rng, (k, 64), dt)[0]
    ct = rand_dense(rng, (m, n), dt)[0]

    fns = {
        "spmm": jax.jit(lambda v, x: jsdl.spmm(A.with_values(v), x)),
        "spmm_bias_relu": jax.jit(lambda v, x: jsdl.spmm(A.with_values(v), x, bias=ct[:, 0], relu=True)),
        "sddmm": jax.jit(lambda v, x: jsdl.sddmm(q, km, A).values),
        "softmax": jax.jit(lambda v, x: jsdl.csr_softmax(jsdl.sddmm(q, km, A)).values),
        "grad": jax.jit(jax.grad(lambda v, x: jnp.sum(jsdl.spmm(A.with_values(v), x) * ct), argnums=(0, 1))),
        "softmax_grad": jax.jit(jax.grad(lambda v, x: jnp.sum(jsdl.csr_softmax(A.with_values(v)).values ** 2))),
    }
    for name, f in fns.items():
        first = jax.tree_util.tree_map(np.asarray, f(A.values, x))
        for _ in range(5):
            again = jax.tree_util.tree_map(np.asarray, f(A.values, x))
            for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(again)):
                assert np.array_equal(a, b), f"{name}: results differ between identical calls"


# ----------------------------------------------------------------------------- 64-bit indexing

BIG_K, BIG_N = 66000, 33000  # BIG_K * BIG_N > 2**31


@pytest.fixture(scope="module")
def big_x():
    assert BIG_K * BIG_N > 2**31
    x = jax.random.uniform(jax.random.key(1234), (BIG_K, BIG_N), jnp.bfloat16, -1.0, 1.0)
    x.block_until_ready()
    yield x
    x.delete()
    del x
    gc.collect()


def _tail_pattern(rng, m, k):
    """Rows whose entries hit the last columns (col * n > 2**31) plus a few others."""
    rows = [
        [k - 1],
        [0, k // 2, k - 2, k - 1],
        [],
        sorted(set(rng.choice(np.arange(k - 900, k), 40, replace=False).tolist())),
        sorted(set(rng.choice(k, 60, replace=False).tolist()) | {k - 3}),
        [k - 7],
    ]
    rows = rows[:m]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int32)
    indices = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]).astype(np.int32)
    return indptr, indices


@pytest.mark.large
def test_spmm_64bit_indexing(rng, big_x):
    dt = jnp.bfloat16
    k, n = BIG_K, BIG_N
    m = 6
    indptr, indices = _tail_pattern(rng, m, k)
    vals, v64 = rounded(rng.uniform(0.5, 1.5, indices.shape[0]) * rng.choice([-1.0, 1.0], indices.shape[0]), dt)
    A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
    y = np.asarray(jsdl.spmm(A, big_x).astype(jnp.float32)).astype(np.float64)
    assert y.shape == (m, n)
    # reference from just the gathered rows of x
    ucols, inv = np.unique(indices, return_inverse=True)
    xr = f64(big_x[jnp.asarray(ucols)])
    ref = np.zeros((m, n))
    rows = np.repeat(np.arange(m), np.diff(indptr))
    np.add.at(ref, rows, v64[:, None] * xr[inv])
    assert rel_err(y, ref) <= tol(dt)
    assert rel_err(y[:, -100:], ref[:, -100:]) <= tol(dt)  # the last output columns
    assert np.all(y[2] == 0)
    for r in range(m):
        if indptr[r + 1] > indptr[r]:
            assert rel_err(y[r], ref[r]) <= tol(dt), f"row {r}"
    del y

    # the same memory seen as a batch of two (k/2, n) matrices: batch offset + col * n > 2**31
    half = k // 2
    A2 = jsdl.CSR.from_parts(vals[:1], np.array([0, 1], np.int32), np.array([half - 1], np.int32), (1, half))
    y2 = jax.jit(lambda A, x: jsdl.spmm(A, x.reshape(2, half, n)))(A2, big_x)
    assert y2.shape == (2, 1, n)
    xr2 = f64(big_x[jnp.asarray([half - 1, k - 1])])
    ref2 = v64[0] * xr2[:, None, :]
    assert rel_err(np.asarray(y2.astype(jnp.float32)), ref2) <= tol(dt)
    del y2


@pytest.mark.large
def test_sddmm_64bit_indexing(rng, big_x):
    dt = jnp.bfloat16
    k, d = BIG_K, BIG_N  # kmat = big_x has k * d > 2**31 elements
    m = 6
    indptr, indices = _tail_pattern(rng, m, k)
    A = jsdl.CSR.from_parts(jnp.zeros(indices.shape[0], dt), indptr, indices, (m, k))
    q, q64 = rand_dense(rng, (m, d), dt)
    S = jsdl.sddmm(q, big_x, A)
    out = f64(S.values)
    ucols, inv = np.unique(indices, return_inverse=True)
    kr = f64(big_x[jnp.asarray(ucols)])
    rows = np.repeat(np.arange(m), np.diff(indptr))
    ref = np.einsum("ij,ij->i", q64[rows], kr[inv])
    assert rel_err(out, ref) <= tol(dt)
    # entries in the last columns individually (relative to the row scale)
    tail = indices >= k - 900
    assert tail.sum() > 10
    scale = np.sqrt(np.mean(ref**2))
    assert np.max(np.abs(out[tail] - ref[tail])) <= 2 * tol(dt) * scale
