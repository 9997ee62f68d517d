"""Sparse MobileNetV1 (models/mobilenet) and its layers (jax_sparse_dl.nn.conv), on CPU.

References are float64 numpy computations on fresh random inputs; the whole network is checked
against a numpy MobileNetV1 forward pass. Tiny widths and resolutions keep the file fast.
"""
from __future__ import annotations

import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

flax = pytest.importorskip("flax")
from flax import nnx  # noqa: E402

import jax_sparse_dl as jsdl  # noqa: E402
from jax_sparse_dl.nn.conv import (PointwiseConv, PrunablePointwiseConv,  # noqa: E402
                                   SparsePointwiseConv, depthwise_conv, fold_batch_norm,
                                   pointwise_conv)
from jax_sparse_dl.nn.pruning import csr_from_mask, magnitude_mask  # noqa: E402

# models/ is not installed: reach it from the repository root, after the installed packages
# (so the installed jax_sparse_dl, with its compiled module, stays the one imported).
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))
from models.mobilenet import benchmark, checkpoint, data, train  # noqa: E402
from models.mobilenet.model import (InferenceMobileNet, MobileNetConfig,  # noqa: E402
                                    conv2d, convert_to_sparse, create_model,
                                    fold_dense_for_inference, fold_for_inference, prune_to)

CONFIG = MobileNetConfig(width=0.25, num_classes=10, sparsity=0.9)
RESOLUTION = 32


def rel_err(out, ref) -> float:
  out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
  return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-30))


# --- float64 numpy reference of the network (eval mode) ---------------------------------------
def conv_ref(x, w, stride, groups):
  """x (B, C, H, W), w (O, C/groups, k, k), k odd; padding (k - 1) / 2; groups 1 or C."""
  x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
  b, c, h, wd = x.shape
  size = w.shape[-1]
  pad = (size - 1) // 2
  ho, wo = (h - 1) // stride + 1, (wd - 1) // stride + 1
  xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
  out = np.zeros((b, w.shape[0], ho, wo))
  for i in range(size):
    for j in range(size):
      patch = xp[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
      if groups == 1:
        out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
      else:  # depthwise
        out += patch * w[None, :, 0, i, j, None, None]
  return out


def bn_relu_ref(y, bn):
  g = lambda v: np.asarray(v[...], np.float64)[None, :, None, None]
  return np.maximum((y - g(bn.mean)) / np.sqrt(g(bn.var) + bn.epsilon) * g(bn.scale)
                    + g(bn.bias), 0)


def network_ref(model, x):
  """The eval-mode forward pass of a training MobileNetV1, in float64 numpy."""
  y = bn_relu_ref(conv_ref(x, model.stem.kernel[...], 2, 1), model.stem.bn)
  for block in model.blocks:
    dw = block.depthwise
    y = bn_relu_ref(conv_ref(y, dw.kernel[...], dw.stride, dw.groups), dw.bn)
    w = np.asarray(block.pointwise.weight(), np.float64)
    y = bn_relu_ref(np.einsum("oc,bchw->bohw", w, y), block.pointwise_bn)
  pooled = y.mean(axis=(2, 3))
  return pooled @ np.asarray(model.classifier.kernel[...], np.float64) + \
      np.asarray(model.classifier.bias[...], np.float64)


def randomize_batch_norms(model, seed):
  """Non-trivial running statistics and affine parameters, so folding is really tested."""
  rng = np.random.default_rng(seed)
  for _, bn in nnx.iter_graph(model):
    if isinstance(bn, nnx.BatchNorm):
      n = bn.mean[...].shape[0]
      bn.mean[...] = jnp.asarray(rng.normal(0, 0.3, n), jnp.float32)
      bn.var[...] = jnp.asarray(rng.uniform(0.5, 2.0, n), jnp.float32)
      bn.scale[...] = jnp.asarray(rng.uniform(0.5, 1.5, n), jnp.float32)
      bn.bias[...] = jnp.asarray(rng.normal(0, 0.3, n), jnp.float32)


@pytest.fixture(scope="module")
def pruned_model():
  model = create_model(CONFIG, seed=3)
  prune_to(model, CONFIG.sparsity)
  randomize_batch_norms(model, 4)
  return model


def images(batch, seed):
  return jax.random.normal(jax.random.key(seed), (batch, 3, RESOLUTION, RESOLUTION))


# --- layers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias,relu", [(False, False), (True, False), (True, True)])
def test_sparse_pointwise_matches_float64_reference(bias, relu):
  rng = np.random.default_rng(0)
  w = rng.normal(size=(24, 16)) * (rng.random((24, 16)) < 0.3)
  b = rng.normal(size=24) if bias else None
  layer = SparsePointwiseConv.from_dense(jnp.asarray(w, jnp.float32),
                                         None if b is None else jnp.asarray(b, jnp.float32),
                                         relu=relu)
  x = rng.normal(size=(3, 16, 5, 4))
  ref = np.einsum("oc,bchw->bohw", w, x) + (0 if b is None else b[None, :, None, None])
  ref = np.maximum(ref, 0) if relu else ref
  out = layer(jnp.asarray(x, jnp.float32))
  assert out.shape == (3, 24, 5, 4)
  assert rel_err(out, ref) < 1e-5

  # Gradients w.r.t. values, bias and input against the float64 dense reference.
  g = rng.normal(size=ref.shape)
  gate = (ref > 0) if relu else np.ones_like(ref)
  d_pre = g * gate
  graphdef, params, pattern = nnx.split(layer, nnx.Param, ...)
  grads = jax.grad(lambda p, x: jnp.sum(nnx.merge(graphdef, p, pattern)(x) * g),
                   argnums=(0, 1))(params, jnp.asarray(x, jnp.float32))
  csr = layer.csr
  rows = np.repeat(np.arange(24), np.diff(np.asarray(csr.row_offsets)))
  cols = np.asarray(csr.column_indices)
  d_w = np.einsum("bohw,bchw->oc", d_pre, x)
  assert rel_err(grads[0]["values"][...], d_w[rows, cols]) < 1e-5
  assert rel_err(grads[1], np.einsum("oc,bohw->bchw", w, d_pre)) < 1e-5
  if bias:
    assert rel_err(grads[0]["bias"][...], d_pre.sum(axis=(0, 2, 3))) < 1e-5


@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_pointwise_conv_matches_float64_reference(batch):
  # Batches of images come out of the matmul (Cout, *batch, H*W) and are moved into place.
  rng = np.random.default_rng(len(batch))
  w, x = rng.normal(size=(6, 5)), rng.normal(size=(*batch, 5, 3, 7))
  g = rng.normal(size=(*batch, 6, 3, 7))
  f = lambda a: jnp.asarray(a, jnp.float32)
  out, vjp = jax.vjp(lambda w, x: pointwise_conv(x, w, "highest"), f(w), f(x))
  assert out.shape == g.shape
  assert rel_err(out, np.einsum("oc,...chw->...ohw", w, x)) < 1e-6
  d_w, d_x = vjp(f(g))
  assert rel_err(d_w, np.einsum("bohw,bchw->oc", g.reshape(-1, 6, 3, 7), x.reshape(-1, 5, 3, 7))) \
      < 1e-6
  assert rel_err(d_x, np.einsum("oc,...ohw->...chw", w, g)) < 1e-6


@pytest.mark.parametrize("size,stride,hw", [(3, 2, (9, 8)), (3, 1, (5, 7)), (1, 1, (4, 3)),
                                            (5, 2, (6, 11))])
def test_conv2d_is_a_matmul_of_slices_on_cpu(size, stride, hw):
  # NCHW without groups runs on CPU as one matmul over stacked slices (XLA's convolution would
  # transpose to NHWC and back), elsewhere as XLA's convolution (in the lowered program: XLA's
  # GPU compiler may turn a small one into other fusions): against the float64 definition,
  # gradients against XLA's convolution.
  rng = np.random.default_rng(size * 10 + stride)
  x64, k64 = rng.normal(size=(2, 3, *hw)), rng.normal(size=(4, 3, size, size))
  pad = (size - 1) // 2
  ref = conv_ref(x64, k64, stride, 1)
  x, k = jnp.asarray(x64, jnp.float32), jnp.asarray(k64, jnp.float32)
  ours = jax.jit(lambda x, k: conv2d(x, k, stride, precision="highest"))
  lowered = ours.lower(x, k).as_text()
  assert ("convolution" in lowered) == (jax.default_backend() != "cpu")
  assert rel_err(ours(x, k), ref) < 1e-6
  xla = lambda x, k: jax.lax.conv_general_dilated(
      x, k, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=("NCHW", "OIHW", "NCHW"),
      precision=jax.lax.Precision.HIGHEST)
  g = jnp.asarray(rng.normal(size=ref.shape), jnp.float32)
  loss = lambda f: lambda x, k: jnp.sum(f(x, k) * g)
  for ours_grad, xla_grad in zip(jax.grad(loss(ours), (0, 1))(x, k),
                                 jax.grad(loss(xla), (0, 1))(x, k)):
    assert rel_err(ours_grad, xla_grad) < 1e-6


def test_prunable_to_sparse_keeps_outputs():
  layer = PrunablePointwiseConv(32, 40, rngs=nnx.Rngs(0))
  layer.mask[...] = magnitude_mask(layer.kernel[...], 0.9)
  x = images(2, 1)[:, :1].repeat(32, axis=1)  # (2, 32, 32, 32)
  ref = np.einsum("oc,bchw->bohw", np.asarray(layer.weight(), np.float64), np.asarray(x))
  sparse = layer.to_sparse()
  assert sparse.nnz == round(0.1 * 32 * 40)
  assert rel_err(layer(x), ref) < 1e-5 and rel_err(sparse(x), ref) < 1e-5


@pytest.mark.parametrize("sparse", [False, True])
def test_fold_batch_norm_float64(sparse):
  rng = np.random.default_rng(1)
  w = rng.normal(size=(12, 9)) * (rng.random((12, 9)) < 0.5)
  mean, var = rng.normal(size=12), rng.uniform(0.5, 2, 12)
  scale, offset, bias = rng.normal(size=12), rng.normal(size=12), rng.normal(size=12)
  x = rng.normal(size=(9, 7))
  ref = scale[:, None] * ((w @ x + bias[:, None]) - mean[:, None]) / np.sqrt(
      var[:, None] + 1e-3) + offset[:, None]
  weight = jsdl.CSR.fromdense(jnp.asarray(w, jnp.float32)) if sparse else jnp.asarray(w)
  f = lambda a: jnp.asarray(a, jnp.float32)
  w2, b2 = fold_batch_norm(weight, f(mean), f(var), scale=f(scale), offset=f(offset),
                           epsilon=1e-3, bias=f(bias))
  dense = w2.todense() if sparse else w2
  assert rel_err(np.asarray(dense, np.float64) @ x + np.asarray(b2)[:, None], ref) < 1e-5
  if sparse:
    assert w2.nnz == weight.nnz


# --- whole network -----------------------------------------------------------------------------
def test_training_model_matches_float64_reference(pruned_model):
  x = images(2, 10)
  assert rel_err(pruned_model(x), network_ref(pruned_model, x)) < 1e-4


def test_sparse_and_dense_forward_agree(pruned_model):
  """The sparse network with the pruned dense weights = the dense network with them, trained
  (SparsePointwiseConv after conversion) and folded for inference, sparse and dense."""
  x = images(3, 11)
  ref = network_ref(pruned_model, x)
  converted = nnx.clone(pruned_model)
  assert convert_to_sparse(converted) == 12
  assert isinstance(converted.blocks[0].pointwise, PointwiseConv)
  assert isinstance(converted.blocks[5].pointwise, SparsePointwiseConv)
  assert rel_err(converted(x), ref) < 1e-4
  sparse = fold_for_inference(pruned_model)
  assert sum(isinstance(layer, SparsePointwiseConv) for layer in sparse.layers) == 12
  assert all(layer.relu and layer.bias is not None for layer in sparse.layers
             if isinstance(layer, SparsePointwiseConv))  # bias + ReLU in the SpMM epilogue
  assert rel_err(sparse(x), ref) < 1e-4
  assert rel_err(fold_for_inference(converted)(x), ref) < 1e-4


@pytest.mark.parametrize("size,stride,hw", [(3, 1, (7, 9)), (3, 2, (8, 8)), (3, 2, (5, 6)),
                                            (5, 2, (9, 4)), (3, 1, (1, 1))])
def test_depthwise_conv_matches_float64_grouped_conv(size, stride, hw):
  rng = np.random.default_rng(size * 100 + stride * 10 + hw[0])
  x64 = rng.standard_normal((2, 5, *hw))
  k64 = rng.standard_normal((5, 1, size, size))
  pad = (size - 1) // 2
  ref = conv_ref(x64, k64, stride, 5)  # the float64 definition, summed in numpy
  x, k = jnp.asarray(x64, jnp.float32), jnp.asarray(k64, jnp.float32)
  out = jax.jit(depthwise_conv, static_argnums=(2, 3))(x, k, stride, "NCHW")
  assert out.shape == ref.shape
  assert rel_err(out, ref) < 1e-6
  xla = jax.lax.conv_general_dilated(x, k, (stride, stride), ((pad, pad), (pad, pad)),
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                     feature_group_count=5, precision=jax.lax.Precision.HIGHEST)
  assert rel_err(xla, ref) < 1e-6  # the reference agrees with XLA's grouped convolution
  out_nhwc = depthwise_conv(jnp.transpose(x, (0, 2, 3, 1)), jnp.transpose(k, (2, 3, 1, 0)),
                            stride, "NHWC")
  assert rel_err(jnp.transpose(out_nhwc, (0, 3, 1, 2)), ref) < 1e-6


def test_depthwise_conv_rejects_bad_shapes():
  with pytest.raises(ValueError, match=r"needs a kernel \(4, 1, 3, 3\)"):
    depthwise_conv(jnp.ones((1, 4, 5, 5)), jnp.ones((4, 2, 3, 3)), 1)
  with pytest.raises(ValueError, match="layout must be NCHW or NHWC"):
    depthwise_conv(jnp.ones((1, 4, 5, 5)), jnp.ones((4, 1, 3, 3)), 1, "CHWN")


@pytest.mark.parametrize("layout,pointwise,depthwise", [("NHWC", "conv", "taps"),
                                                        ("NCHW", "gemm", "xla")])
def test_folded_dense_matches_reference(pruned_model, layout, pointwise, depthwise):
  x = images(2, 12)
  folded = fold_dense_for_inference(pruned_model, layout, pointwise, depthwise=depthwise)
  xin = jnp.transpose(x, (0, 2, 3, 1)) if layout == "NHWC" else x
  assert rel_err(folded(xin), network_ref(pruned_model, x)) < 1e-4


# --- training, checkpoints, benchmark -----------------------------------------------------------
def test_training_steps_reduce_the_loss(tmp_path):
  train_split, _ = data.load(RESOLUTION)
  model = create_model(CONFIG, seed=5)
  prune_to(model, 0.5)
  convert_to_sparse(model)  # train through SpMM (values gradients are SDDMMs)
  args = train.parse_args(["--out", str(tmp_path), "--epochs", "1"])
  schedule = train.Schedule(args, 10)
  trainer = train.Trainer(model, train.make_optimizer(model, args, schedule, 5))
  x, y = jnp.asarray(train_split.images[:32]), jnp.asarray(train_split.labels[:32])
  # True float32 everywhere: this model's float32 gradients are already up to 10-30% off float64
  # in places (session 39), and AdamW moves every component by about the learning rate, noise or
  # not, so backends part from the second step on (losses on the CPU 2.61, 2.08, ... 1.59 at
  # step 8; on an H100 2.61, 2.12, ... 1.85; session 46). Hence a bar both clear: the mean of the
  # last three steps at most 0.8 of the first (no update stays at 2.6, a wrong sign climbs).
  with jax.default_matmul_precision("highest"):
    losses = [float(trainer.train_step(x, y)) for _ in range(8)]
  assert np.mean(losses[-3:]) < 0.8 * losses[0], losses
  trained, _ = trainer.objects()
  assert not np.allclose(trained.blocks[3].pointwise.values[...],
                         model.blocks[3].pointwise.values[...])


def test_checkpoint_round_trip(pruned_model, tmp_path):
  model = nnx.clone(pruned_model)
  convert_to_sparse(model)
  x = images(2, 13)
  checkpoint.save(tmp_path, model, meta={"epoch": 3})
  restored, meta, _ = checkpoint.restore(tmp_path)
  assert meta == {"epoch": 3}
  assert isinstance(restored.blocks[4].pointwise, SparsePointwiseConv)
  np.testing.assert_array_equal(restored(x), model(x))
  np.testing.assert_array_equal(fold_for_inference(restored)(x), fold_for_inference(model)(x))


def test_train_cli_prunes_saves_and_resumes(tmp_path):
  """Gradual pruning, conversion to SpMM layers, checkpoint per epoch, resume, folded eval."""
  args = ["--width", "0.25", "--sparsity", "0.9", "--image-size", "16", "--batch-size", "128",
          "--mask-updates", "2", "--prune-begin", "0.1", "--prune-end", "0.5", "--out",
          str(tmp_path), "--no-progress"]
  first = train.train(train.parse_args(args + ["--epochs", "2"]))
  assert [h["epoch"] for h in first["history"]] == [1, 2]
  assert first["pointwise_sparsity"] == pytest.approx(0.9, abs=1e-3)
  restored, meta, _ = checkpoint.restore(tmp_path)
  assert meta["epoch"] == 1 and isinstance(restored.blocks[6].pointwise, SparsePointwiseConv)
  resumed = train.train(train.parse_args(args + ["--epochs", "3", "--resume"]))
  assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
  assert resumed["folded_held_out_accuracy"] == pytest.approx(resumed["held_out_accuracy"],
                                                              abs=1 / 300)
  assert (tmp_path / "metrics.json").exists()


def test_benchmark_quick(tmp_path):
  benchmark.main(["--quick", "--out", str(tmp_path), "--widths", "0.25", "--batches", "1",
                  "--dense", "nhwc-conv-highest", "--layer-widths"])
  summary = (tmp_path / "summary.md").read_text()
  assert "| 0.25 | 1 |" in summary and "Targets" in summary
  import json
  report = json.loads((tmp_path / "results.json").read_text())
  assert all("fps" in r for r in report["results"]), report["results"]
  assert report["checks"]["0.25"]["sparse_vs_dense_rel_err"] < 1e-4


def test_benchmark_layer_breakdown(pruned_model):
  """Each layer timed alone on its real input (a slice of the network: compiles are slow)."""
  sparse = fold_for_inference(pruned_model)
  head = InferenceMobileNet(sparse.names[:4], sparse.layers[:4], "NCHW")
  args = benchmark.parse_args(["--quick", "--out", "unused"])
  rows = benchmark.time_layers(head, images(1, 14), benchmark.Timer(args), ("sparse", 1))
  assert [r["layer"] for r in rows] == ["stem", "dw1", "pw1", "dw2"]
  assert rows[2]["input_shape"] == [1, 8, 16, 16] and all(r["median_us"] > 0 for r in rows)
