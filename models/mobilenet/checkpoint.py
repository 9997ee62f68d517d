"""Checkpoints: every array of the nnx state in one .npz, the configuration in JSON.

`state.npz` holds the model's (and optionally the optimizer's) state leaves, keyed by their
pytree path, plus the CSR pattern of each sparse layer (`pattern/<block>/row_offsets`,
`.../column_indices`). `checkpoint.json` holds the model configuration and free metadata.
Restoring rebuilds the model from the configuration, converts the sparse layers with the saved
patterns and loads every leaf, so outputs are reproduced exactly.
"""
from __future__ import annotations

import json
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .model import MobileNetConfig, MobileNetV1, convert_to_sparse, create_model, sparse_patterns

STATE_FILE, META_FILE = "state.npz", "checkpoint.json"


def _flat_state(obj, prefix: str) -> dict:
  leaves = jax.tree_util.tree_flatten_with_path(nnx.state(obj))[0]
  return {prefix + jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def load_state(obj, arrays, prefix: str) -> None:
  """Sets every state leaf of `obj` from `arrays` (keys as written by `save`); shapes and dtypes
  must match, and no leaf may be missing."""
  state = nnx.state(obj)
  paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(state)
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


def save(directory, model: MobileNetV1, optimizer=None, meta: dict | None = None) -> None:
  """Writes state.npz and checkpoint.json into `directory` (replacing them atomically)."""
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  arrays = _flat_state(model, "model")
  if optimizer is not None:
    arrays.update(_flat_state(optimizer, "optimizer"))
  for block, (offsets, columns) in sparse_patterns(model).items():
    arrays[f"pattern/{block}/row_offsets"] = offsets
    arrays[f"pattern/{block}/column_indices"] = columns
  with open(directory / (STATE_FILE + ".tmp"), "wb") as f:
    np.savez(f, **arrays)
  os.replace(directory / (STATE_FILE + ".tmp"), directory / STATE_FILE)
  info = {"config": model.config.to_dict(), "has_optimizer": optimizer is not None,
          "meta": meta or {}}
  (directory / (META_FILE + ".tmp")).write_text(json.dumps(info, indent=2))
  os.replace(directory / (META_FILE + ".tmp"), directory / META_FILE)


def exists(directory) -> bool:
  directory = pathlib.Path(directory)
  return (directory / STATE_FILE).exists() and (directory / META_FILE).exists()


def restore(directory):
  """(model, meta, arrays): the model with every saved leaf loaded; `arrays` (the npz contents)
  lets the caller restore an optimizer built for this model with `load_state(opt, arrays,
  "optimizer")`."""
  directory = pathlib.Path(directory)
  info = json.loads((directory / META_FILE).read_text())
  with np.load(directory / STATE_FILE) as npz:
    arrays = {key: npz[key] for key in npz.files}
  model = create_model(MobileNetConfig.from_dict(info["config"]))
  patterns = {}
  for key in arrays:
    if key.startswith("pattern/") and key.endswith("/row_offsets"):
      block = int(key.split("/")[1])
      patterns[block] = (arrays[key], arrays[f"pattern/{block}/column_indices"])
  if patterns:
    convert_to_sparse(model, patterns)
  load_state(model, arrays, "model")
  return model, info["meta"], arrays
