"""The pure-JAX lowering (the CPU's without its module, or with JSDL_CPU_KERNELS=0; any platform
without a native module) has two formulations: a dense product for small operands and a
gather/scatter one for large patterns. Force the second and check it against float64 numpy."""
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from jax_sparse_dl import lowering

# (jax_sparse_dl.spmm is also the name of the function the package exports)
spmm_module = importlib.import_module("jax_sparse_dl.spmm")
sddmm_module = importlib.import_module("jax_sparse_dl.sddmm")

pytestmark = pytest.mark.skipif(jsdl.has_cuda_kernels() and jax.default_backend() == "gpu",
                                reason="the GPU lowers to the CUDA kernels, not the reference")


@pytest.fixture
def gather_path(monkeypatch):
  monkeypatch.setattr(spmm_module, "DENSE_REFERENCE_LIMIT", 0)
  monkeypatch.setattr(sddmm_module, "DENSE_REFERENCE_LIMIT", 0)
  monkeypatch.setattr(lowering, "cpu_kernels", False)
  jax.clear_caches()  # lowerings are cached per shape: recompile with the patched limit
  yield
  jax.clear_caches()


@pytest.mark.parametrize("dtype,tol", [(jnp.float32, 1e-5), (jnp.bfloat16, 2e-2)])
def test_gather_scatter_formulation(gather_path, dtype, tol):
  rng = np.random.default_rng(11)
  m, k, n, d = 37, 23, 9, 5
  mask = rng.random((m, k)) < 0.3
  mask[::4] = False  # empty rows
  w = np.where(mask, rng.standard_normal((m, k)), 0.0)
  A = jsdl.CSR.fromdense(jnp.asarray(w, dtype))
  vals = jnp.asarray(rng.standard_normal((2, 1, A.nnz)), dtype)
  x = jnp.asarray(rng.standard_normal((3, k, n)), dtype)
  bias = jnp.asarray(rng.standard_normal((m,)), dtype)
  f64 = lambda a: np.asarray(jnp.asarray(a, jnp.float32), np.float64)
  dense_w = f64(A.with_values(vals).todense())

  y = jax.jit(lambda A, x, b: jsdl.spmm(A, x, bias=b, relu=True))(A.with_values(vals), x, bias)
  ref = np.maximum(dense_w @ f64(x) + f64(bias)[:, None], 0)
  assert y.dtype == dtype and y.shape == (2, 3, m, n)
  assert np.linalg.norm(f64(y) - ref) <= tol * np.linalg.norm(ref)

  q = jnp.asarray(rng.standard_normal((m, d)), dtype)
  kk = jnp.asarray(rng.standard_normal((2, k, d)), dtype)
  s = jax.jit(lambda q, kk: jsdl.sddmm(q, kk, A).todense())(q, kk)
  ref_s = (f64(q) @ np.swapaxes(f64(kk), -1, -2)) * mask
  assert s.dtype == dtype and s.shape == (2, m, k)
  assert np.linalg.norm(f64(s) - ref_s) <= tol * np.linalg.norm(ref_s)
