"""Pointwise (1x1) convolutions on channels-first activations: dense, prunable and sparse.

A 1x1 convolution of x (*batch, Cin, H, W) is y[b] = W @ x[b].reshape(Cin, H*W) with W of shape
(Cout, Cin). With W in CSR this is one SpMM whose batch dimensions broadcast against the shared
pattern (one kernel launch for all images, no copies), and the bias + ReLU that follow (batch norm
folded into them at inference) run in the SpMM's epilogue.

- `pointwise_conv`: the dense product; `PointwiseConv`: a dense kernel (Cout, Cin), optional bias
  and ReLU.
- `PrunablePointwiseConv`: the same with a `PruningMask` (the protocol of `pruning.py`);
  `.to_sparse()` freezes the mask into a `SparsePointwiseConv`.
- `SparsePointwiseConv`: CSR pattern (state, not trained) and values (trained), via `jsdl.spmm`.
- `depthwise_conv`: a depthwise k x k convolution as k*k shifted, strided multiply-adds (one
  fused XLA loop, exact float32), the depthwise layer of the MobileNet models; `shifted_slices`,
  those slices.
- `fold_batch_norm`: a weight (dense, out channels first, or CSR) and the batch norm after it ->
  the scaled weight and the bias of one affine layer.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..csr import CSR, row_ids
from ..spmm import spmm
from .linear import SparsePattern, fan_in_normal
from .pruning import PruningMask, csr_from_mask


def lax_precision(name):
  """None (DEFAULT) or the jax.lax.Precision called `name`; names keep modules hashable."""
  return None if name is None else jax.lax.Precision[str(name).upper()]


def depthwise_conv(x, kernel, stride: int, layout: str = "NCHW"):
  """Depthwise k x k convolution, padding (k - 1) / 2, of x in `layout` (NCHW or NHWC) with one
  k x k filter per channel: kernel (C, 1, k, k) for NCHW (OIHW), (k, k, 1, C) for NHWC (HWIO).

  Computed as the sum of k*k shifted, strided slices times per-channel weights, which XLA fuses
  into one memory-bound loop with float32 products. XLA's grouped convolution at precision
  HIGHEST took 0.5 ms for one stride-2 layer of MobileNet at batch 1 on an H200 (the per-layer
  table in docs/gpu-runs), about the whole network's time."""
  if layout not in ("NCHW", "NHWC"):
    raise ValueError(f"depthwise_conv: layout must be NCHW or NHWC, got {layout!r}")
  nchw = layout == "NCHW"
  size = kernel.shape[-1] if nchw else kernel.shape[0]
  channels = x.shape[-3] if nchw else x.shape[-1]
  want = (channels, 1, size, size) if nchw else (size, size, 1, channels)
  if x.ndim != 4 or kernel.shape != want:
    raise ValueError(f"depthwise_conv: x {x.shape} ({layout}) needs a kernel {want}, "
                     f"got {kernel.shape}")
  out = None
  for (i, j), tap in zip(np.ndindex(size, size), shifted_slices(x, size, stride, layout)):
    w = kernel[:, 0, i, j][:, None, None] if nchw else kernel[i, j, 0, :]
    out = tap * w if out is None else out + tap * w
  return out


def shifted_slices(x, size: int, stride: int, layout: str = "NCHW"):
  """The k*k taps of a k x k convolution (k = size) with padding (k - 1) / 2: for each kernel
  position (i, j), row-major, the strided slice of padded x that it multiplies, of the output's
  spatial shape. x (N, C, H, W) for NCHW, (N, H, W, C) for NHWC."""
  pad = (size - 1) // 2
  h_axis = 2 if layout == "NCHW" else 1
  spatial = [(0, 0)] * 4
  spatial[h_axis] = spatial[h_axis + 1] = (pad, pad)
  xp = jnp.pad(x, spatial)
  h_out = (x.shape[h_axis] + 2 * pad - size) // stride + 1
  w_out = (x.shape[h_axis + 1] + 2 * pad - size) // stride + 1
  taps = []
  for i, j in np.ndindex(size, size):
    start, limit, strides = [0] * 4, list(xp.shape), [1] * 4
    start[h_axis], start[h_axis + 1] = i, j
    limit[h_axis] = i + stride * (h_out - 1) + 1
    limit[h_axis + 1] = j + stride * (w_out - 1) + 1
    strides[h_axis] = strides[h_axis + 1] = stride
    taps.append(jax.lax.slice(xp, start, limit, strides))
  return taps


def _as_matrices(x, in_channels: int):
  """(*batch, C, H, W) -> (*batch, C, H*W): each image's pixels become the SpMM's columns."""
  if x.ndim < 3 or x.shape[-3] != in_channels:
    raise ValueError(f"pointwise conv: expected (..., {in_channels}, H, W), got {x.shape}")
  *batch, c, h, w = x.shape
  return x.reshape(*batch, c, h * w), (h, w)


def pointwise_conv(x, weight, precision: str | None = None):
  """Dense 1x1 convolution of channels-first x (*batch, Cin, H, W) with weight (Cout, Cin).

  A matmul of W by x viewed as (*batch, Cin, H*W): its product comes out (Cout, *batch, H*W), and
  moving the batches costs one copy of rows of H*W. The einsum of the same product puts x first
  and transposes every element of (*batch, H*W, Cout), which made XLA's CPU code 1.1-3.3x slower
  on MobileNet's shapes (forward and gradient)."""
  x2, (h, w) = _as_matrices(x, weight.shape[1])
  y = jnp.matmul(weight, x2, precision=lax_precision(precision))
  return y.reshape(*y.shape[:-1], h, w)


class PointwiseConv(nnx.Module):
  """Dense 1x1 convolution of channels-first activations: relu?(W @ x + b) per image."""

  def __init__(self, in_channels: int, out_channels: int, *, use_bias: bool = False,
               relu: bool = False, precision: str | None = None, rngs: nnx.Rngs,
               dtype=jnp.float32):
    self.in_channels, self.out_channels = in_channels, out_channels
    self.kernel = nnx.Param(fan_in_normal(rngs.params(), (out_channels, in_channels), in_channels,
                                          2.0, dtype))
    self.bias = nnx.Param(jnp.zeros((out_channels,), dtype)) if use_bias else None
    self.relu, self.precision = relu, precision

  def weight(self):
    """The effective (Cout, Cin) weight."""
    return self.kernel[...]

  def __call__(self, x):
    y = pointwise_conv(x, self.weight(), self.precision)
    if self.bias is not None:
      y = y + self.bias[...][:, None, None]
    return jnp.maximum(y, 0) if self.relu else y


class PrunablePointwiseConv(PointwiseConv):
  """A `PointwiseConv` whose effective weight is kernel * mask (gradual magnitude pruning)."""

  def __init__(self, in_channels: int, out_channels: int, **kwargs):
    super().__init__(in_channels, out_channels, **kwargs)
    self.mask = PruningMask(jnp.ones_like(self.kernel[...]))

  def weight(self):
    return self.kernel[...] * self.mask[...]

  def to_sparse(self) -> "SparsePointwiseConv":
    """The layer with its mask frozen into a CSR pattern (same outputs, values trainable)."""
    csr = csr_from_mask(self.weight(), self.mask[...])
    bias = None if self.bias is None else self.bias[...]
    return SparsePointwiseConv(csr, bias, relu=self.relu, precision=self.precision)


class SparsePointwiseConv(nnx.Module):
  """1x1 convolution with a CSR weight (Cout, Cin): y[b] = relu?(W @ x[b] + bias) as one
  batched `jsdl.spmm` (bias and ReLU fused into its epilogue)."""

  def __init__(self, weight: CSR, bias=None, *, relu: bool = False,
               precision: str | None = None):
    if not isinstance(weight, CSR) or weight.batch_shape:
      raise TypeError(f"SparsePointwiseConv needs an unbatched CSR weight, got {weight!r}")
    self.out_channels, self.in_channels = weight.shape
    self.pattern = SparsePattern(weight.sparsity)
    self.values = nnx.Param(weight.values)
    self.bias = None if bias is None else nnx.Param(jnp.asarray(bias, weight.dtype))
    self.relu, self.precision = relu, precision

  @classmethod
  def from_dense(cls, weight, bias=None, **kwargs) -> "SparsePointwiseConv":
    """From a dense (Cout, Cin) weight: its nonzeros become the pattern (concrete arrays)."""
    return cls(CSR.fromdense(weight), bias, **kwargs)

  @property
  def csr(self) -> CSR:
    return CSR(self.values[...], self.pattern.get())

  @property
  def nnz(self) -> int:
    return self.values[...].shape[-1]

  def weight(self):
    """The dense (Cout, Cin) weight (for references and the dense baseline)."""
    return self.csr.todense()

  def __call__(self, x):
    x2, (h, w) = _as_matrices(x, self.in_channels)
    bias = None if self.bias is None else self.bias[...]
    y = spmm(self.csr, x2, bias=bias, relu=self.relu, precision=self.precision)
    return y.reshape(*y.shape[:-1], h, w)


def fold_batch_norm(weight, mean, var, *, scale=None, offset=None, epsilon: float = 1e-5,
                    bias=None):
  """Folds y = scale * (W x + bias - mean) / sqrt(var + eps) + offset into y = W' x + bias'.

  weight: a dense array with output channels on axis 0 (pointwise (Cout, Cin), conv OIHW) or a
  CSR (Cout, Cin), whose values are scaled row by row (the pattern is kept). Returns
  (weight', bias'), weight' of the same kind as weight.
  """
  factor = jax.lax.rsqrt(jnp.asarray(var) + epsilon)
  if scale is not None:
    factor = factor * scale
  new_bias = (-jnp.asarray(mean) if bias is None else bias - mean) * factor
  if offset is not None:
    new_bias = new_bias + offset
  if isinstance(weight, CSR):
    rows = row_ids(weight.row_offsets, weight.nnz)
    return weight.with_values(weight.values * factor[rows].astype(weight.dtype)), new_bias
  weight = jnp.asarray(weight)
  return weight * factor.reshape(-1, *([1] * (weight.ndim - 1))).astype(weight.dtype), new_bias


def fold_nnx_batch_norm(weight, bn: nnx.BatchNorm, bias=None):
  """`fold_batch_norm` with the running statistics and affine parameters of an nnx.BatchNorm."""
  return fold_batch_norm(
      weight, bn.mean[...], bn.var[...],
      scale=None if bn.scale is None else bn.scale[...],
      offset=None if bn.bias is None else bn.bias[...],
      epsilon=bn.epsilon, bias=bias)
