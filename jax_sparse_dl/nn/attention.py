"""Sparse multi-head attention for Flax NNX: SDDMM -> csr_softmax -> SpMM at a fixed pattern.

Queries, keys and values are (*batch, heads, length, head_dim); batch and heads are leading
batch dimensions of one shared pattern, so each of the three ops is one kernel launch for all
of them. `masked_dense_attention` is the XLA baseline (dense scores, masked softmax) on the same
mask; `SparseAttention(..., attention="masked")` runs it inside the same module, so sparse and
dense agree on one mask, and `attention="dense"` is plain causal attention.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from ..csr import CSR, Sparsity, row_ids
from ..sddmm import sddmm
from ..softmax import csr_softmax
from ..spmm import spmm
from .linear import DenseLinear, PrunableLinear, SparseLinear, SparsePattern

ATTENTION_KINDS = ("sparse", "masked", "dense")
LINEAR_KINDS = {"dense": DenseLinear, "prunable": PrunableLinear, "sparse": SparseLinear}


def sparse_attention(q, k, v, pattern: Sparsity):
  """softmax(q k^T / sqrt(d)) v over the pattern's entries only. q, k, v: (..., L, d)."""
  scale = 1.0 / math.sqrt(q.shape[-1])
  # sddmm reads only the pattern of its CSR argument; the zeros are dead code under jit.
  at_pattern = CSR(jnp.zeros((pattern.nnz,), q.dtype), pattern)
  scores = sddmm(q * jnp.asarray(scale, q.dtype), k, at_pattern)
  return spmm(csr_softmax(scores), v)


def masked_dense_attention(q, k, v, mask):
  """The XLA baseline: dense (..., L, L) scores, entries outside the bool `mask` excluded from
  the softmax. Rows must keep at least one entry."""
  scale = 1.0 / math.sqrt(q.shape[-1])
  scores = jnp.einsum("...qd,...kd->...qk", q, k) * jnp.asarray(scale, q.dtype)
  scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
  # 16-bit scores are normalised in float32, as the sparse kernels do.
  softmax_dtype = jnp.promote_types(scores.dtype, jnp.float32)
  probs = jax.nn.softmax(scores.astype(softmax_dtype), axis=-1).astype(q.dtype)
  return jnp.einsum("...qk,...kd->...qd", probs, v)


def mask_from_pattern(pattern: Sparsity):
  """The pattern as a bool (m, k) array, built with JAX (works on traced patterns)."""
  rows = row_ids(pattern.row_offsets, pattern.nnz)
  return jnp.zeros(pattern.shape, bool).at[rows, pattern.column_indices].set(True)


def make_linear(kind: str, in_features: int, out_features: int, *, sparsity: float,
                rngs: nnx.Rngs):
  if kind not in LINEAR_KINDS:
    raise ValueError(f"linear kind must be one of {sorted(LINEAR_KINDS)}, got {kind!r}")
  if kind == "sparse":
    return SparseLinear(in_features, out_features, sparsity=sparsity, rngs=rngs)
  return LINEAR_KINDS[kind](in_features, out_features, rngs=rngs)


class SparseAttention(nnx.Module):
  """Causal multi-head self-attention at a fixed sparsity pattern.

  Activations are features-first, x (d_model, *batch, length) -> the same shape (the layout
  in which sparse projections need no transposes). The fused q/k/v projection and the output
  projection are dense, prunable or sparse linear layers (`linear`).
  """

  def __init__(self, d_model: int, num_heads: int, pattern, *, attention: str = "sparse",
               linear: str = "dense", weight_sparsity: float = 0.9, rngs: nnx.Rngs):
    if d_model % num_heads:
      raise ValueError(f"d_model ({d_model}) must be a multiple of num_heads ({num_heads})")
    if attention not in ATTENTION_KINDS:
      raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
    if isinstance(pattern, CSR):
      pattern = pattern.sparsity
    self.d_model, self.num_heads, self.attention = d_model, num_heads, attention
    self.pattern = SparsePattern(pattern)
    self.qkv = make_linear(linear, d_model, 3 * d_model, sparsity=weight_sparsity, rngs=rngs)
    self.out = make_linear(linear, d_model, d_model, sparsity=weight_sparsity, rngs=rngs)

  def attend(self, q, k, v):
    """q, k, v (*batch, heads, length, head_dim) -> the same shape."""
    pattern = self.pattern.get()
    if self.attention == "sparse":
      return sparse_attention(q, k, v, pattern)
    length = q.shape[-2]
    if self.attention == "masked":
      mask = mask_from_pattern(pattern)
    else:
      mask = jnp.tril(jnp.ones((length, length), bool))
    return masked_dense_attention(q, k, v, mask)

  def __call__(self, x):
    d_model, *batch, length = x.shape
    heads, head_dim = self.num_heads, d_model // self.num_heads
    qkv = self.qkv(x, features_first=True).reshape(3, heads, head_dim, -1, length)
    q, k, v = jnp.transpose(qkv, (0, 3, 1, 4, 2))  # each (batch, heads, length, head_dim)
    out = self.attend(q, k, v)
    out = jnp.transpose(out, (1, 3, 0, 2)).reshape(d_model, *batch, length)
    return self.out(out, features_first=True)
