"""A decoder-only sparse Transformer (sparse attention, pruned sparse weights) on jax_sparse_dl,
a character-level language model on the Python standard library's sources, and an attention
benchmark. See README.md in this folder.
"""
