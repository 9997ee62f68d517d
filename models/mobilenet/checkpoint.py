"""Checkpoints of MobileNetV1 (jax_sparse_dl.nn.checkpoint): every NNX variable of the model
(the sparse layers' patterns included) and optionally the optimizer's state leaves, with the
configuration and free metadata in JSON. Restoring rebuilds the model from the configuration,
converts the pointwise layers that were sparse with their saved patterns and loads every
array, so outputs are reproduced exactly.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jax_sparse_dl.nn import checkpoint

from .model import MobileNetConfig, convert_to_sparse, create_model

exists = checkpoint.exists


def _flat_state(obj, prefix: str) -> dict:
  leaves = jax.tree_util.tree_flatten_with_path(nnx.state(obj))[0]
  return {prefix + jax.tree_util.keystr(path): leaf for path, leaf in leaves}


def load_state(obj, arrays, prefix: str) -> None:
  """Sets every state leaf of `obj` (an optimizer) from `arrays` (keys as written by `save`);
  shapes and dtypes must match, and no leaf may be missing."""
  paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(nnx.state(obj))
  leaves = []
  for path, leaf in paths_leaves:
    key = prefix + jax.tree_util.keystr(path)
    if key not in arrays:
      raise KeyError(f"checkpoint has no array {key!r}")
    saved = arrays[key]
    if saved.shape != leaf.shape or saved.dtype != leaf.dtype:
      raise ValueError(f"checkpoint array {key!r} is {saved.dtype}{saved.shape}, the model "
                       f"expects {leaf.dtype}{leaf.shape}")
    leaves.append(jnp.asarray(saved))
  nnx.update(obj, jax.tree_util.tree_unflatten(treedef, leaves))


def save(directory, model, optimizer=None, meta: dict | None = None) -> None:
  arrays = checkpoint.variable_arrays(model, "model/")
  if optimizer is not None:
    arrays.update(_flat_state(optimizer, "optimizer"))
  info = {"config": model.config.to_dict(), "has_optimizer": optimizer is not None,
          "meta": meta or {}}
  checkpoint.save(directory, arrays, info)


def restore(directory):
  """(model, meta, arrays): the model with every saved array loaded; `arrays` lets the caller
  restore an optimizer built for this model with `load_state(opt, arrays, "optimizer")`."""
  info, arrays = checkpoint.load(directory)
  model = create_model(MobileNetConfig.from_dict(info["config"]))
  patterns = {}
  for i in range(len(model.blocks)):
    offsets = arrays.get(f"model/blocks/{i}/pointwise/pattern/row_offsets")
    if offsets is not None:
      patterns[i] = (offsets, arrays[f"model/blocks/{i}/pointwise/pattern/column_indices"])
  if patterns:
    convert_to_sparse(model, patterns)
  checkpoint.restore_variables(model, arrays, "model/")
  return model, info["meta"], arrays
