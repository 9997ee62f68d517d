"""Checkpoints of NNX models with sparse layers: every variable in one .npz, the rest in JSON.

Each `nnx.Variable` of the model graph is saved under its graph path
("blocks/0/mlp/fc1/values", "blocks/0/attn/pattern/column_indices", ...), so a sparse layer's
pattern, whatever nnz pruning left it, travels with its values. Restoring rebuilds the model's
structure (the caller's job: it knows the configuration) and puts every saved array in place
(`restore_variables`); arrays are saved bit-exact, so the restored model computes the same
outputs. Files are replaced atomically, so a run killed mid-save keeps the previous checkpoint.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx

ARRAYS, INFO = "arrays.npz", "checkpoint.json"


def variables(module) -> dict:
  """{graph path: Variable} for every NNX variable reachable from `module`."""
  return {"/".join(str(k) for k in path): node for path, node in nnx.iter_graph(module)
          if isinstance(node, nnx.Variable)}


def variable_arrays(module, prefix: str = "") -> dict:
  return {prefix + path: np.asarray(var[...]) for path, var in variables(module).items()}


def _set_value(variable, value):
  if hasattr(variable, "set_value"):  # flax >= 0.12
    variable.set_value(value)
  else:
    variable.value = value


def _complete_patterns(module, arrays: dict, prefix: str) -> dict:
  """Checkpoints written before a pattern field existed (the tile index, session 9) lack it:
  every SparsePattern whose saved fields are incomplete is rebuilt from its saved row_offsets
  and column_indices (all other fields derive from them)."""
  from ..csr import _SPARSITY_FIELDS, Sparsity
  from .linear import SparsePattern
  arrays = dict(arrays)
  for path, node in nnx.iter_graph(module):
    if not isinstance(node, SparsePattern):
      continue
    base = prefix + "".join(f"{k}/" for k in path)
    names = [base + f for f in _SPARSITY_FIELDS]
    if all(n in arrays for n in names) or not all(n in arrays for n in names[:2]):
      continue
    full = Sparsity.build(arrays[names[0]], arrays[names[1]], node.shape)
    for name, array in zip(names, full.arrays):
      arrays.setdefault(name, np.asarray(array))
  return arrays


def restore_variables(module, arrays: dict, prefix: str = "") -> None:
  """Sets every variable of `module` from `arrays[prefix + path]`. Shapes may differ from the
  freshly built module's (a pruned pattern's nnz); a missing array is an error, except pattern
  fields that older checkpoints lack (rebuilt from the saved pattern)."""
  arrays = _complete_patterns(module, arrays, prefix)
  for path, var in variables(module).items():
    key = prefix + path
    if key not in arrays:
      raise KeyError(f"checkpoint has no array {key!r}: it does not fit this model")
    _set_value(var, jnp.asarray(arrays[key]))


def _replace(path: Path, write) -> None:
  tmp = path.with_name(path.name + ".tmp")
  with open(tmp, "wb") as f:
    write(f)
  os.replace(tmp, path)


def save(directory, arrays: dict, info: dict) -> Path:
  """Writes `arrays` ({name: array}) and `info` (JSON-serialisable) into `directory`."""
  directory = Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  _replace(directory / ARRAYS, lambda f: np.savez(f, **arrays))
  _replace(directory / INFO, lambda f: f.write(json.dumps(info, indent=2).encode()))
  return directory


def exists(directory) -> bool:
  directory = Path(directory)
  return (directory / ARRAYS).exists() and (directory / INFO).exists()


def load(directory) -> tuple[dict, dict]:
  """(info, arrays) as written by `save`."""
  directory = Path(directory)
  info = json.loads((directory / INFO).read_text())
  with np.load(directory / ARRAYS) as saved:
    arrays = {key: saved[key] for key in saved.files}
  return info, arrays
