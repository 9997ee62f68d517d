"""Gradual magnitude pruning (Zhu & Gupta 2017, the schedule the paper's models were pruned with).

Training runs dense layers whose weight is multiplied by a 0/1 mask. On a schedule, `update_masks`
re-selects each layer's largest-magnitude weights; when the target is reached the pattern is
frozen and the layer is converted to a CSR weight (`csr_from_mask`), which then trains its
values only.

The protocol a prunable NNX module follows: an attribute `kernel` (an `nnx.Param`, any layout)
and an attribute `mask` (a `PruningMask` of the same shape). The effective weight is
`kernel * mask`; `update_masks` works on every such module in a model.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..csr import CSR


class PruningMask(nnx.Variable):
  """A 0/1 mask on a prunable layer's kernel: state, not a trainable parameter."""


def magnitude_mask(w, sparsity: float):
  """A mask (w's shape and dtype) keeping the round((1 - sparsity) * w.size) largest |w|.

  Exactly that many entries are kept, also among ties (the earlier flat index wins), so a
  layer's sparsity is what the schedule asked for.
  """
  if not 0.0 <= sparsity <= 1.0:
    raise ValueError(f"sparsity must lie in [0, 1], got {sparsity}")
  w = jnp.asarray(w)
  keep = int(round((1.0 - float(sparsity)) * w.size))
  order = jnp.argsort(-jnp.abs(w).ravel(), stable=True)
  flat = jnp.zeros((w.size,), w.dtype).at[order[:keep]].set(1)
  return flat.reshape(w.shape)


def polynomial_sparsity(step, target: float, begin_step: int, end_step: int,
                        initial: float = 0.0, power: float = 3.0) -> float:
  """Sparsity at `step`: `initial` before begin_step, `target` from end_step on, and
  s = target + (initial - target) * (1 - progress) ** power in between (fast at first, slow
  near the end, when the network has less to give)."""
  if end_step <= begin_step:
    raise ValueError(f"end_step ({end_step}) must come after begin_step ({begin_step})")
  progress = min(max((float(step) - begin_step) / (end_step - begin_step), 0.0), 1.0)
  return float(target + (initial - target) * (1.0 - progress) ** power)


def prunable_modules(model):
  """(path, module) for every module of `model` with a `kernel` Param and a `PruningMask`."""
  for path, module in nnx.iter_graph(model):
    if isinstance(module, nnx.Module) and isinstance(getattr(module, "mask", None), PruningMask) \
        and isinstance(getattr(module, "kernel", None), nnx.Param):
      yield path, module


def update_masks(model, sparsity: float) -> None:
  """Re-select every prunable layer's mask at `sparsity` (each layer on its own, as the paper's
  uniform-sparsity models), and zero the pruned weights so they restart from zero if regrown."""
  for _, module in prunable_modules(model):
    mask = magnitude_mask(module.kernel[...], sparsity)
    module.mask[...] = mask
    module.kernel[...] = module.kernel[...] * mask


def model_sparsity(model) -> float:
  """Fraction of masked-out weights over all prunable layers (0 if there are none)."""
  total = zeros = 0
  for _, module in prunable_modules(model):
    mask = np.asarray(module.mask[...])
    total += mask.size
    zeros += int(mask.size - np.count_nonzero(mask))
  return zeros / total if total else 0.0


def csr_from_mask(w, mask) -> CSR:
  """A CSR holding w at exactly the mask's nonzero positions (kept even where w is 0, so the
  pattern is the mask's). w and mask are concrete (m, k) arrays: the pattern is fixed here."""
  w, mask = np.asarray(w), np.asarray(mask)
  if w.ndim != 2 or w.shape != mask.shape:
    raise ValueError(f"csr_from_mask needs w and mask of one (m, k) shape, got {w.shape} "
                     f"and {mask.shape}")
  rows, cols = np.nonzero(mask)
  offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=w.shape[0]))])
  return CSR.from_parts(jnp.asarray(w[rows, cols]), offsets.astype(np.int32),
                        cols.astype(np.int32), w.shape)
