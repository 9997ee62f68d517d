"""The sparse Transformer's layers (jax_sparse_dl.nn: patterns, linear, attention) and the
character-level model under models/transformer: float64 references, training, checkpoints,
pruning, the benchmark's quick mode. CPU-sized throughout."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")
from flax import nnx  # noqa: E402

from jax_sparse_dl import nn as jnn  # noqa: E402
from conftest import x64  # noqa: E402

# models/ lives in the repository, not in the installed package; appended (not prepended) so
# the installed jax_sparse_dl stays first.
sys.path.append(str(Path(__file__).resolve().parents[1]))


def _leaf(tree):
  leaves = jax.tree_util.tree_leaves(tree)
  assert len(leaves) == 1
  return np.asarray(leaves[0])


# ----------------------------------------------------------------------------- patterns

@pytest.mark.parametrize("build", [
    lambda: jnn.causal_decay_pattern(512, sparsity=0.95, local=8, seed=3),
    lambda: jnn.local_strided_pattern(300, local=7, stride=13)])
def test_patterns_causal_with_diagonal(build):
  mask = jnn.dense_mask(build())
  assert np.all(np.diag(mask)), "every row needs its diagonal"
  assert not np.any(np.triu(mask, 1)), "no entry above the diagonal (causal)"


def test_decay_pattern_sparsity_determinism_and_decay():
  a = jnn.causal_decay_pattern(1024, sparsity=0.95, local=16, seed=1)
  assert abs(jnn.pattern_sparsity(a) - 0.95) < 0.003
  b = jnn.causal_decay_pattern(1024, sparsity=0.95, local=16, seed=1)
  c = jnn.causal_decay_pattern(1024, sparsity=0.95, local=16, seed=2)
  np.testing.assert_array_equal(np.asarray(a.column_indices), np.asarray(b.column_indices))
  assert not np.array_equal(jnn.dense_mask(a), jnn.dense_mask(c))
  mask = jnn.dense_mask(a)
  rows, cols = np.nonzero(mask)
  distance = rows - cols
  assert np.all(mask[np.arange(1024)[:, None], np.arange(1024)[:, None] - np.arange(16)]
                | (np.arange(1024)[:, None] - np.arange(16) < 0)), "local band incomplete"
  near = np.mean((distance >= 16) & (distance < 64)) / 48
  far = np.mean(distance >= 512) / 512
  assert near > 3 * far, "long-range entries must thin out with distance"


def test_strided_pattern_matches_definition():
  length, local, stride = 200, 5, 17
  i, j = np.meshgrid(np.arange(length), np.arange(length), indexing="ij")
  expected = (j <= i) & ((i - j < local) | ((i - j) % stride == 0))
  np.testing.assert_array_equal(jnn.dense_mask(jnn.local_strided_pattern(length, local, stride)),
                                expected)


# ----------------------------------------------------------------------------- linear layers

def test_sparse_linear_matches_float64_reference(rng):
  with x64():
    kernel = rng.standard_normal((24, 40)) * (rng.random((24, 40)) < 0.3)
    bias = rng.standard_normal(24)
    layer = jnn.SparseLinear.from_dense(kernel, kernel != 0, bias)
    assert layer.values[...].dtype == jnp.float64
    x = rng.standard_normal((3, 5, 40))
    cotangent = rng.standard_normal((3, 5, 24))
    np.testing.assert_allclose(layer(jnp.asarray(x)), x @ kernel.T + bias, rtol=1e-12, atol=1e-12)
    relu = np.asarray(layer(jnp.asarray(x), relu=True))
    np.testing.assert_allclose(relu, np.maximum(x @ kernel.T + bias, 0), atol=1e-12)
    x_first = np.moveaxis(x, -1, 0)
    np.testing.assert_allclose(layer(jnp.asarray(x_first), features_first=True),
                               np.moveaxis(x @ kernel.T + bias, -1, 0), atol=1e-12)

    graphdef, params, rest = nnx.split(layer, nnx.Param, ...)
    loss = lambda p, x: jnp.sum(nnx.merge(graphdef, p, rest)(x) * cotangent)
    d_params, d_x = jax.grad(loss, (0, 1))(params, jnp.asarray(x))
    rows, cols = np.nonzero(kernel)
    d_kernel = np.einsum("abo,abi->oi", cotangent, x)
    np.testing.assert_allclose(_leaf(d_params["values"]), d_kernel[rows, cols], rtol=1e-10)
    np.testing.assert_allclose(_leaf(d_params["bias"]), cotangent.sum((0, 1)), rtol=1e-10)
    np.testing.assert_allclose(d_x, cotangent @ kernel, rtol=1e-10)


def test_prunable_to_sparse_and_from_dense_round_trip(rng):
  layer = jnn.PrunableLinear(32, 16, rngs=nnx.Rngs(1))
  jnn.update_masks(layer, 0.75)
  sparse = layer.to_sparse()
  assert sparse.pattern.nnz == 128
  x = jnp.asarray(rng.standard_normal((4, 32)), jnp.float32)
  np.testing.assert_allclose(sparse(x), layer(x), rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(sparse.todense(), layer.kernel[...] * layer.mask[...])
  again = jnn.SparseLinear.from_dense(sparse.todense(), sparse.pattern.get(), sparse.bias[...])
  np.testing.assert_array_equal(again.values[...], sparse.values[...])
  by_magnitude = jnn.SparseLinear.from_dense(layer.kernel[...], 0.9)
  assert by_magnitude.pattern.nnz == round(0.1 * 32 * 16)


def test_gradual_pruning_reaches_target_and_converts_in_place():
  class TwoLayers(nnx.Module):
    def __init__(self):
      self.layers = nnx.List([jnn.PrunableLinear(16, 32, rngs=nnx.Rngs(0)),
                              jnn.PrunableLinear(32, 8, rngs=nnx.Rngs(1))])

  model, seen = TwoLayers(), []
  for step in range(0, 101, 25):
    jnn.update_masks(model, jnn.polynomial_sparsity(step, 0.85, 25, 75))
    seen.append(jnn.model_sparsity(model))
  assert seen[0] == 0.0 and all(a <= b for a, b in zip(seen, seen[1:]))
  assert abs(seen[-1] - 0.85) < 1e-3
  x = jnp.ones((3, 16))
  before = model.layers[1](model.layers[0](x))
  assert jnn.sparsify_prunable(model) == 2
  assert all(isinstance(layer, jnn.SparseLinear) for layer in model.layers)
  np.testing.assert_allclose(model.layers[1](model.layers[0](x)), before, rtol=1e-5, atol=1e-6)
  counts = jnn.weight_counts(model)
  assert abs(1 - counts["stored"] / counts["dense_equivalent"] - 0.85) < 1e-3


def test_sparsify_optimizer_state_continues_the_masked_training():
  """After the conversion, training the sparse layers with the mapped optimizer state follows
  the masked dense layers step for step; a fresh state (the old behaviour) does not."""
  import optax

  class TwoLayers(nnx.Module):
    def __init__(self):
      self.first = jnn.PrunableLinear(12, 20, rngs=nnx.Rngs(0))
      self.second = jnn.PrunableLinear(20, 6, rngs=nnx.Rngs(1))

    def __call__(self, x):
      return self.second(self.first(x, relu=True))

  rng = np.random.default_rng(5)
  x = jnp.asarray(rng.standard_normal((9, 12)), jnp.float32)
  y = jnp.asarray(rng.standard_normal((9, 6)), jnp.float32)
  tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(3e-2, weight_decay=0.1))

  def train(model, opt_state, steps):
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    loss = lambda p: jnp.sum((nnx.merge(graphdef, p, rest)(x) - y) ** 2)
    for _ in range(steps):
      updates, opt_state = tx.update(jax.grad(loss)(params), opt_state, params)
      params = optax.apply_updates(params, updates)
    return nnx.merge(graphdef, params, rest), opt_state

  model = TwoLayers()
  jnn.update_masks(model, 0.6)
  model, opt_state = train(model, tx.init(nnx.split(model, nnx.Param, ...)[1]), 4)
  jnn.update_masks(model, 0.7)
  masked, _ = train(nnx.clone(model), opt_state, 5)

  carried = nnx.clone(model)
  carried_state = jnn.sparsify_optimizer_state(carried, opt_state)
  assert jnn.sparsify_prunable(carried) == 2
  carried, carried_state = train(carried, carried_state, 5)
  assert int(carried_state[1][0].count) == 9  # Adam's step count went on
  fresh = nnx.clone(model)
  jnn.sparsify_prunable(fresh)
  fresh, _ = train(fresh, tx.init(nnx.split(fresh, nnx.Param, ...)[1]), 5)

  for name in ("first", "second"):
    want = np.asarray(getattr(masked, name).weight(), np.float64)
    got = np.asarray(getattr(carried, name).todense(), np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(getattr(carried, name).bias[...], getattr(masked, name).bias[...],
                               rtol=1e-4, atol=1e-6)
  assert not np.allclose(fresh.first.todense(), masked.first.weight(), rtol=1e-2, atol=1e-4)


# ----------------------------------------------------------------------------- attention

def _numpy_attention(q, k, v, mask):
  scores = np.einsum("...qd,...kd->...qk", q, k) / np.sqrt(q.shape[-1])
  scores = np.where(mask, scores, -np.inf)
  probs = np.exp(scores - scores.max(-1, keepdims=True))
  return (probs / probs.sum(-1, keepdims=True)) @ v


def test_sparse_attention_matches_masked_dense_float64(rng):
  with x64():
    pattern = jnn.causal_decay_pattern(96, sparsity=0.85, local=6, seed=4).sparsity
    mask = jnn.dense_mask(pattern)
    q, k, v, ct = (rng.standard_normal((2, 3, 96, 8)) for _ in range(4))
    out = jnn.sparse_attention(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v), pattern)
    np.testing.assert_allclose(out, _numpy_attention(q, k, v, mask), rtol=1e-10, atol=1e-12)
    loss = lambda attend: lambda q, k, v: jnp.sum(attend(q, k, v) * ct)
    sparse_grads = jax.jit(jax.grad(loss(lambda q, k, v: jnn.sparse_attention(q, k, v, pattern)),
                            (0, 1, 2)))(q, k, v)
    dense_grads = jax.jit(jax.grad(loss(lambda q, k, v: jnn.masked_dense_attention(
        q, k, v, jnp.asarray(mask))), (0, 1, 2)))(q, k, v)
    for sparse_grad, dense_grad in zip(sparse_grads, dense_grads):
      np.testing.assert_allclose(sparse_grad, dense_grad, rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(jnn.mask_from_pattern(pattern), mask)


def test_attention_module_sparse_equals_masked(rng):
  pattern = jnn.local_strided_pattern(48, local=5, stride=7)
  attention = jnn.SparseAttention(32, 4, pattern, linear="sparse", weight_sparsity=0.5,
                                  rngs=nnx.Rngs(2))
  x = jnp.asarray(rng.standard_normal((32, 2, 48)), jnp.float32)
  graphdef, params, rest = nnx.split(attention, nnx.Param, ...)

  def run(kind):
    attention.attention = kind
    graphdef, _, _ = nnx.split(attention, nnx.Param, ...)
    loss = lambda p: jnp.sum(nnx.merge(graphdef, p, rest)(x) ** 2)
    return jax.jit(jax.value_and_grad(loss))(params)

  (sparse_loss, sparse_grads), (masked_loss, masked_grads) = run("sparse"), run("masked")
  np.testing.assert_allclose(sparse_loss, masked_loss, rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(sparse_grads), jax.tree_util.tree_leaves(masked_grads)):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5)


# ----------------------------------------------------------------------------- the model

TINY = ["--steps", "30", "--batch", "8", "--seq-len", "32", "--d-model", "32", "--heads", "2",
        "--layers", "1", "--local", "4", "--attention-sparsity", "0.8", "--lr", "3e-3",
        "--warmup", "5", "--eval-every", "0", "--eval-batches", "2", "--max-corpus-mb", "0.3",
        "--no-progress"]


@pytest.fixture(scope="module")
def sparse_run(tmp_path_factory):
  from models.transformer import train
  out = tmp_path_factory.mktemp("sparse")
  args = train.parse_args(TINY + ["--attention", "sparse", "--weights", "sparse",
                                  "--prune-to", "0.8", "--prune-every", "5", "--out", str(out)])
  return args, train.run(args), out


def test_training_reduces_loss_and_prunes(sparse_run):
  _, metrics, _ = sparse_run
  assert metrics["final"]["val_bpc"] < metrics["initial"]["val_bpc"] - 1.0, metrics["final"]
  assert metrics["config"]["linear"] == "sparse"
  assert abs(metrics["final"]["weight_sparsity"] - 0.8) < 0.01
  assert metrics["attention_sparsity"] > 0.8 - 0.05


def test_dense_baseline_training_reduces_loss(tmp_path):
  from models.transformer import train
  metrics = train.run(train.parse_args(TINY + ["--attention", "dense", "--weights", "dense",
                                               "--out", str(tmp_path)]))
  assert metrics["final"]["val_bpc"] < metrics["initial"]["val_bpc"] - 1.0
  assert json.loads((tmp_path / "metrics.json").read_text())["config"]["attention"] == "dense"


def test_checkpoint_restores_identical_model(sparse_run, tmp_path):
  from models.transformer import checkpoint, data, train
  args, metrics, out = sparse_run
  model, metadata = checkpoint.load_checkpoint(out / "checkpoint")
  assert metadata["step"] == 30 and isinstance(model.blocks[0].mlp.fc1, jnn.SparseLinear)
  # The restored model evaluates exactly as the trained one did at the end of training.
  corpus = data.load_corpus(max_bytes=int(0.3 * 2**20))
  batches = data.evaluation_batches(corpus.validation, 2, 8, 32)
  trainer = train.Trainer(model, train.make_optimizer(args))
  assert trainer.bits_per_character(batches) == pytest.approx(metrics["final"]["val_bpc"],
                                                              rel=1e-6)
  checkpoint.save_checkpoint(tmp_path, model)
  again, _ = checkpoint.load_checkpoint(tmp_path)
  tokens = jnp.asarray(np.random.default_rng(0).integers(0, 256, (2, 32)), jnp.int32)
  np.testing.assert_array_equal(again(tokens), model(tokens))
  for a, b in ((again.blocks[0].attn.pattern, model.blocks[0].attn.pattern),
               (again.blocks[0].mlp.fc2.pattern, model.blocks[0].mlp.fc2.pattern)):
    for x, y in zip(a.get().arrays, b.get().arrays):
      np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("missing", ["tile_", "entry_rows"])
def test_checkpoint_without_tile_index_restores(sparse_run, tmp_path, missing):
  """A checkpoint written before the patterns' tile index (session 9) or entry rows (session 61)
  lacks their arrays: they are rebuilt from the saved pattern, and the model computes the same
  outputs."""
  from jax_sparse_dl.nn import checkpoint as ckpt
  from models.transformer import checkpoint
  _, _, out = sparse_run
  model, _ = checkpoint.load_checkpoint(out / "checkpoint")
  checkpoint.save_checkpoint(tmp_path, model)
  info, arrays = ckpt.load(tmp_path)
  old = {k: v for k, v in arrays.items() if missing not in k.rsplit("/", 1)[-1]}
  assert len(old) < len(arrays)
  ckpt.save(tmp_path, old, info)
  again, _ = checkpoint.load_checkpoint(tmp_path)
  tokens = jnp.asarray(np.random.default_rng(1).integers(0, 256, (2, 32)), jnp.int32)
  np.testing.assert_array_equal(again(tokens), model(tokens))
  a, b = again.blocks[0].mlp.fc1.pattern.get(), model.blocks[0].mlp.fc1.pattern.get()
  for x, y in zip(a.arrays, b.arrays):
    np.testing.assert_array_equal(x, y)


def test_benchmark_quick_runs(tmp_path):
  from models.transformer import benchmark
  benchmark.main(["--quick", "--lengths", "64", "--contenders", "jsdl", "xla_masked",
                  "cudnn_masked", "--repeats", "1", "--no-plots", "--out", str(tmp_path)])
  results = json.loads((tmp_path / "results.json").read_text())["results"]
  by_name = {r["contender"]: r for r in results}
  assert by_name["jsdl"]["forward"]["rel_error_vs_xla_f32"] < 1e-5
  assert by_name["jsdl"]["step"]["median_s"] > 0
  assert "MiB" in (tmp_path / "results.md").read_text()
  if jax.default_backend() == "cpu":
    assert "error" in by_name["cudnn_masked"]["forward"]


def test_step_breakdown_times_the_step_ops(tmp_path):
  from models.transformer import benchmark, breakdown
  breakdown.main(["--lengths", "48", "--heads", "2", "--head-dim", "8", "--local", "8",
                  "--repeats", "1", "--min-time", "0.001", "--out", str(tmp_path)])
  (row,) = json.loads((tmp_path / "breakdown.json").read_text())
  assert row["step_s"] > 0 and len(row["ops"]) == 6
  assert all(op["median_s"] > 0 for op in row["ops"])
  assert "measured step" in (tmp_path / "breakdown.md").read_text()
  # The transposed SpMM it times is P^T @ v, in float64.
  pattern, (q, k, v, _) = benchmark.problem(48, 2, 8, 0.5, 8)
  ops = {name: (fn, fn_args) for name, _, fn, fn_args in breakdown.operations(q, k, v, pattern)}
  fn, fn_args = ops["spmm transposed (dk, dv)"]
  probs = ops["csr_softmax_grad"][1][0]
  dense = np.zeros((2, 48, 48))
  rows = np.repeat(np.arange(48), np.diff(np.asarray(pattern.row_offsets)))
  dense[:, rows, np.asarray(pattern.column_indices)] = np.asarray(probs, np.float64)[0]
  want = np.einsum("hij,hid->hjd", dense, np.asarray(v, np.float64)[0])
  np.testing.assert_allclose(np.asarray(fn(*fn_args), np.float64)[0], want, rtol=1e-5, atol=1e-6)
