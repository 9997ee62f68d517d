"""The CUDA lowering, checked from any machine: export each op for the 'cuda' platform and read
the custom calls (target, operand count, attributes) that XLA would run on a GPU."""
import re

import jax
import jax.numpy as jnp
import pytest

import jax_sparse_dl as jsdl

TARGETS = ("jsdl_spmm", "jsdl_sddmm", "jsdl_csr_softmax", "jsdl_csr_softmax_grad")


def cuda_custom_calls(fn, *args):
  """[(target, operand count, attribute text)] of fn lowered for CUDA."""
  checks = [jax.export.DisabledSafetyCheck.custom_call(t) for t in TARGETS]
  exported = jax.export.export(jax.jit(fn), platforms=["cuda"], disabled_checks=checks)(*args)
  calls = re.findall(r"stablehlo\.custom_call @(\w+)\(([^)]*)\)([^\n]*)", exported.mlir_module())
  return [(name, len([a for a in operands.split(",") if a.strip()]), rest)
          for name, operands, rest in calls]


@pytest.fixture
def problem():
  A = jsdl.random_csr(jax.random.key(0), (9, 6), 0.5)
  x = jax.random.normal(jax.random.key(1), (2, 6, 5))
  q = jax.random.normal(jax.random.key(2), (9, 4))
  k = jax.random.normal(jax.random.key(3), (6, 4))
  return A, x, q, k


@pytest.mark.skipif(not jsdl.has_cuda_kernels(), reason="the CUDA module is not built")
def test_each_op_lowers_to_its_ffi_target(problem):
  A, x, q, k = problem
  spmm = cuda_custom_calls(lambda A, x: jsdl.spmm(A, x, bias=jnp.ones(9), relu=True), A, x)
  assert [(t, n) for t, n, _ in spmm] == [("jsdl_spmm", 9)]
  assert re.search(r"has_bias = true, relu = true", spmm[0][2])
  plain = cuda_custom_calls(lambda A, x: jsdl.spmm(A, x), A, x)
  assert re.search(r"has_bias = false, relu = false", plain[0][2])
  assert [(t, n) for t, n, _ in cuda_custom_calls(lambda q, k: jsdl.sddmm(q, k, A).values, q, k)
          ] == [("jsdl_sddmm", 8)]
  assert [(t, n) for t, n, _ in cuda_custom_calls(lambda A: jsdl.csr_softmax(A).values, A)
          ] == [("jsdl_csr_softmax", 3)]


@pytest.mark.skipif(not jsdl.has_cuda_kernels(), reason="the CUDA module is not built")
@pytest.mark.parametrize("precision, tf32", [("highest", "false"), ("default", "true"),
                                             ("high", "true"), (None, "false")])
def test_ops_pass_whether_tf32_is_allowed(problem, precision, tf32):
  """The kernels see the precision: TF32 tensor cores only below HIGHEST (None follows
  jax.default_matmul_precision, which the test suite sets to highest)."""
  A, x, q, k = problem
  calls = cuda_custom_calls(lambda q, k: jsdl.sddmm(q, k, A, precision=precision).values, q, k)
  assert re.search(rf"tf32 = {tf32}", calls[0][2]), calls[0][2]
  calls = cuda_custom_calls(lambda A, x: jsdl.spmm(A, x, precision=precision), A, x)
  assert re.search(rf"tf32 = {tf32}", calls[0][2]), calls[0][2]


def spmm_workspace_bytes(fn, *args):
  """The size of the SpMM call's work buffer: its second result, (bytes,) uint8."""
  (call,) = cuda_custom_calls(fn, *args)
  return int(re.search(r"-> \(tensor<[^>]*>, tensor<(\d+)xui8>\)", call[2]).group(1))


@pytest.mark.skipif(not jsdl.has_cuda_kernels(), reason="the CUDA module is not built")
@pytest.mark.parametrize("precision, words", [("highest", 2), ("default", 1)])
def test_spmm_gives_the_wgmma_tile_its_workspace(precision, words):
  """The SpMM call's second output is the wgmma tile's work buffer: A's 64 x 64 tiles densified
  (3 x 2 tiles of 130 x 70; float32 at HIGHEST each with its TF32 residues, 16-bit ones half a
  float32 tile at any precision), per values batch item; empty where the tile cannot run (rows of
  n not a multiple of 16 bytes, under 4% dense)."""
  A = jsdl.random_csr(jax.random.key(0), (130, 70), 0.5)
  x = jnp.ones((70, 8), jnp.float32)
  tiles = 3 * 2 * 64 * 64 * 4 * words
  spmm = lambda A, x: jsdl.spmm(A, x, precision=precision)
  assert spmm_workspace_bytes(spmm, A, x) == tiles
  values = jnp.stack([A.values] * 3)
  batched = jax.vmap(lambda v, x: spmm(A.with_values(v), x), in_axes=(0, None))
  assert spmm_workspace_bytes(batched, values, x) == 3 * tiles
  assert spmm_workspace_bytes(spmm, A, jnp.ones((70, 6), jnp.float32)) == 0
  for dtype in (jnp.bfloat16, jnp.float16):
    A16 = A.with_values(A.values.astype(dtype))
    assert spmm_workspace_bytes(spmm, A16, x.astype(dtype)) == tiles // words // 2
    assert spmm_workspace_bytes(spmm, A16, jnp.ones((70, 12), dtype)) == 0
  sparse = jsdl.random_csr(jax.random.key(1), (130, 70), 0.97)
  assert spmm_workspace_bytes(spmm, sparse, x) == 0
  # DLMC's 95% patterns sit just under 5% dense; the tile gains there (WGMMA_MIN_DENSITY).
  at_95 = jsdl.random_csr(jax.random.key(1), (130, 70), 0.955)
  assert at_95.nnz < 0.05 * 130 * 70 and spmm_workspace_bytes(spmm, at_95, x) == tiles


@pytest.mark.skipif(not jsdl.has_cuda_kernels(), reason="the CUDA module is not built")
def test_backward_and_vmap_stay_on_the_kernels(problem):
  A, x, q, k = problem

  def attention_loss(q, k, x):
    p = jsdl.csr_softmax(jsdl.sddmm(q, k, A))
    return jnp.sum(jsdl.spmm(p, x) ** 2)

  grad_calls = cuda_custom_calls(jax.grad(attention_loss, (0, 1, 2)), q, k, x)
  targets = {t for t, _, _ in grad_calls}
  assert targets == set(TARGETS)  # the softmax backward runs its own kernel
  vmapped = cuda_custom_calls(jax.vmap(lambda x: jsdl.spmm(A, x)), jnp.stack([x, x]))
  assert [t for t, _, _ in vmapped] == ["jsdl_spmm"]  # one launch for the whole batch


@pytest.mark.skipif(jsdl.has_cuda_kernels(), reason="the CUDA module is built")
def test_gpu_without_the_module_warns_and_stays_correct(problem):
  A, x, _, _ = problem
  with pytest.warns(RuntimeWarning, match="without its CUDA module"):
    calls = cuda_custom_calls(lambda A, x: jsdl.spmm(A, x), A, x)
  assert not [t for t, _, _ in calls if t.startswith("jsdl_")]
