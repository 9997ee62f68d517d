"""The primitives under plain jax.jit with sharded operands (partitioning.py): each device runs the
kernel on its shard of the batch (and of SpMM's columns; SDDMM's d with a psum), with no gather,
and the results and gradients equal the unsharded ones. In a fresh process each (the device
count is fixed when JAX starts): on four host CPU devices, or, where the tests run on a machine of
two or four GPUs (JAX_PLATFORMS=cuda), on those."""
import os
import subprocess
import sys
import textwrap

import jax
import pytest

import jax_sparse_dl as jsdl

ON_GPUS = jax.default_backend() == "gpu" and len(jax.devices()) in (2, 4)
pytestmark = pytest.mark.skipif(
    not (jsdl.has_cuda_kernels() if ON_GPUS else jsdl.has_cpu_kernels()),
    reason="the native module's custom calls are what gets partitioned")

# Run in the child process: helpers, then the case's body.
_PRELUDE = """
import re
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import jax_sparse_dl as jsdl
D = len(jax.devices())  # 2 or 4
assert D in (2, 4), jax.devices()
assert (jsdl.has_cuda_kernels() if jax.default_backend() == "gpu" else jsdl.has_cpu_kernels()), \
    jsdl.__file__  # the native module's custom calls are what the cases look for
keys = iter(jax.random.split(jax.random.key(11), 16))
A = jsdl.random_csr(next(keys), (40, 24), 0.7)

def normal(*shape):
    return jax.random.normal(next(keys), shape, jnp.float32)

def put(a, mesh, *spec):
    return jax.device_put(a, NamedSharding(mesh, P(*spec)))

def call_shapes(fn, *args):
    '''The result shape of every jsdl custom call in fn's compiled module, by target.'''
    text = jax.jit(fn).lower(*args).compile().as_text()
    found = re.findall(r"= \\(?\\w+\\[([\\d,]*)\\][^=]*custom-call\\(.*custom_call_target=\\"(jsdl_\\w+)\\"", text)
    assert found, text
    shapes = {}
    for dims, target in found:
        shapes.setdefault(target, []).append(tuple(int(d) for d in dims.split(",") if d))
    return shapes, text

def check(got, want, tol=2e-5):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64),
                               rtol=tol, atol=tol)

mesh = Mesh(np.array(jax.devices()), ("d",))
mesh2 = Mesh(np.array(jax.devices()).reshape(2, D // 2), ("a", "b"))
"""

CASES = {
    # x's batch split over the devices: each device multiplies two batch items.
    "spmm batch": """
x = normal(2 * D, 24, 6)
fn = lambda x: jsdl.spmm(A, x, precision="highest")
shapes, text = call_shapes(fn, put(x, mesh, "d"))
assert shapes == {"jsdl_spmm": [(2, 40, 6)]}, shapes
assert "all-gather" not in text
out = jax.jit(fn)(put(x, mesh, "d"))
assert out.sharding.spec == P("d"), out.sharding
check(out, A.todense().astype(np.float64) @ np.asarray(x, np.float64))
""",
    # The columns n split (a Linear layer's tokens): dense (24, 2 D) -> (24, 2) a device.
    "spmm columns, bias and relu": """
x, bias = normal(24, 2 * D), normal(40)
fn = lambda x, b: jsdl.spmm(A, x, bias=b, relu=True, precision="highest")
shapes, text = call_shapes(fn, put(x, mesh, None, "d"), bias)
assert shapes == {"jsdl_spmm": [(40, 2)]}, shapes
want = np.maximum(A.todense().astype(np.float64) @ np.asarray(x, np.float64)
                  + np.asarray(bias, np.float64)[:, None], 0)
check(jax.jit(fn)(put(x, mesh, None, "d"), bias), want)
""",
    # Batch and columns over a 2 x D/2 mesh, values broadcast over the batch.
    "spmm two mesh axes": """
x = normal(4, 24, D)
fn = lambda x: jsdl.spmm(A, x, precision="highest")
xs = put(x, mesh2, "a", None, "b")
shapes, _ = call_shapes(fn, xs)
assert shapes == {"jsdl_spmm": [(2, 40, 2)]}, shapes
check(jax.jit(fn)(xs), A.todense().astype(np.float64) @ np.asarray(x, np.float64))
""",
    # Split over k (what the kernel sums over) or over a batch of 3 on 2 or 4 devices: replicated,
    # so right, with each device computing the whole call.
    "spmm replicated where it cannot split": """
x = normal(24, 8)
fn = lambda x: jsdl.spmm(A, x, precision="highest")
shapes, _ = call_shapes(fn, put(x, mesh, "d", None))
assert shapes == {"jsdl_spmm": [(40, 8)]}, shapes
check(jax.jit(fn)(put(x, mesh, "d", None)), A.todense().astype(np.float64) @ np.asarray(x, np.float64))
x3 = normal(3, 24, 4)
fn3 = lambda x: jsdl.spmm(A, jax.lax.with_sharding_constraint(x, NamedSharding(mesh, P("d"))),
                          precision="highest")
shapes, _ = call_shapes(fn3, x3)
assert shapes == {"jsdl_spmm": [(3, 40, 4)]}, shapes  # 3 items do not split evenly
check(jax.jit(fn3)(x3), A.todense().astype(np.float64) @ np.asarray(x3, np.float64))
""",
    "sddmm and csr_softmax batch": """
q, kmat = normal(2 * D, 40, 5), normal(2 * D, 24, 5)
fn = lambda q, k: jsdl.csr_softmax(jsdl.sddmm(q, k, A, precision="highest")).values
args = (put(q, mesh, "d"), put(kmat, mesh, "d"))
shapes, text = call_shapes(fn, *args)
assert shapes == {"jsdl_sddmm": [(2, A.nnz)], "jsdl_csr_softmax": [(2, A.nnz)]}, shapes
assert "all-gather" not in text
dense = np.einsum("bmd,bkd->bmk", np.asarray(q, np.float64), np.asarray(kmat, np.float64))
mask = A.todense() != 0
dense = np.where(mask, dense, -np.inf)
probs = np.exp(dense - dense.max(-1, keepdims=True))
probs = probs / probs.sum(-1, keepdims=True)
got = jax.jit(fn)(*args)
check(A.with_values(got).todense(), np.where(mask, probs, 0))
""",
    # jax.export cannot hold custom_partitioning's callbacks: an exported sharded function
    # keeps the plain custom call (XLA gathers its operands) and still computes the product.
    "export": """
x = normal(2 * D, 24, 6)
fn = jax.jit(lambda x: jsdl.spmm(A, x, precision="highest"),
             in_shardings=NamedSharding(mesh, P("d")))
checks = [jax.export.DisabledSafetyCheck.custom_call("jsdl_spmm")]
exported = jax.export.export(fn, disabled_checks=checks)(x)
module = exported.mlir_module()
assert "jsdl_spmm" in module and "CustomSPMDPartitioning" not in module
check(exported.call(put(x, mesh, "d")), A.todense().astype(np.float64) @ np.asarray(x, np.float64))
""",
    # d split: each device sums its two of the inner dimension's 2 D, then a psum.
    "sddmm inner dimension": """
q, kmat = normal(40, 2 * D), normal(24, 2 * D)
fn = lambda q, k: jsdl.sddmm(q, k, A, precision="highest").values
args = (put(q, mesh, None, "d"), put(kmat, mesh, None, "d"))
shapes, text = call_shapes(fn, *args)
assert shapes == {"jsdl_sddmm": [(A.nnz,)]}, shapes
assert "f32[40,2]" in text and "all-reduce" in text and "all-gather" not in text
got = A.with_values(jax.jit(fn)(*args)).todense()
mask = A.todense() != 0
check(got, np.where(mask, np.asarray(q, np.float64) @ np.asarray(kmat, np.float64).T, 0))
""",
    # jax's explicit sharding mode (sharding in types): the results' types carry the split, so
    # jit keeps it rather than gathering the results.
    "explicit sharding": """
from jax.sharding import AxisType
emesh = jax.make_mesh((D,), ("d",), axis_types=(AxisType.Explicit,))
x, q, kmat = normal(2 * D, 24, 6), normal(2 * D, 40, 5), normal(24, 2 * D)
with jax.set_mesh(emesh):
    xs, qs, ks = jax.device_put(x, P("d")), jax.device_put(q, P("d")), jax.device_put(kmat, P(None, "d"))
    y = jax.jit(lambda x: jsdl.spmm(A, x, precision="highest"))(xs)
    assert jax.typeof(y).sharding.spec == P("d", None, None), jax.typeof(y)
    shapes, text = call_shapes(lambda x: 2 * jsdl.spmm(A, x, precision="highest"), xs)
    assert shapes == {"jsdl_spmm": [(2, 40, 6)]} and "all-gather" not in text, shapes
    check(y, A.todense().astype(np.float64) @ np.asarray(x, np.float64))
    s = jax.jit(lambda q: jsdl.csr_softmax(jsdl.sddmm(q, q[..., :24, :], A, precision="highest")).values)(qs)
    assert jax.typeof(s).sharding.spec == P("d", None), jax.typeof(s)
    z = jax.jit(lambda k: jsdl.spmm(A, k, precision="highest"))(ks)  # the columns
    assert jax.typeof(z).sharding.spec == P(None, "d"), jax.typeof(z)
    # A split d: the SDDMM's result is whole (its parts summed); its type says so.
    w = jax.jit(lambda a, b: jsdl.sddmm(a, b, A, precision="highest").values)(
        jax.device_put(normal(40, 2 * D), P(None, "d")), ks)
    assert jax.typeof(w).sharding.spec == P(None), jax.typeof(w)
check(z, A.todense().astype(np.float64) @ np.asarray(kmat, np.float64))
""",
    # Data-parallel training: the gradient of a sparse attention + SpMM loss with the batch
    # split; the replicated weights' gradient is summed across devices by XLA.
    "gradients": """
values, bias = normal(A.nnz), normal(40)
x, q, kmat = normal(4, 24, 6), normal(4, 40, 5), normal(4, 24, 5)
def loss(values, bias, x, q, kmat):
    probs = jsdl.csr_softmax(jsdl.sddmm(q, kmat, A, precision="highest"))
    out = jsdl.spmm(probs, x, bias=bias, relu=True, precision="highest")
    return jnp.sum(out ** 2) + jnp.sum(jsdl.spmm(A.with_values(values), x, precision="highest") ** 2)
grad = jax.grad(loss, argnums=(0, 1, 2, 3, 4))
args = (values, bias, put(x, mesh, "d"), put(q, mesh, "d"), put(kmat, mesh, "d"))
shapes, text = call_shapes(grad, *args)
for target, found in shapes.items():
    for shape in found:
        assert shape[0] == 4 // D, (target, shape)  # every call on its share of the batch
want = jax.jit(grad)(values, bias, x, q, kmat)
got = jax.jit(grad)(*args)
for g, w in zip(got, want):
    check(g, w, 2e-4)
""",
    # The Flax layer (sparse attention and sparse projections, features first: the batch is
    # SpMM's columns after a reshape) in data-parallel training under jit.
    "flax attention layer": """
from flax import nnx
from jax_sparse_dl.nn import SparseAttention, causal_decay_pattern
jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 on a GPU: float32 sums
pattern = causal_decay_pattern(16, 0.6, local=4, seed=0)
layer = SparseAttention(8, 2, pattern, attention="sparse", linear="sparse", weight_sparsity=0.5,
                        rngs=nnx.Rngs(0))
graph, params, rest = nnx.split(layer, nnx.Param, ...)
def loss(params, x):
    return jnp.sum(nnx.merge(graph, params, rest)(x) ** 2)
grad = jax.grad(loss)
x = normal(8, 4, 16)  # (d_model, batch, length)
xs = put(x, mesh, None, "d")
shapes, text = call_shapes(grad, params, xs)
assert (24, 64 // D) in shapes["jsdl_spmm"], shapes  # the qkv projection: 64 columns / D
# The weights' gradients are SDDMMs over the tokens: partial sums, then one all-reduce.
assert "all-gather" not in text and "all-reduce" in text
want = jax.tree.leaves(jax.jit(grad)(params, x))
got = jax.tree.leaves(jax.jit(grad)(params, xs))
for g, w in zip(got, want):
    check(g, w, 2e-4)
""",
}


def _run(script, cwd):
  # cwd: not the repository root, whose source tree (no compiled module) `python -c` would import.
  env = dict(os.environ)
  if not ON_GPUS:
    flags = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS=flags)
  done = subprocess.run([sys.executable, "-c", script + "\nprint('ok')\n"], env=env, cwd=cwd,
                        capture_output=True, text=True, timeout=600)
  assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-4000:]


@pytest.mark.parametrize("case", sorted(CASES))
def test_sharded_jit(case, tmp_path):
  if case.startswith("flax"):
    pytest.importorskip("flax")
  _run(_PRELUDE + textwrap.dedent(CASES[case]), tmp_path)


@pytest.mark.parametrize("case", ["spmm two mesh axes", "sddmm inner dimension", "gradients"])
def test_sharded_jit_under_gspmd(case, tmp_path):
  # The GSPMD partitioner (Shardy's predecessor, still a jax option) asks the rule's other
  # callback, the result's sharding from the operands'.
  gspmd = 'jax.config.update("jax_use_shardy_partitioner", False)\n'
  _run(_PRELUDE + gspmd + textwrap.dedent(CASES[case]), tmp_path)
