"""The primitives under jax.shard_map (data parallel): results vary over the mesh axis their
operands vary over, and gradients w.r.t. replicated operands are summed over it."""
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec as P

import jax_sparse_dl as jsdl

BATCH = 4


def _problem():
  keys = jax.random.split(jax.random.key(7), 4)
  A = jsdl.random_csr(keys[0], (37, 29), 0.7)
  x = jax.random.normal(keys[1], (BATCH, 29, 6))
  q = jax.random.normal(keys[2], (BATCH, 37, 5))
  kmat = jax.random.normal(keys[3], (BATCH, 29, 5))
  return A, x, q, kmat


def _loss(values, bias, x, q, kmat, A):
  # HIGHEST: a shard's half batch may take other kernels than the whole (TF32 tiles on a GPU).
  scores = jsdl.sddmm(q, kmat, A, precision="highest")  # (BATCH, nnz): varies with q
  probs = jsdl.csr_softmax(scores)
  out = jsdl.spmm(probs, x, bias=bias, relu=True, precision="highest")
  return jnp.sum(out ** 2) + jnp.sum(jsdl.spmm(A.with_values(values), x, precision="highest") ** 2)


def _sharded_grads(mesh, A, check_vma=True):
  """Grads of _loss with the batch split over the mesh's axis "d" and values, bias replicated:
  shard_map's types make the replicated operands' gradients sums over the axis already (without
  check_vma the caller sums them)."""
  def local(values, bias, x, q, kmat):
    grads = jax.grad(_loss, argnums=(0, 1, 2, 3, 4))(values, bias, x, q, kmat, A)
    if check_vma:
      return grads
    return (jax.lax.psum(grads[0], "d"), jax.lax.psum(grads[1], "d")) + grads[2:]
  specs = (P(), P(), P("d"), P("d"), P("d"))
  return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=specs,
                               check_vma=check_vma))


def _mesh(devices):
  return Mesh(np.array(devices), ("d",))


def test_gradients_under_shard_map_match_unsharded():
  # Before the primitives kept shard_map's varying-axes type, this grad raised "Expected
  # cotangent type float32[...]{V:d} but got float32[...]".
  A, x, q, kmat = _problem()
  bias = jnp.linspace(-1.0, 1.0, A.shape[0])
  args = (A.values, bias, x, q, kmat)
  got = _sharded_grads(_mesh(jax.devices()[:1]), A)(*args)
  want = jax.jit(jax.grad(_loss, argnums=(0, 1, 2, 3, 4)))(*args, A)
  for g, w in zip(got, want):
    np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("op", ["spmm", "sddmm", "csr_softmax", "vmapped spmm"])
def test_results_vary_over_the_axis_their_operands_vary_over(op):
  # An output spec that claims a varying result is replicated (P()) must fail shard_map's check;
  # with the result typed invariant it went through silently, returning one shard's value.
  A, x, q, kmat = _problem()
  fns = {
      "spmm": lambda x, q: jsdl.spmm(A, x),
      "sddmm": lambda x, q: jsdl.sddmm(q, kmat, A).values,
      "csr_softmax": lambda x, q: jsdl.csr_softmax(A.with_values(A.values * q[0, 0, 0])).values,
      "vmapped spmm": lambda x, q: jax.vmap(lambda x: jsdl.spmm(A, x))(x),
  }
  mesh = _mesh(jax.devices()[:1])
  fn = fns[op]
  sharded = jax.jit(jax.shard_map(fn, mesh=mesh, in_specs=(P("d"), P("d")), out_specs=P("d")))
  np.testing.assert_allclose(np.asarray(sharded(x, q)), np.asarray(fn(x, q)), rtol=1e-6,
                             atol=1e-6)
  with pytest.raises(Exception, match="(?i)vary|varying|replicat"):
    jax.jit(jax.shard_map(fn, mesh=mesh, in_specs=(P("d"), P("d")), out_specs=P()))(x, q)


def test_data_parallel_over_two_cpu_devices(tmp_path):
  """Two host CPU devices (a fresh process: the device count is fixed at JAX's start): each
  computes its half of the batch, and the replicated values' gradient is the sum of both, with
  shard_map's check_vma and without it; plain jit on batch-sharded operands is right too."""
  script = textwrap.dedent("""
      import jax, numpy as np
      import test_shard_map as t
      assert len(jax.devices()) == 2, jax.devices()
      A, x, q, kmat = t._problem()
      bias = jax.numpy.linspace(-1.0, 1.0, A.shape[0])
      args = (A.values, bias, x, q, kmat)
      want = jax.jit(jax.grad(t._loss, argnums=(0, 1, 2, 3, 4)))(*args, A)
      mesh = t._mesh(jax.devices())
      for check_vma in (True, False):
          got = t._sharded_grads(mesh, A, check_vma)(*args)
          for g, w in zip(got, want):
              np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-5)
      # Plain jit on batch-sharded operands (partitioned per device: test_partitioning.py).
      split = jax.sharding.NamedSharding(mesh, t.P("d"))
      sharded = [a if i < 2 else jax.device_put(a, split) for i, a in enumerate(args)]
      got = jax.jit(jax.grad(t._loss, argnums=(0, 1, 2, 3, 4)))(*sharded, A)
      for g, w in zip(got, want):
          np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-5)
      print("ok")
  """)
  flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
  env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=flags,
             PYTHONPATH=os.pathsep.join([os.path.dirname(__file__), *sys.path]))
  # cwd: not the repository root, whose source tree (no compiled module) `python -c` would import.
  done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True,
                        text=True, timeout=600)
  assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
