"""Trace-time errors: shape problems raise ValueError, dtype problems TypeError, naming operands."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from conftest import make_problem, rand_dense

F32 = jnp.float32
M, K, N, D = 5, 6, 3, 4


def names(*words):
    """Regex requiring every word (as a whole word) somewhere in the message."""
    return "(?s)" + "".join(rf"(?=.*\b{w}\b)" for w in words)


@pytest.fixture
def prob(rng):
    return make_problem(rng, M, K, F32, empty_rows=1)


def call(f, mode, *args):
    """Run f eagerly, under jit, or only abstractly (eval_shape): all must raise at trace time."""
    if mode == "eager":
        return f(*args)
    if mode == "jit":
        return jax.jit(f)(*args)
    return jax.eval_shape(f, *args)


MODES = ["eager", "jit", "eval_shape"]


# ----------------------------------------------------------------------------- spmm

@pytest.mark.parametrize("mode", MODES)
def test_spmm_k_mismatch(rng, prob, mode):
    x = rand_dense(rng, (K + 3, N), F32)[0]
    with pytest.raises(ValueError, match=names("x", "A")) as info:
        call(jsdl.spmm, mode, prob.A, x)
    msg = str(info.value)
    assert str(K + 3) in msg and str(K) in msg, msg


def test_spmm_k_mismatch_matmul_operator(rng, prob):
    x = rand_dense(rng, (K - 1, N), F32)[0]
    with pytest.raises(ValueError, match=names("x", "A")):
        prob.A @ x


@pytest.mark.parametrize("mode", MODES)
def test_spmm_batch_not_broadcastable(rng, mode):
    p = make_problem(rng, M, K, F32, batch=(2,))
    x = rand_dense(rng, (3, K, N), F32)[0]
    with pytest.raises(ValueError, match=r"(?i)batch|broadcast"):
        call(jsdl.spmm, mode, p.A, x)


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_spmm_x_rank(rng, prob, mode):
    x = rand_dense(rng, (K,), F32)[0]
    with pytest.raises(ValueError, match=r"\bx\b"):
        call(jsdl.spmm, mode, prob.A, x)


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("xdtype", ["float16", "bfloat16"])
def test_spmm_dtype_mismatch(rng, prob, mode, xdtype):
    x = rand_dense(rng, (K, N), jnp.dtype(xdtype))[0]
    with pytest.raises(TypeError, match=r"(?i)dtype|float|bfloat"):
        call(jsdl.spmm, mode, prob.A, x)


def test_spmm_integer_values(rng, prob):
    x = jnp.ones((K, N), jnp.int32)
    with pytest.raises(TypeError):
        A = prob.A.with_values(jnp.arange(prob.nnz, dtype=jnp.int32))
        jsdl.spmm(A, x)
    # an integer x with float values is also a dtype error
    with pytest.raises(TypeError):
        jsdl.spmm(prob.A, x)


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("bshape", [(M + 1,), (M - 1,), (3, M)])
def test_spmm_bias_shape(rng, prob, mode, bshape):
    x = rand_dense(rng, (2, K, N), F32)[0]
    bias = rand_dense(rng, bshape, F32)[0]
    with pytest.raises(ValueError, match=r"(?i)bias"):
        call(lambda A, x, b: jsdl.spmm(A, x, bias=b), mode, prob.A, x, bias)


def test_spmm_bias_dtype(rng, prob):
    x = rand_dense(rng, (K, N), F32)[0]
    bias = rand_dense(rng, (M,), jnp.float16)[0]
    with pytest.raises(TypeError, match=r"(?i)bias|dtype"):
        jsdl.spmm(prob.A, x, bias=bias)


# ----------------------------------------------------------------------------- sddmm

@pytest.mark.parametrize("mode", MODES)
def test_sddmm_d_mismatch(rng, prob, mode):
    q = rand_dense(rng, (M, D), F32)[0]
    km = rand_dense(rng, (K, D + 1), F32)[0]
    with pytest.raises(ValueError, match=r"(?i)\bq\b|kmat|\bd\b|lhs|rhs"):
        call(lambda q, km, A: jsdl.sddmm(q, km, A).values, mode, q, km, prob.A)


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_sddmm_wrong_m(rng, prob, mode):
    q = rand_dense(rng, (M + 2, D), F32)[0]
    km = rand_dense(rng, (K, D), F32)[0]
    with pytest.raises(ValueError, match=r"(?s)(\bq\b|lhs).*\bA\b|\bA\b.*(\bq\b|lhs)"):
        call(lambda q, km, A: jsdl.sddmm(q, km, A).values, mode, q, km, prob.A)


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_sddmm_wrong_k(rng, prob, mode):
    q = rand_dense(rng, (M, D), F32)[0]
    km = rand_dense(rng, (K - 1, D), F32)[0]
    with pytest.raises(ValueError, match=r"(?s)(kmat|\bk\b|rhs).*\bA\b|\bA\b.*(kmat|\bk\b|rhs)"):
        call(lambda q, km, A: jsdl.sddmm(q, km, A).values, mode, q, km, prob.A)


def test_sddmm_batch_not_broadcastable(rng, prob):
    q = rand_dense(rng, (2, M, D), F32)[0]
    km = rand_dense(rng, (3, K, D), F32)[0]
    with pytest.raises(ValueError, match=r"(?i)batch|broadcast"):
        jsdl.sddmm(q, km, prob.A)


def test_sddmm_rank_and_dtype(rng, prob):
    q = rand_dense(rng, (M, D), F32)[0]
    km = rand_dense(rng, (K, D), F32)[0]
    with pytest.raises(ValueError):
        jsdl.sddmm(q[0], km, prob.A)
    with pytest.raises(TypeError, match=r"(?i)dtype|float"):
        jsdl.sddmm(q, km.astype(jnp.bfloat16), prob.A)
    with pytest.raises(TypeError):
        jsdl.sddmm(q.astype(jnp.int32), km.astype(jnp.int32), prob.A)


# ----------------------------------------------------------------------------- csr_softmax / CSR

@pytest.mark.parametrize("bad", ["dense", "numpy", "list"])
def test_softmax_wrong_input_type(rng, prob, bad):
    arg = {"dense": prob.A.todense(), "numpy": np.asarray(prob.A.todense()), "list": [1.0, 2.0]}[bad]
    with pytest.raises(TypeError, match=r"CSR"):
        jsdl.csr_softmax(arg)


def test_softmax_integer_values(prob):
    with pytest.raises(TypeError):
        jsdl.csr_softmax(prob.A.with_values(jnp.ones(prob.nnz, jnp.int32)))


def test_with_values_wrong_nnz(prob):
    with pytest.raises(ValueError, match=r"(?i)nnz|values|entries"):
        prob.A.with_values(jnp.ones(prob.nnz + 1, F32))


def test_spmm_requires_csr(rng, prob):
    x = rand_dense(rng, (K, N), F32)[0]
    with pytest.raises(TypeError, match=r"CSR"):
        jsdl.spmm(prob.A.todense(), x)
