"""A decoder-only sparse Transformer (sparse attention, pruned sparse weights) on jax_sparse_dl,
a character-level language model on the Python standard library's sources, and an attention
benchmark. See README.md in this folder.
"""
import sys
from pathlib import Path


def _prefer_installed_package() -> None:
  """`python -m models.transformer.train` from the repository root puts the source tree first on
  sys.path, and its jax_sparse_dl has no compiled CUDA module. Move the root behind the installed
  package (when there is one), so the built kernels are used; `models` stays importable."""
  if "jax_sparse_dl" in sys.modules:
    return
  root = Path(__file__).resolve().parents[2]
  is_root = lambda entry: Path(entry or ".").resolve() == root
  sys.path[:] = [e for e in sys.path if not is_root(e)] + [e for e in sys.path if is_root(e)]


_prefer_installed_package()
