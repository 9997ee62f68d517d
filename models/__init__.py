"""Flax NNX models built on jax_sparse_dl: `transformer` (issue 4) and `mobilenet` (issue 5).

Run them from the repository root (`python -m models.transformer.train ...`). That puts the
source tree first on sys.path, and its jax_sparse_dl has no compiled CUDA module: imported from
there, the ops would silently fall back to the pure-JAX lowering on GPU. So when jax_sparse_dl
is also installed (pip install .), the repository root moves behind it.
"""
import importlib.machinery
import pathlib
import sys


def _prefer_installed_jax_sparse_dl() -> None:
  if "jax_sparse_dl" in sys.modules:
    return
  root = pathlib.Path(__file__).resolve().parents[1]
  is_root = [pathlib.Path(p or ".").resolve() == root for p in sys.path]
  if not any(is_root):
    return
  others = [p for p, r in zip(sys.path, is_root) if not r]
  spec = importlib.machinery.PathFinder.find_spec("jax_sparse_dl", others)
  if spec is None or spec.origin is None:
    return  # not installed: use the source tree
  sys.path[:] = others + [p for p, r in zip(sys.path, is_root) if r]


_prefer_installed_jax_sparse_dl()
