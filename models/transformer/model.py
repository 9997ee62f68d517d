"""A decoder-only Transformer whose attention and linear layers can each be dense or sparse.

Embeddings (tokens + learned positions) -> N pre-LayerNorm blocks (attention, ReLU MLP) -> final
LayerNorm -> output projection. Inside the blocks the activations are features-first,
(d_model, batch, length): sparse linear layers then run as one SpMM each with no transpose
(W @ x), the MLP's bias + ReLU is fused into the SpMM, and only the attention reshapes to heads.
The output projection and embeddings stay dense (as in the paper's pruned models).
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from jax_sparse_dl.nn import SparseAttention, causal_decay_pattern, local_strided_pattern
from jax_sparse_dl.nn.attention import make_linear

_List = getattr(nnx, "List", list)  # flax >= 0.12 wants nnx.List for lists of modules


@dataclasses.dataclass(frozen=True)  # frozen: hashable, a static part of the NNX graph
class TransformerConfig:
  vocab_size: int = 256
  seq_len: int = 256
  d_model: int = 256
  num_heads: int = 8
  num_layers: int = 4
  mlp_ratio: int = 4
  attention: str = "sparse"          # sparse | masked (XLA, same pattern) | dense (full causal)
  pattern: str = "decay"             # decay (local + random decaying) | strided (local + strided)
  attention_sparsity: float = 0.9    # decay pattern, against the full length x length matrix
  local: int = 32                    # local band width (both patterns)
  stride: int = 32                   # strided pattern
  pattern_seed: int = 0
  linear: str = "dense"              # dense | prunable (dense x mask) | sparse (CSR)
  weight_sparsity: float = 0.9       # initial sparsity of a freshly built sparse linear layer

  def attention_pattern(self):
    if self.pattern == "decay":
      return causal_decay_pattern(self.seq_len, self.attention_sparsity, self.local,
                                  seed=self.pattern_seed)
    if self.pattern == "strided":
      return local_strided_pattern(self.seq_len, self.local, self.stride)
    raise ValueError(f"pattern must be 'decay' or 'strided', got {self.pattern!r}")


class FeatureLayerNorm(nnx.Module):
  """LayerNorm over axis 0 of features-first activations (d, ...)."""

  def __init__(self, features: int, eps: float = 1e-5):
    self.eps = eps
    self.scale = nnx.Param(jnp.ones((features,)))
    self.bias = nnx.Param(jnp.zeros((features,)))

  def __call__(self, x):
    mean = x.mean(axis=0, keepdims=True)
    var = jnp.square(x - mean).mean(axis=0, keepdims=True)
    shape = (-1,) + (1,) * (x.ndim - 1)
    y = (x - mean) * jax.lax.rsqrt(var + self.eps)
    return y * self.scale[...].reshape(shape) + self.bias[...].reshape(shape)


class MLP(nnx.Module):
  def __init__(self, config: TransformerConfig, rngs: nnx.Rngs):
    hidden = config.mlp_ratio * config.d_model
    kw = dict(sparsity=config.weight_sparsity, rngs=rngs)
    self.fc1 = make_linear(config.linear, config.d_model, hidden, **kw)
    self.fc2 = make_linear(config.linear, hidden, config.d_model, **kw)

  def __call__(self, x):
    return self.fc2(self.fc1(x, relu=True, features_first=True), features_first=True)


class Block(nnx.Module):
  def __init__(self, config: TransformerConfig, pattern, rngs: nnx.Rngs):
    self.norm1 = FeatureLayerNorm(config.d_model)
    self.attn = SparseAttention(config.d_model, config.num_heads, pattern,
                                attention=config.attention, linear=config.linear,
                                weight_sparsity=config.weight_sparsity, rngs=rngs)
    self.norm2 = FeatureLayerNorm(config.d_model)
    self.mlp = MLP(config, rngs)

  def __call__(self, x):
    x = x + self.attn(self.norm1(x))
    return x + self.mlp(self.norm2(x))


class Transformer(nnx.Module):
  """tokens (batch, length) int -> logits (batch, length, vocab)."""

  def __init__(self, config: TransformerConfig, rngs: nnx.Rngs):
    self.config = config
    d = config.d_model
    self.token_embedding = nnx.Embed(config.vocab_size, d, rngs=rngs)
    self.position_embedding = nnx.Param(0.02 * jax.random.normal(rngs.params(),
                                                                 (config.seq_len, d)))
    pattern = config.attention_pattern()  # one pattern shared by every layer
    self.blocks = _List([Block(config, pattern, rngs) for _ in range(config.num_layers)])
    self.final_norm = FeatureLayerNorm(d)
    self.head = nnx.Linear(d, config.vocab_size, rngs=rngs)

  def __call__(self, tokens):
    length = tokens.shape[-1]
    x = self.token_embedding(tokens) + self.position_embedding[...][:length]
    x = jnp.moveaxis(x, -1, 0)  # features-first for the blocks
    for block in self.blocks:
      x = block(x)
    x = jnp.moveaxis(self.final_norm(x), 0, -1)
    return self.head(x)


def build_model(config: TransformerConfig, seed: int = 0) -> Transformer:
  return Transformer(config, nnx.Rngs(seed))
