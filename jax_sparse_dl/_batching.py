"""Batch dimensions shared by the primitives: numpy-style broadcasting and the vmap rule.

Inside a primitive every float operand has the output's batch rank (callers pad with leading
size-1 dimensions, a free reshape), and each batch dimension is 1 or the output's size. The
kernels broadcast size-1 dimensions themselves, so nothing is copied.
"""
from __future__ import annotations

import functools

import jax.numpy as jnp

from . import manual_axes


def accumulation_dtype(dtype):
  """float64 accumulates in float64; everything else in float32 (as the CUDA kernels do)."""
  return jnp.float64 if dtype == jnp.float64 else jnp.float32


# The pure-JAX lowerings multiply densely (one fast dot) while the dense operand stays below this
# many elements; a gather/scatter formulation is an order of magnitude slower on CPU.
DENSE_REFERENCE_LIMIT = 1 << 26


def broadcast_batch(op: str, operands) -> tuple[int, ...]:
  """The broadcast batch shape of (name, batch_shape) pairs of equal rank; ValueError if none."""
  rank = len(operands[0][1])
  out = []
  for axis in range(rank):
    sizes = {s[axis] for _, s in operands if s[axis] != 1}
    if len(sizes) > 1:
      described = ", ".join(f"{n} {tuple(s)}" for n, s in operands)
      raise ValueError(f"{op}: batch dimensions do not broadcast: {described}")
    out.append(sizes.pop() if sizes else 1)
  return tuple(out)


def align_batch(op: str, operands):
  """Pads (name, array, core_rank) operands to one batch rank; returns (arrays, batch shape)."""
  rank = max(a.ndim - core for _, a, core in operands)
  arrays = [a.reshape((1,) * (rank - (a.ndim - core)) + a.shape) for _, a, core in operands]
  batch = broadcast_batch(op, [(n, a.shape[:rank]) for (n, _, _), a in zip(operands, arrays)])
  return arrays, batch


def unbroadcast(x, shape):
  """Sums x over the batch dimensions where `shape` (same rank) has size 1: the transpose of a
  broadcast."""
  axes = tuple(i for i, (a, b) in enumerate(zip(x.shape, shape)) if b == 1 and a != 1)
  return x.sum(axes, keepdims=True).reshape(shape) if axes else x


def vmap_rule(prim, core_labels, name: str, bind=None):
  """A batching rule: the vmapped axis becomes a new leading batch dimension of every float
  operand (size 1 where unbatched), so a vmap stays one primitive call, one kernel launch.

  `core_labels(**params)` labels the non-batch dimensions of each float operand and of the
  result (partitioning.py); the operands after the float ones are the sparsity pattern, which has
  no batch dimension. `bind` replaces the primitive's bind (e.g. to broadcast the operands first).
  """
  bind = bind or functools.partial(manual_axes.bind, prim)

  def rule(args, dims, **params):
    ranks = [len(labels) for labels in core_labels(**params)[0]]
    n_float = len(ranks)
    if any(d is not None for d in dims[n_float:]):
      raise NotImplementedError(
          f"{name}: vmap over the sparsity pattern is not supported (all batch members share one "
          "pattern); map only the values, e.g. jax.vmap(lambda v: f(A.with_values(v)))")
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    rank = max(a.ndim - c - (d is not None) for a, d, c in zip(args, dims, ranks))
    floats = []
    for a, d, core in zip(args[:n_float], dims, ranks):
      if d is None:
        a = a.reshape((1,) * (1 + rank - (a.ndim - core)) + a.shape)
      else:
        a = jnp.moveaxis(a, d, 0)
        a = a.reshape((size,) + (1,) * (rank - (a.ndim - 1 - core)) + a.shape[1:])
      floats.append(a)
    return bind(*floats, *args[n_float:], **params), 0

  return rule
