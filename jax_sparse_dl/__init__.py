"""jax-sparse-dl: sparse GPU kernels for deep learning as JAX primitives.

SpMM (sparse CSR x dense, with a fused bias + ReLU epilogue), SDDMM (dense x dense^T at a
sparsity pattern) and row-wise sparse softmax, with abstract evaluation, batching, JVP and
transpose rules; CUDA kernels through XLA FFI on GPU, C++ kernels on CPU, a pure-JAX lowering
elsewhere.
"""
from .csr import CSR, Sparsity, random_csr
from .lowering import has_cpu_kernels, has_cuda_kernels
from .sddmm import sddmm
from .softmax import csr_softmax
from .spmm import spmm

__version__ = "0.1.0"
__all__ = ["CSR", "Sparsity", "random_csr", "spmm", "sddmm", "csr_softmax", "has_cuda_kernels",
           "has_cpu_kernels"]
