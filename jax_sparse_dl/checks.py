"""Trace-time checks of the public functions' arguments, with messages naming the operands."""
from __future__ import annotations

import jax.numpy as jnp

from .csr import CSR

SUPPORTED_DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16, jnp.float64)


def check_csr(op: str, A) -> None:
  if not isinstance(A, CSR):
    raise TypeError(f"{op}: A must be a jax_sparse_dl.CSR, got {type(A).__name__}")


def check_float_operands(op: str, named_arrays) -> None:
  """All operands share one supported floating dtype (no implicit promotion)."""
  for name, a in named_arrays:
    if a.dtype not in SUPPORTED_DTYPES:
      raise TypeError(f"{op}: {name} has dtype {a.dtype}; supported: float32, bfloat16, "
                      "float16, float64")
  dtypes = {a.dtype for _, a in named_arrays}
  if len(dtypes) > 1:
    described = ", ".join(f"{n} {a.dtype}" for n, a in named_arrays)
    raise TypeError(f"{op}: operands must share one dtype, got {described}; cast one of them")
