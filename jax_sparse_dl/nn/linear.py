"""Linear layers for Flax NNX: dense, prunable (dense kernel x mask) and sparse (CSR weight).

All three store the weight as W of shape (out, in) and take either layout of activations:
x (..., in) -> (..., out), or with `features_first=True` x (in, ...) -> (out, ...). The sparse
layer computes y^T = W @ x^T with one SpMM (the kernels have sparse x dense, not dense x
sparse), so features-first activations go straight into the kernel with no transpose; models
that keep their activations features-first (models/transformer) never transpose around a
sparse layer. The bias (and a ReLU) is fused into the SpMM epilogue.

The sparse pattern is a non-trainable state (`SparsePattern`, one `PatternArray` variable per
array of a `Sparsity`), the values an `nnx.Param` of shape (nnz,).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..csr import CSR, Sparsity, _SPARSITY_FIELDS
from ..spmm import spmm
from .pruning import PruningMask, csr_from_mask, magnitude_mask, prunable_modules


class PatternArray(nnx.Variable):
  """One int32 array of a sparsity pattern: state saved with the model, never trained."""


class SparsePattern(nnx.Module):
  """A `Sparsity` held as NNX state (so it is saved, restored and passed through jit)."""

  def __init__(self, sparsity: Sparsity):
    self.shape = tuple(sparsity.shape)
    for name, array in zip(_SPARSITY_FIELDS, sparsity.arrays):
      setattr(self, name, PatternArray(jnp.asarray(array, jnp.int32)))

  def get(self) -> Sparsity:
    return Sparsity(*(getattr(self, name)[...] for name in _SPARSITY_FIELDS), shape=self.shape)

  @property
  def nnz(self) -> int:
    return self.column_indices[...].shape[0]


def _apply_dense(weight, x, bias, relu, features_first):
  """W (out, in) applied to x in either layout, in x's dtype."""
  weight = weight.astype(x.dtype)
  if features_first:
    y = jnp.tensordot(weight, x, axes=(1, 0))
    if bias is not None:
      y = y + bias.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
  else:
    y = x @ weight.T
    if bias is not None:
      y = y + bias.astype(x.dtype)
  return jax.nn.relu(y) if relu else y


def fan_in_normal(key, shape, fan_in: int, gain: float = 1.0, dtype=jnp.float32):
  """Normal weights with variance gain / fan_in: 1 keeps a linear layer's outputs in scale,
  2 (He et al.) a ReLU layer's."""
  return jax.random.normal(key, shape, dtype) * (gain / max(fan_in, 1)) ** 0.5


class DenseLinear(nnx.Module):
  """y = x @ W^T + b with W (out, in): the dense baseline (same layouts as SparseLinear)."""

  def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True,
               rngs: nnx.Rngs):
    self.in_features, self.out_features = in_features, out_features
    self.kernel = nnx.Param(fan_in_normal(rngs.params(), (out_features, in_features), in_features))
    self.bias = nnx.Param(jnp.zeros((out_features,))) if use_bias else None

  def weight(self):
    return self.kernel[...]

  def __call__(self, x, *, relu: bool = False, features_first: bool = False):
    bias = None if self.bias is None else self.bias[...]
    return _apply_dense(self.weight(), x, bias, relu, features_first)


class PrunableLinear(DenseLinear):
  """A dense layer whose effective weight is kernel * mask (the protocol of nn.pruning)."""

  def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True,
               rngs: nnx.Rngs):
    super().__init__(in_features, out_features, use_bias=use_bias, rngs=rngs)
    self.mask = PruningMask(jnp.ones((out_features, in_features)))

  def weight(self):
    return self.kernel[...] * self.mask[...]

  def to_sparse(self) -> "SparseLinear":
    """A SparseLinear holding the kernel at exactly the mask's pattern (same outputs)."""
    bias = None if self.bias is None else self.bias[...]
    return SparseLinear.from_dense(self.kernel[...], self.mask[...], bias)


class SparseLinear(nnx.Module):
  """y = x @ W^T + b with W (out, in) a CSR: fixed pattern, trainable values (nnz,)."""

  def __init__(self, in_features: int, out_features: int, *, sparsity: float = 0.9,
               use_bias: bool = True, rngs: nnx.Rngs, pattern: Sparsity | None = None,
               values=None):
    """A random pattern at `sparsity` (or the given `pattern`), values scaled by the fan-in
    that the pattern leaves each output (or the given `values`)."""
    self.in_features, self.out_features = in_features, out_features
    if pattern is None:
      seed = int(jax.random.randint(rngs.params(), (), 0, 2**31 - 1))
      pattern = _random_pattern((out_features, in_features), sparsity, seed)
    if tuple(pattern.shape) != (out_features, in_features):
      raise ValueError(f"pattern shape {pattern.shape} != (out, in) = "
                       f"{(out_features, in_features)}")
    self.pattern = SparsePattern(pattern)
    if values is None:
      fan_in = max(1, pattern.nnz // max(out_features, 1))
      values = fan_in_normal(rngs.params(), (pattern.nnz,), fan_in)
    self.values = nnx.Param(jnp.asarray(values))
    self.bias = nnx.Param(jnp.zeros((out_features,))) if use_bias else None

  @classmethod
  def from_dense(cls, kernel, mask_or_sparsity, bias=None) -> "SparseLinear":
    """Converts a dense (out, in) kernel: keep the entries of a 0/1 mask, of a Sparsity /
    CSR pattern, or (a float) the largest-magnitude ones at that sparsity."""
    kernel = np.asarray(kernel)
    if isinstance(mask_or_sparsity, CSR):
      mask_or_sparsity = mask_or_sparsity.sparsity
    if isinstance(mask_or_sparsity, Sparsity):
      from .patterns import dense_mask
      mask = dense_mask(mask_or_sparsity)
    elif np.isscalar(mask_or_sparsity):
      mask = np.asarray(magnitude_mask(kernel, float(mask_or_sparsity)))
    else:
      mask = np.asarray(mask_or_sparsity)
    weight = csr_from_mask(kernel, mask)
    out_features, in_features = kernel.shape
    layer = cls(in_features, out_features, use_bias=bias is not None, rngs=nnx.Rngs(0),
                pattern=weight.sparsity, values=weight.values)
    if bias is not None:
      layer.bias[...] = jnp.asarray(bias)
    return layer

  def weight(self) -> CSR:
    return CSR(self.values[...], self.pattern.get())

  def todense(self):
    return self.weight().todense()

  def __call__(self, x, *, relu: bool = False, features_first: bool = False):
    bias = None if self.bias is None else self.bias[...].astype(x.dtype)
    weight = CSR(self.values[...].astype(x.dtype), self.pattern.get())
    if features_first:  # (in, ...) -> (out, ...): no transpose
      y = spmm(weight, x.reshape(self.in_features, -1), bias=bias, relu=relu)
      return y.reshape((self.out_features,) + x.shape[1:])
    flat = x.reshape(-1, self.in_features)
    y = spmm(weight, flat.T, bias=bias, relu=relu)
    return y.T.reshape(x.shape[:-1] + (self.out_features,))


def _random_pattern(shape, sparsity: float, seed: int) -> Sparsity:
  """Each entry kept with probability 1 - sparsity, at least one per row (no dead outputs)."""
  rng = np.random.default_rng(seed)
  keep = rng.random(shape) >= sparsity
  keep[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = True
  rows, cols = np.nonzero(keep)
  offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=shape[0]))])
  return Sparsity.build(offsets.astype(np.int32), cols.astype(np.int32), shape)


def _parent_and_key(model, path):
  parent = model
  for key in path[:-1]:
    parent = parent[key] if isinstance(key, int) else getattr(parent, key)
  return parent, path[-1]


def sparsify_prunable(model) -> int:
  """Replaces, in place, every PrunableLinear of `model` by its SparseLinear (`to_sparse`):
  the 'train with the fixed pattern' phase after pruning. Returns how many were replaced.
  The parameters change shape: map the optimizer state first, with `sparsify_optimizer_state`."""
  targets = [(path, module) for path, module in prunable_modules(model)
             if isinstance(module, PrunableLinear)]
  for path, module in targets:
    parent, key = _parent_and_key(model, path)
    if isinstance(key, int):
      parent[key] = module.to_sparse()
    else:
      setattr(parent, key, module.to_sparse())
  return len(targets)


def sparsify_optimizer_state(model, opt_state):
  """`opt_state` (an optax state over `model`'s Params) for the model that `sparsify_prunable`
  will make of `model`: every Params-shaped part (Adam's moments, ...) is converted as the
  layers are, so a replaced layer's moments keep their kept entries, and counts stay as they
  are. Training then goes on as if the layers had stayed masked; a fresh state instead restarts
  Adam from zero moments with the learning rate still high. Call it before `sparsify_prunable`."""
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  structure = jax.tree_util.tree_structure(params)

  def is_params(tree):
    return isinstance(tree, nnx.State) and jax.tree_util.tree_structure(tree) == structure

  def convert(tree):
    copy = nnx.merge(graphdef, tree, rest)
    sparsify_prunable(copy)
    return nnx.split(copy, nnx.Param, ...)[1]

  return jax.tree_util.tree_map(lambda part: convert(part) if is_params(part) else part,
                                opt_state, is_leaf=is_params)


def weight_counts(model) -> dict:
  """Stored weights of the linear layers: {'dense_equivalent': out*in summed, 'stored': what the
  layers keep (nnz for sparse and masked-in entries for prunable layers)}."""
  dense = stored = 0
  for _, node in nnx.iter_graph(model):
    if isinstance(node, SparseLinear):
      dense += node.in_features * node.out_features
      stored += node.pattern.nnz
    elif isinstance(node, PrunableLinear):
      dense += node.in_features * node.out_features
      stored += int(np.count_nonzero(np.asarray(node.mask[...])))
    elif isinstance(node, DenseLinear):
      dense += node.in_features * node.out_features
      stored += node.in_features * node.out_features
  return {"dense_equivalent": dense, "stored": stored}
