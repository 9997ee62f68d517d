"""Checkpoints of (sparse) models: every NNX variable, patterns included, in one .npz file.

`model.npz` holds each variable's array under its path in the module graph
("blocks/0/attn/pattern/column_indices", "blocks/0/mlp/fc1/values", ...), `config.json` the
TransformerConfig (which says which layers are sparse) plus free-form metadata, `optimizer.npz`
(optional) the optimizer state's leaves in tree order. Restoring builds the model from the
config, then puts every saved array in place; a sparse layer's pattern may have any nnz (it
came from pruning), so variables are replaced, not copied into. Arrays are saved bit-exact, so
the restored model's outputs are identical.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .model import TransformerConfig, build_model


def _variables(model):
  """{path: Variable} for every NNX variable of the model graph."""
  return {"/".join(str(k) for k in path): node for path, node in nnx.iter_graph(model)
          if isinstance(node, nnx.Variable)}


def _set_value(variable, value):
  if hasattr(variable, "set_value"):  # flax >= 0.12
    variable.set_value(value)
  else:
    variable.value = value


def save_checkpoint(directory, model, metadata: dict | None = None, opt_state=None) -> Path:
  directory = Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  arrays = {path: np.asarray(var[...]) for path, var in _variables(model).items()}
  np.savez(directory / "model.npz", **arrays)
  if opt_state is not None:
    leaves = jax.tree_util.tree_leaves(opt_state)
    np.savez(directory / "optimizer.npz", *[np.asarray(leaf) for leaf in leaves])
  info = {"config": dataclasses.asdict(model.config), "metadata": metadata or {}}
  (directory / "config.json").write_text(json.dumps(info, indent=2))
  return directory


def load_checkpoint(directory):
  """(model, metadata): the model rebuilt from config.json with every saved array in place."""
  directory = Path(directory)
  info = json.loads((directory / "config.json").read_text())
  model = build_model(TransformerConfig(**info["config"]))
  variables = _variables(model)
  with np.load(directory / "model.npz") as saved:
    missing = set(variables) ^ set(saved.files)
    if missing:
      raise ValueError(f"checkpoint {directory} does not fit its config: {sorted(missing)[:5]}")
    for path, var in variables.items():
      _set_value(var, jnp.asarray(saved[path]))
  return model, info["metadata"]


def load_optimizer_state(directory, template):
  """The saved optimizer state in the structure of `template` (e.g. tx.init(params)), or None
  when there is none or it does not fit (e.g. saved before a dense -> sparse conversion)."""
  path = Path(directory) / "optimizer.npz"
  if not path.exists():
    return None
  leaves, treedef = jax.tree_util.tree_flatten(template)
  with np.load(path) as saved:
    loaded = [saved[f"arr_{i}"] for i in range(len(saved.files))]
  if len(loaded) != len(leaves) or any(a.shape != b.shape for a, b in zip(loaded, leaves)):
    return None
  return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in loaded])
