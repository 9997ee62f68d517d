"""Flax NNX layers on jax_sparse_dl (needs flax: `pip install 'jax-sparse-dl[models]'`).

`pruning` holds gradual magnitude pruning (masks on dense layers during training, then the
conversion to fixed CSR patterns); `linear` the dense, prunable and sparse linear layers;
`conv` pointwise convolutions (dense, prunable, sparse), a fused depthwise convolution and
batch-norm folding; `attention`
sparse multi-head attention and its dense baselines; `patterns` causal attention patterns.
"""
from .attention import SparseAttention, masked_dense_attention, mask_from_pattern, sparse_attention
from .conv import (PointwiseConv, PrunablePointwiseConv, SparsePointwiseConv, depthwise_conv,
                   fold_batch_norm, fold_nnx_batch_norm, pointwise_conv)
from .linear import (DenseLinear, PatternArray, PrunableLinear, SparseLinear, SparsePattern,
                     sparsify_optimizer_state, sparsify_prunable, weight_counts)
from .patterns import causal_decay_pattern, dense_mask, local_strided_pattern, pattern_sparsity
from .pruning import (PruningMask, csr_from_mask, magnitude_mask, model_sparsity,
                      polynomial_sparsity, prunable_modules, update_masks)

__all__ = ["PruningMask", "csr_from_mask", "magnitude_mask", "model_sparsity",
           "polynomial_sparsity", "prunable_modules", "update_masks",
           "DenseLinear", "PrunableLinear", "SparseLinear", "SparsePattern", "PatternArray",
           "sparsify_optimizer_state", "sparsify_prunable", "weight_counts",
           "SparseAttention", "sparse_attention", "masked_dense_attention", "mask_from_pattern",
           "causal_decay_pattern", "local_strided_pattern", "dense_mask", "pattern_sparsity",
           "PointwiseConv", "PrunablePointwiseConv", "SparsePointwiseConv", "depthwise_conv",
           "pointwise_conv", "fold_batch_norm", "fold_nnx_batch_norm"]
