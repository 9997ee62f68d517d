"""Flax NNX layers on jax_sparse_dl (needs flax: `pip install 'jax-sparse-dl[models]'`).

`pruning` holds gradual magnitude pruning (masks on dense layers during training, then the
conversion to fixed CSR patterns).
"""
from .pruning import (PruningMask, csr_from_mask, magnitude_mask, model_sparsity,
                      polynomial_sparsity, prunable_modules, update_masks)

__all__ = ["PruningMask", "csr_from_mask", "magnitude_mask", "model_sparsity",
           "polynomial_sparsity", "prunable_modules", "update_masks"]
