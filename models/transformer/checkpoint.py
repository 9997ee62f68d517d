"""Checkpoints of the Transformer (jax_sparse_dl.nn.checkpoint): every NNX variable, patterns
included, the TransformerConfig (which says which layers are sparse) with free-form metadata,
and optionally the optax state's leaves in tree order. Restoring builds the model from the
config and puts every saved array in place: outputs are bit-identical.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jax_sparse_dl.nn import checkpoint

from .model import TransformerConfig, build_model


def save_checkpoint(directory, model, metadata: dict | None = None, opt_state=None):
  arrays = checkpoint.variable_arrays(model, "model/")
  if opt_state is not None:
    for i, leaf in enumerate(jax.tree_util.tree_leaves(opt_state)):
      arrays[f"optimizer/{i}"] = leaf
  info = {"config": dataclasses.asdict(model.config), "metadata": metadata or {}}
  return checkpoint.save(directory, arrays, info)


def load_checkpoint(directory):
  """(model, metadata): the model rebuilt from its config with every saved array in place."""
  info, arrays = checkpoint.load(directory)
  model = build_model(TransformerConfig(**info["config"]))
  checkpoint.restore_variables(model, arrays, "model/")
  return model, info["metadata"]


def load_optimizer_state(directory, template):
  """The saved optimizer state in the structure of `template` (e.g. tx.init(params)), or None
  when there is none or it does not fit (e.g. saved before a dense -> sparse conversion)."""
  _, arrays = checkpoint.load(directory)
  leaves, treedef = jax.tree_util.tree_flatten(template)
  saved = [arrays.get(f"optimizer/{i}") for i in range(len(leaves))]
  if sum(key.startswith("optimizer/") for key in arrays) != len(leaves) or any(
      a is None or a.shape != jnp.shape(b) for a, b in zip(saved, leaves)):
    return None
  return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in saved])
