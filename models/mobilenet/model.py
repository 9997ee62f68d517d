"""MobileNetV1 (Howard et al. 2017) in Flax NNX, channels-first, with sparse 1x1 convolutions.

Training model `MobileNetV1`: a 3x3 stride-2 stem, 13 depthwise-separable blocks (depthwise 3x3 +
BN + ReLU, pointwise 1x1 + BN + ReLU), global average pooling and a linear classifier. In a
sparse configuration the pointwise convolutions of blocks 2-13 are `PrunablePointwiseConv`
(dense kernel x mask, for gradual magnitude pruning) until `convert_to_sparse` freezes them into
`SparsePointwiseConv` (CSR values trained through SpMM); the stem, the first pointwise layer and
the classifier stay dense.

Inference models (`InferenceMobileNet`, a plain sequence of layers so each can be timed alone):
- `fold_for_inference`: batch norm folded into weights and biases; pruned pointwise layers become
  SpMM with bias + ReLU in the epilogue; channels-first (NCHW).
- `fold_dense_for_inference`: every layer dense with folded batch norm, NHWC or NCHW, pointwise
  as cuDNN 1x1 convolution or GEMM: the baseline of the benchmark.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jax_sparse_dl.csr import CSR
from jax_sparse_dl.nn.linear import fan_in_normal
from jax_sparse_dl.nn.pruning import update_masks
from jax_sparse_dl.nn.conv import (PointwiseConv, PrunablePointwiseConv, SparsePointwiseConv,
                                   depthwise_conv, fold_nnx_batch_norm, lax_precision,
                                   pointwise_conv, shifted_slices)

# A list attribute of modules: nnx.List from flax 0.12 on (plain lists are refused there).
ModuleList = getattr(nnx, "List", list)

# (output channels at width 1, stride) of the 13 depthwise-separable blocks.
BLOCK_SPECS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
               (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
STEM_CHANNELS = 32


def scaled_channels(channels: int, width: float, divisor: int = 8) -> int:
  """channels * width rounded to the nearest multiple of `divisor` (at least one divisor)."""
  return max(divisor, int(round(channels * width / divisor)) * divisor)


@dataclasses.dataclass(frozen=True)
class MobileNetConfig:
  """width: channel multiplier; sparsity: target of the prunable pointwise layers (0 = a dense
  model without masks)."""
  width: float = 1.0
  num_classes: int = 1000
  sparsity: float = 0.9
  in_channels: int = 3
  bn_momentum: float = 0.9
  bn_epsilon: float = 1e-3

  @property
  def sparse(self) -> bool:
    return self.sparsity > 0

  @property
  def stem_channels(self) -> int:
    return scaled_channels(STEM_CHANNELS, self.width)

  def blocks(self):
    """(in channels, out channels, stride, prunable) of each separable block."""
    cin, out = self.stem_channels, []
    for i, (channels, stride) in enumerate(BLOCK_SPECS):
      cout = scaled_channels(channels, self.width)
      out.append((cin, cout, stride, self.sparse and i > 0))
      cin = cout
    return out

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, d: dict) -> "MobileNetConfig":
    return cls(**d)


def conv2d(x, kernel, stride: int, *, groups: int = 1, layout: str = "NCHW", precision=None):
  """A k x k convolution with symmetric padding (k - 1) / 2; kernel OIHW for NCHW, HWIO for NHWC.
  On CPU an NCHW convolution without groups runs as `_nchw_conv_as_matmul`."""
  size = kernel.shape[-1] if layout == "NCHW" else kernel.shape[0]
  pad = (size - 1) // 2
  dims = ("NCHW", "OIHW", "NCHW") if layout == "NCHW" else ("NHWC", "HWIO", "NHWC")

  def xla_conv(x, kernel):
    return jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=dims,
        feature_group_count=groups, precision=lax_precision(precision))

  if layout != "NCHW" or groups != 1:
    return xla_conv(x, kernel)
  return jax.lax.platform_dependent(
      x, kernel, cpu=lambda x, kernel: _nchw_conv_as_matmul(x, kernel, stride, precision),
      default=xla_conv)


def _nchw_conv_as_matmul(x, kernel, stride: int, precision):
  """conv2d in NCHW as one matmul of the kernel (O, I*k*k) by x's k*k shifted, strided slices
  stacked (N, I*k*k, H'*W'). XLA's CPU convolution works in NHWC and transposes around an NCHW
  one: the stem took 2.4x longer that way (224 x 224, batch 1 and 8)."""
  out_channels, channels, size, _ = kernel.shape
  taps = shifted_slices(x, size, stride)
  n, _, h_out, w_out = taps[0].shape
  patches = jnp.stack(taps, axis=2).reshape(n, channels * size * size, h_out * w_out)
  y = jnp.matmul(kernel.reshape(out_channels, -1), patches, precision=lax_precision(precision))
  return y.reshape(n, out_channels, h_out, w_out)


def _batch_norm(channels: int, config: MobileNetConfig, rngs: nnx.Rngs) -> nnx.BatchNorm:
  return nnx.BatchNorm(channels, axis=1, momentum=config.bn_momentum,
                       epsilon=config.bn_epsilon, rngs=rngs)


# --- training model ----------------------------------------------------------------------------
class ConvBN(nnx.Module):
  """3x3 convolution (groups = in channels for depthwise) + batch norm + ReLU, NCHW."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, groups: int,
               config: MobileNetConfig, rngs: nnx.Rngs):
    fan_in = in_channels // groups * 9
    self.kernel = nnx.Param(fan_in_normal(rngs.params(), (out_channels, in_channels // groups, 3, 3),
                                          fan_in, 2.0))
    self.bn = _batch_norm(out_channels, config, rngs)
    self.stride, self.groups = stride, groups

  def __call__(self, x, train: bool):
    if self.groups > 1:  # depthwise: XLA's grouped convolution was 3-10x slower (CPU, gradient)
      y = depthwise_conv(x, self.kernel[...], self.stride)
    else:
      y = conv2d(x, self.kernel[...], self.stride)
    return jax.nn.relu(self.bn(y, use_running_average=not train))


class SeparableBlock(nnx.Module):
  """Depthwise 3x3 + BN + ReLU, then pointwise 1x1 + BN + ReLU."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, prunable: bool,
               config: MobileNetConfig, rngs: nnx.Rngs):
    self.depthwise = ConvBN(in_channels, in_channels, stride, in_channels, config, rngs)
    conv = PrunablePointwiseConv if prunable else PointwiseConv
    self.pointwise = conv(in_channels, out_channels, rngs=rngs)
    self.pointwise_bn = _batch_norm(out_channels, config, rngs)

  def __call__(self, x, train: bool):
    x = self.depthwise(x, train)
    return jax.nn.relu(self.pointwise_bn(self.pointwise(x), use_running_average=not train))


class MobileNetV1(nnx.Module):
  """The training model; input (B, C, H, W). `train=True` uses (and updates) batch statistics."""

  def __init__(self, config: MobileNetConfig, *, rngs: nnx.Rngs):
    self.config = config
    self.stem = ConvBN(config.in_channels, config.stem_channels, 2, 1, config, rngs)
    self.blocks = ModuleList([SeparableBlock(cin, cout, stride, prunable, config, rngs)
                              for cin, cout, stride, prunable in config.blocks()])
    self.classifier = nnx.Linear(config.blocks()[-1][1], config.num_classes, rngs=rngs)

  def __call__(self, x, train: bool = False):
    x = self.stem(x, train)
    for block in self.blocks:
      x = block(x, train)
    return self.classifier(jnp.mean(x, axis=(2, 3)))


def convert_to_sparse(model: MobileNetV1, patterns: dict | None = None) -> int:
  """Replaces each `PrunablePointwiseConv` by a `SparsePointwiseConv`: its mask frozen, or, for
  the block indices in `patterns` ({i: (row_offsets, column_indices)}, from a checkpoint), that
  pattern with zero values (to be overwritten). Returns the number of converted layers."""
  converted = 0
  for i, block in enumerate(model.blocks):
    layer = block.pointwise
    if not isinstance(layer, PrunablePointwiseConv):
      continue
    if patterns is not None and i in patterns:
      offsets, columns = patterns[i]
      zeros = jnp.zeros((len(columns),), layer.kernel[...].dtype)
      csr = CSR.from_parts(zeros, offsets, columns, (layer.out_channels, layer.in_channels))
      block.pointwise = SparsePointwiseConv(csr, relu=layer.relu, precision=layer.precision)
    else:
      block.pointwise = layer.to_sparse()
    converted += 1
  return converted


def pointwise_sparsity(model: MobileNetV1) -> float:
  """Fraction of zero weights over the prunable / sparse pointwise layers (0 if none)."""
  total = kept = 0
  for block in model.blocks:
    layer = block.pointwise
    if isinstance(layer, SparsePointwiseConv):
      kept += layer.nnz
    elif isinstance(layer, PrunablePointwiseConv):
      kept += int(np.count_nonzero(np.asarray(layer.mask[...])))
    else:
      continue
    total += layer.in_channels * layer.out_channels
  return 1.0 - kept / total if total else 0.0


# --- inference models --------------------------------------------------------------------------
class FoldedConv(nnx.Module):
  """relu(conv(x) + bias): a conv with its batch norm folded in (stem, depthwise, 1x1).
  Depthwise layers run as `depthwise_conv` (depthwise="taps") or XLA's grouped convolution
  (depthwise="xla")."""

  def __init__(self, kernel, bias, stride: int, groups: int, layout: str, precision,
               depthwise: str = "taps"):
    # Kernels arrive OIHW; NHWC convolutions take HWIO.
    self.kernel = nnx.Param(kernel if layout == "NCHW" else jnp.transpose(kernel, (2, 3, 1, 0)))
    self.bias = nnx.Param(bias)
    self.stride, self.groups, self.layout, self.precision = stride, groups, layout, precision
    self.depthwise = depthwise

  def __call__(self, x):
    if self.groups > 1 and self.depthwise == "taps":
      y = depthwise_conv(x, self.kernel[...], self.stride, self.layout)
    else:
      y = conv2d(x, self.kernel[...], self.stride, groups=self.groups, layout=self.layout,
                 precision=self.precision)
    bias = self.bias[...]
    return jax.nn.relu(y + (bias[:, None, None] if self.layout == "NCHW" else bias))


class GemmPointwise(nnx.Module):
  """relu(W x + b) over channels as one matrix product (cuBLAS), NHWC or NCHW."""

  def __init__(self, weight, bias, layout: str, precision):
    self.kernel = nnx.Param(weight)  # (Cout, Cin)
    self.bias = nnx.Param(bias)
    self.layout, self.precision = layout, precision

  def __call__(self, x):
    w, b, precision = self.kernel[...], self.bias[...], lax_precision(self.precision)
    if self.layout == "NHWC":
      return jax.nn.relu(jnp.dot(x, w.T, precision=precision) + b)
    return jax.nn.relu(pointwise_conv(x, w, self.precision) + b[:, None, None])


class PooledClassifier(nnx.Module):
  """Global average pooling + linear classifier."""

  def __init__(self, kernel, bias, layout: str, precision):
    self.kernel = nnx.Param(kernel)  # (C, classes), as nnx.Linear
    self.bias = nnx.Param(bias)
    self.layout, self.precision = layout, precision

  def __call__(self, x):
    pooled = jnp.mean(x, axis=(2, 3) if self.layout == "NCHW" else (1, 2))
    return jnp.dot(pooled, self.kernel[...], precision=lax_precision(self.precision)) + \
        self.bias[...]


class InferenceMobileNet(nnx.Module):
  """A folded network as a named sequence of layers; input in `layout`."""

  def __init__(self, names, layers, layout: str):
    self.names = tuple(names)
    self.layers = ModuleList(list(layers))
    self.layout = layout

  def named_layers(self):
    return list(zip(self.names, self.layers))

  def __call__(self, x):
    for layer in self.layers:
      x = layer(x)
    return x


def _fold_conv(conv: ConvBN, layout: str, precision, depthwise: str = "taps") -> FoldedConv:
  kernel, bias = fold_nnx_batch_norm(conv.kernel[...], conv.bn)
  return FoldedConv(kernel, bias, conv.stride, conv.groups, layout, precision, depthwise)


def _fold_classifier(model: MobileNetV1, layout: str, precision) -> PooledClassifier:
  linear = model.classifier
  return PooledClassifier(linear.kernel[...], linear.bias[...], layout, precision)


def _fold_pointwise_sparse(block: SeparableBlock, precision):
  layer = block.pointwise
  if isinstance(layer, SparsePointwiseConv):
    csr, bias = fold_nnx_batch_norm(layer.csr, block.pointwise_bn)
    return SparsePointwiseConv(csr, bias, relu=True)
  weight, bias = fold_nnx_batch_norm(layer.weight(), block.pointwise_bn)
  return GemmPointwise(weight, bias, "NCHW", precision)


def _fold_pointwise_dense(block: SeparableBlock, layout: str, pointwise: str, precision):
  weight, bias = fold_nnx_batch_norm(block.pointwise.weight(), block.pointwise_bn)
  if pointwise == "gemm":
    return GemmPointwise(weight, bias, layout, precision)
  return FoldedConv(weight[:, :, None, None], bias, 1, 1, layout, precision)


def _fold(model: MobileNetV1, layout: str, precision, depthwise: str,
          fold_pointwise) -> InferenceMobileNet:
  if depthwise not in ("taps", "xla"):
    raise ValueError(f"depthwise must be 'taps' or 'xla', got {depthwise!r}")
  names, layers = ["stem"], [_fold_conv(model.stem, layout, precision)]
  for i, block in enumerate(model.blocks, 1):
    names += [f"dw{i}", f"pw{i}"]
    layers += [_fold_conv(block.depthwise, layout, precision, depthwise), fold_pointwise(block)]
  names.append("classifier")
  layers.append(_fold_classifier(model, layout, precision))
  return InferenceMobileNet(names, layers, layout)


# Folding as one compiled program each, cached per model structure and options.
@functools.partial(nnx.jit, static_argnums=(1, 2))
def _fold_sparse_jit(model, precision, depthwise):
  return _fold(model, "NCHW", precision, depthwise,
               lambda b: _fold_pointwise_sparse(b, precision))


@functools.partial(nnx.jit, static_argnums=(1, 2, 3, 4))
def _fold_dense_jit(model, layout, pointwise, precision, depthwise):
  return _fold(model, layout, precision, depthwise,
               lambda b: _fold_pointwise_dense(b, layout, pointwise, precision))


@functools.partial(nnx.jit, static_argnums=0)
def _create(config, key):
  return MobileNetV1(config, rngs=nnx.Rngs(key))


def create_model(config: MobileNetConfig, seed: int = 0) -> MobileNetV1:
  """`MobileNetV1(config)` initialised in one compiled program, cached per config (eager
  initialisation compiles every small op for every new shape)."""
  return _create(config, jax.random.key(seed))


_update_masks = nnx.jit(update_masks, static_argnums=1)


def prune_to(model: MobileNetV1, sparsity: float) -> None:
  """`update_masks(model, sparsity)` as one compiled program (one per model shape and
  sparsity; eager it would compile a few ops per layer and sparsity)."""
  _update_masks(model, float(sparsity))


def fold_for_inference(model: MobileNetV1, precision: str | None = "HIGHEST",
                       depthwise: str = "taps") -> InferenceMobileNet:
  """The sparse inference network (NCHW): batch norm folded everywhere; prunable or sparse
  pointwise layers as SpMM with the folded bias and ReLU in the epilogue; `precision` for the
  XLA layers (stem, depthwise, dense pointwise, classifier); depthwise layers as
  `jax_sparse_dl.nn.depthwise_conv` ("taps") or XLA's grouped convolution ("xla"). `model` is
  not modified."""
  if any(isinstance(b.pointwise, PrunablePointwiseConv) for b in model.blocks):
    model = nnx.clone(model)
    convert_to_sparse(model)  # patterns need concrete masks: outside jit
  return _fold_sparse_jit(model, precision, depthwise)


def fold_dense_for_inference(model: MobileNetV1, layout: str = "NHWC", pointwise: str = "conv",
                             precision: str | None = "HIGHEST",
                             depthwise: str = "taps") -> InferenceMobileNet:
  """The dense inference network: batch norm folded, every layer through XLA in `layout`
  (NHWC or NCHW); pointwise layers as 1x1 convolutions ("conv") or matrix products ("gemm");
  depthwise layers as in `fold_for_inference`."""
  if layout not in ("NHWC", "NCHW") or pointwise not in ("conv", "gemm"):
    raise ValueError(f"layout must be NHWC or NCHW and pointwise conv or gemm, got {layout}, "
                     f"{pointwise}")
  return _fold_dense_jit(model, layout, pointwise, precision, depthwise)
