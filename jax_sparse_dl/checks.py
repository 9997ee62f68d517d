"""Trace-time checks of the public functions' arguments, with messages naming the operands."""
from __future__ import annotations

import jax
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


def _configured_precision():
  """jax_default_matmul_precision (set by jax.default_matmul_precision(...) or the config), as
  the name of a jax.lax.Precision, or None when unset. Dot-algorithm names (newer JAX) map by
  their operand type: F32_F32_F32 is true float32, others allow reduced precision."""
  value = getattr(jax.config, "jax_default_matmul_precision", None)
  if value is None:
    return None
  try:
    return jax.lax.Precision(value).name
  except (ValueError, TypeError, KeyError):
    return "HIGHEST" if str(value).upper().startswith("F32_F32_F32") else "DEFAULT"


def canonical_precision(op: str, precision) -> str:
  """The name of a jax.lax.Precision ("DEFAULT", "HIGH" or "HIGHEST") from None, a Precision,
  or a string that jax.lax.Precision accepts ("highest", "float32", "tensorfloat32", ...).
  None takes JAX's default matmul precision (jax.default_matmul_precision), as jnp.dot does,
  and DEFAULT when that is unset.

  It is a primitive parameter (hashable, printed in jaxprs). DEFAULT and HIGH allow reduced
  internal precision (TF32 for float32) where a kernel has such a path, as XLA's dot does;
  HIGHEST means true float32 products and sums.
  """
  if precision is None:
    return _configured_precision() or "DEFAULT"
  if isinstance(precision, (tuple, list)):
    raise TypeError(f"{op}: precision must be one jax.lax.Precision (the sparse operand has no "
                    f"precision of its own), got {precision!r}")
  try:
    return jax.lax.Precision(precision).name
  except (ValueError, TypeError, KeyError) as e:
    raise ValueError(f"{op}: precision must be None, a jax.lax.Precision or one of its names "
                     f"(e.g. 'highest'), got {precision!r}") from e
