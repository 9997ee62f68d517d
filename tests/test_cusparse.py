"""The optional cuSPARSE binding (jax_sparse_dl.cusparse): argument checks and the CUDA lowering
on any machine; results against float64 numpy references on a GPU where the module is built."""
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
import test_lowering
from conftest import assert_close, make_problem, rand_dense
from jax_sparse_dl import cusparse
from jax_sparse_dl.timing import time_per_call

TARGETS = ("jsdl_cusparse_spmm", "jsdl_cusparse_sddmm")


def gpu_test(test):
  """A gpu-marked test, skipped unless JAX runs on a GPU and the cuSPARSE module is available."""
  skip = pytest.mark.skipif(not (jax.default_backend() == "gpu" and cusparse.available()),
                            reason="needs a GPU backend and the optional cuSPARSE module")
  return pytest.mark.gpu(skip(test))


@pytest.fixture
def small():
  A = jsdl.random_csr(jax.random.key(0), (9, 6), 0.5)
  x = jax.random.normal(jax.random.key(1), (6, 5))
  q = jax.random.normal(jax.random.key(2), (9, 4))
  k = jax.random.normal(jax.random.key(3), (6, 4))
  return A, x, q, k


# ----------------------------------------------------------------------------- any machine

def test_argument_errors(small):
  A, x, q, k = small
  batched = jsdl.random_csr(jax.random.key(4), (9, 6), 0.5, batch_shape=(2,))
  with pytest.raises(TypeError, match="must be a jax_sparse_dl.CSR"):
    cusparse.spmm(A.todense(), x)
  with pytest.raises(ValueError, match="no batch dimensions"):
    cusparse.spmm(batched, x)
  with pytest.raises(ValueError, match="alg must be one of"):
    cusparse.spmm(A, x, alg="alg4")
  with pytest.raises(ValueError, match=r"shape \(k, n\)"):
    cusparse.spmm(A, x[None])
  with pytest.raises(ValueError, match="7 rows but a has 6 columns"):
    cusparse.spmm(A, jnp.ones((7, 5)))
  with pytest.raises(TypeError, match="share one dtype"):
    cusparse.spmm(A, x.astype(jnp.bfloat16))
  with pytest.raises(TypeError, match="only with alg 'default' or 'alg3'"):
    cusparse.spmm(A.with_values(A.values.astype(jnp.bfloat16)), x.astype(jnp.bfloat16), "alg2")
  with pytest.raises(ValueError, match="no batch dimensions"):
    cusparse.sddmm(q, k, batched)
  with pytest.raises(ValueError, match="do not fit a"):
    cusparse.sddmm(q, k[:5], A)
  with pytest.raises(ValueError, match="do not fit a"):
    cusparse.sddmm(q, k[:, :3], A)
  with pytest.raises(ValueError, match=r"shapes \(m, d\) and \(n, d\)"):
    cusparse.sddmm(q[None], k, A)
  with pytest.raises(TypeError, match="must be float32"):
    cusparse.sddmm(q.astype(jnp.float16), k.astype(jnp.float16), A)


def test_without_the_module(monkeypatch, small):
  A, x, q, k = small
  monkeypatch.setattr(cusparse, "_jsdl_cusparse", None)
  assert not cusparse.available()
  with pytest.raises(RuntimeError, match="JSDL_CUSPARSE=ON"):
    cusparse.spmm(A, x)
  with pytest.raises(RuntimeError, match="JSDL_CUSPARSE=ON"):
    cusparse.sddmm(q, k, A)


@pytest.fixture
def cuda_export(monkeypatch):
  """test_lowering.cuda_custom_calls, allowed to export these targets without the module."""
  monkeypatch.setattr(cusparse, "available", lambda: True)
  monkeypatch.setattr(test_lowering, "TARGETS", test_lowering.TARGETS + TARGETS)
  return test_lowering.cuda_custom_calls


@pytest.mark.parametrize("alg", cusparse.ALGORITHMS)
def test_spmm_lowers_to_its_target(cuda_export, small, alg):
  A, x, _, _ = small
  calls = cuda_export(lambda A, x: cusparse.spmm(A, x, alg=alg), A, x)
  assert [(t, n) for t, n, _ in calls] == [("jsdl_cusparse_spmm", 4)]
  assert re.search(rf"alg = {cusparse.ALGORITHMS.index(alg)} : i32", calls[0][2]), calls[0][2]


def test_sddmm_lowers_to_its_target(cuda_export, small):
  A, _, q, k = small
  calls = cuda_export(lambda q, k: cusparse.sddmm(q, k, A), q, k)
  assert [(t, n) for t, n, _ in calls] == [("jsdl_cusparse_sddmm", 4)]


@pytest.mark.skipif(os.environ.get("JSDL_REQUIRE_CUSPARSE_MODULE") != "1",
                    reason="set JSDL_REQUIRE_CUSPARSE_MODULE=1 where the cuSPARSE module must be built")
def test_module_built_and_registered():
  assert cusparse.available()
  assert set(cusparse._jsdl_cusparse.registrations()) == set(TARGETS)


# ----------------------------------------------------------------------------- GPU

def spmm_jit(alg):
  return jax.jit(lambda A, x: cusparse.spmm(A, x, alg=alg))


@gpu_test
@pytest.mark.parametrize("alg", cusparse.ALGORITHMS)
@pytest.mark.parametrize("m,k,n", [(37, 53, 19), (64, 48, 1), (5, 130, 67)])
@pytest.mark.parametrize("pattern", [{"empty_rows": 3}, {"spread": True}])
def test_spmm_matches_reference(rng, alg, m, k, n, pattern):
  p = make_problem(rng, m, k, jnp.float32, **pattern)
  x, x64 = rand_dense(rng, (k, n), jnp.float32)
  assert_close(spmm_jit(alg)(p.A, x), p.W64 @ x64, jnp.float32, what=f"spmm {alg}")


@gpu_test
@pytest.mark.parametrize("alg", ["default", "alg3"])
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_spmm_16bit(rng, alg, dtype):
  p = make_problem(rng, 41, 33, dtype, empty_rows=2)
  x, x64 = rand_dense(rng, (33, 24), dtype)
  assert_close(spmm_jit(alg)(p.A, x), p.W64 @ x64, dtype, what=f"spmm {alg} {dtype}")


@gpu_test
@pytest.mark.parametrize("alg", cusparse.ALGORITHMS)
def test_spmm_empty(rng, alg):
  none = make_problem(rng, 7, 9, jnp.float32, nnz_zero=True)
  x = rand_dense(rng, (9, 5), jnp.float32)[0]
  np.testing.assert_array_equal(np.asarray(spmm_jit(alg)(none.A, x)), np.zeros((7, 5)))
  p = make_problem(rng, 7, 9, jnp.float32)
  assert spmm_jit(alg)(p.A, x[:, :0]).shape == (7, 0)
  no_rows = make_problem(rng, 0, 9, jnp.float32)
  assert spmm_jit(alg)(no_rows.A, x).shape == (0, 5)


def sddmm_reference(p, l64, r64):
  return (l64 @ r64.T)[p.rows, p.indices]


@gpu_test
@pytest.mark.parametrize("m,n,d", [(37, 29, 13), (64, 48, 1), (5, 130, 67)])
@pytest.mark.parametrize("pattern", [{"empty_rows": 3}, {"spread": True}])
def test_sddmm_matches_reference(rng, m, n, d, pattern):
  p = make_problem(rng, m, n, jnp.float32, **pattern)
  lhs, l64 = rand_dense(rng, (m, d), jnp.float32)
  rhs, r64 = rand_dense(rng, (n, d), jnp.float32)
  out = jax.jit(lambda l, r, A: cusparse.sddmm(l, r, A))(lhs, rhs, p.A)
  assert_close(out, sddmm_reference(p, l64, r64), jnp.float32, what="sddmm")


@gpu_test
def test_sddmm_empty(rng):
  sddmm = jax.jit(lambda l, r, A: cusparse.sddmm(l, r, A))
  none = make_problem(rng, 7, 9, jnp.float32, nnz_zero=True)
  lhs, rhs = rand_dense(rng, (7, 4), jnp.float32)[0], rand_dense(rng, (9, 4), jnp.float32)[0]
  assert sddmm(lhs, rhs, none.A).shape == (0,)
  p = make_problem(rng, 7, 9, jnp.float32)
  out = sddmm(lhs[:, :0], rhs[:, :0], p.A)  # d = 0: empty dot products
  np.testing.assert_array_equal(np.asarray(out), np.zeros(p.nnz))


@gpu_test
def test_timed_in_a_jitted_loop(rng):
  # The benchmark's use: many calls in one jitted loop (each with its own workspace).
  p = make_problem(rng, 96, 80, jnp.float32, empty_rows=4)
  x, x64 = rand_dense(rng, (80, 32), jnp.float32)
  lhs, l64 = rand_dense(rng, (96, 16), jnp.float32)
  rhs, r64 = rand_dense(rng, (80, 16), jnp.float32)
  for alg in cusparse.ALGORITHMS:
    r = time_per_call(lambda A, x: cusparse.spmm(A, x, alg=alg), p.A, x, calls=5, repeats=2,
                      warmup=1)
    assert r.calls == 5 and r.median_s > 0
  r = time_per_call(cusparse.sddmm, lhs, rhs, p.A, calls=5, repeats=2, warmup=1)
  assert r.median_s > 0
  # and still correct after many calls on the same handle
  assert_close(spmm_jit("alg3")(p.A, x), p.W64 @ x64, jnp.float32)
  assert_close(cusparse.sddmm(lhs, rhs, p.A), sddmm_reference(p, l64, r64), jnp.float32)
