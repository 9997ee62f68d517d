"""Sparse MobileNetV1 in Flax NNX: pointwise convolutions as fused SpMM (issue 5).

`model` (training and folded inference networks), `data` (scikit-learn digits as images),
`checkpoint` (.npz + JSON), `train` and `benchmark` (command-line tools, see README.md).
"""
