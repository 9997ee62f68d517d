"""Sparse MobileNetV1 in Flax NNX: pointwise convolutions as fused SpMM (issue 5).

`model` (training and folded inference networks), `data` (scikit-learn digits as images),
`checkpoint` (.npz + JSON), `train` and `benchmark` (command-line tools, see README.md).
"""
import importlib.machinery
import pathlib
import sys


def _prefer_installed_jax_sparse_dl() -> None:
  """Puts the repository root after site-packages when jax_sparse_dl is also installed.

  `python -m models.mobilenet.train` runs from the repository root, whose source tree of
  jax_sparse_dl has no compiled CUDA module: imported from there, SpMM would silently fall back
  to the pure-JAX lowering on GPU. The installed package (pip install .) has the module.
  """
  root = pathlib.Path(__file__).resolve().parents[2]
  if "jax_sparse_dl" in sys.modules:
    return
  is_root = [pathlib.Path(p or ".").resolve() == root for p in sys.path]
  if not any(is_root):
    return
  others = [p for p, r in zip(sys.path, is_root) if not r]
  spec = importlib.machinery.PathFinder.find_spec("jax_sparse_dl", others)
  if spec is None or spec.origin is None:
    return  # not installed: use the source tree
  sys.path[:] = others + [p for p, r in zip(sys.path, is_root) if r]


_prefer_installed_jax_sparse_dl()
