"""cuSPARSE SpMM and SDDMM as XLA FFI custom calls: optional benchmark contenders.

Built only when cuSPARSE is found at install time (module ``_jsdl_cusparse``, see
docs/api.md). Each call runs on the GPU's stream inside the jitted program, like the package's
own kernels, so ``jax_sparse_dl.timing`` times both the same way. Per call the handler creates
the cuSPARSE descriptors, asks for the workspace size and runs the operation in a workspace that
is a second output of the call, sized here by :func:`workspace_bytes` (XLA's FFI scratch
allocator refused every request under jax 0.11.2). No ``*_preprocess``: it is optional and
only pays off with a buffer kept across calls.

These are plain forward functions (no JVP, vmap or batch dimensions); GPU only.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .csr import CSR

try:
  from . import _jsdl_cusparse
  _IMPORT_ERROR = None
except ImportError as e:  # not built (no cuSPARSE at install time) or libcusparse not loadable
  _jsdl_cusparse = None
  _IMPORT_ERROR = e

ALGORITHMS = ("default", "alg1", "alg2", "alg3")  # CUSPARSE_SPMM_ALG_DEFAULT, CSR_ALG1..3
SPMM_DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)
_ALG3_ONLY = (jnp.bfloat16, jnp.float16)  # cuSPARSE's 16-bit CSR SpMM is CSR_ALG3 only
_registered = False


def available() -> bool:
  """True when the cuSPARSE module is built, loads, and its FFI targets are registered."""
  global _registered, _IMPORT_ERROR
  if _jsdl_cusparse is None:
    return False
  if not _registered:
    try:
      for name, capsule in _jsdl_cusparse.registrations().items():
        jax.ffi.register_ffi_target(name, capsule, platform="CUDA")
    except Exception as e:  # e.g. a jaxlib that rejects the targets: report, don't crash
      _IMPORT_ERROR = e
      return False
    _registered = True
  return True


def _require_module(op: str) -> None:
  if not available():
    raise RuntimeError(f"cusparse.{op}: jax_sparse_dl was built without its optional cuSPARSE "
                       f"module ({_IMPORT_ERROR}); reinstall with JSDL_CUSPARSE=ON (and "
                       "JSDL_CUSPARSE_ROOT if cuSPARSE is not in the CUDA toolkit)")


def _check_csr(op: str, a) -> None:
  if not isinstance(a, CSR):
    raise TypeError(f"cusparse.{op}: a must be a jax_sparse_dl.CSR, got {type(a).__name__}")
  if a.batch_shape:
    raise ValueError(f"cusparse.{op}: a must have no batch dimensions, got batch shape "
                     f"{a.batch_shape}")


def workspace_bytes(m: int, n: int, nnz: int) -> int:
  """Workspace given to every call: 1 MiB plus 16 bytes per row, column and entry. The sizes
  cuSPARSE asked for on the DLMC sample were at most 18 KB; a call that needs more fails with
  an error naming the size."""
  return (1 << 20) + 16 * (m + n + nnz)


def _workspace(m, n, nnz):
  return jax.ShapeDtypeStruct((workspace_bytes(m, n, nnz),), jnp.uint8)


def spmm(a: CSR, dense, alg: str = "default"):
  """``a @ dense`` by cuSPARSE SpMM: a (m, k) CSR, dense (k, n) row-major -> (m, n).

  ``alg`` is one of ALGORITHMS. float32; bfloat16 and float16 (float32 compute) only with
  "default" or "alg3", the algorithms cuSPARSE offers for them. a and dense share one dtype.
  """
  _check_csr("spmm", a)
  dense = jnp.asarray(dense)
  if alg not in ALGORITHMS:
    raise ValueError(f"cusparse.spmm: alg must be one of {ALGORITHMS}, got {alg!r}")
  if dense.ndim != 2:
    raise ValueError(f"cusparse.spmm: dense must have shape (k, n), got {dense.shape}")
  m, k = a.shape
  if dense.shape[0] != k:
    raise ValueError(f"cusparse.spmm: dense has {dense.shape[0]} rows but a has {k} columns")
  if a.dtype not in SPMM_DTYPES or dense.dtype != a.dtype:
    raise TypeError(f"cusparse.spmm: a and dense must share one dtype among float32, bfloat16, "
                    f"float16; got a {a.dtype}, dense {dense.dtype}")
  if a.dtype in _ALG3_ONLY and alg not in ("default", "alg3"):
    raise TypeError(f"cusparse.spmm: cuSPARSE supports {a.dtype} only with alg 'default' or "
                    f"'alg3', not {alg!r}")
  _require_module("spmm")
  n = dense.shape[1]
  out = jax.ShapeDtypeStruct((m, n), a.dtype)
  call = jax.ffi.ffi_call("jsdl_cusparse_spmm", (out, _workspace(m, n, a.nnz)))
  return call(a.values, a.row_offsets, a.column_indices, dense,
              alg=np.int32(ALGORITHMS.index(alg)))[0]


def sddmm(lhs, rhs, a: CSR):
  """``(lhs @ rhs.T)`` at a's pattern by cuSPARSE SDDMM: the values (nnz,) in a's entry order.

  lhs (m, d) and rhs (n, d) row-major, float32; a is an (m, n) CSR whose values are ignored.
  """
  _check_csr("sddmm", a)
  lhs, rhs = jnp.asarray(lhs), jnp.asarray(rhs)
  if lhs.ndim != 2 or rhs.ndim != 2:
    raise ValueError(f"cusparse.sddmm: lhs and rhs must have shapes (m, d) and (n, d), got "
                     f"{lhs.shape} and {rhs.shape}")
  m, n = a.shape
  if lhs.shape[0] != m or rhs.shape[0] != n or lhs.shape[1] != rhs.shape[1]:
    raise ValueError(f"cusparse.sddmm: lhs {lhs.shape} and rhs {rhs.shape} do not fit a of "
                     f"shape {a.shape}: expected ({m}, d) and ({n}, d)")
  if lhs.dtype != jnp.float32 or rhs.dtype != jnp.float32:
    raise TypeError(f"cusparse.sddmm: lhs and rhs must be float32, got {lhs.dtype} and "
                    f"{rhs.dtype}")
  _require_module("sddmm")
  out = jax.ShapeDtypeStruct((a.nnz,), jnp.float32)
  call = jax.ffi.ffi_call("jsdl_cusparse_sddmm", (out, _workspace(m, n, a.nnz)))
  return call(lhs, rhs, a.row_offsets, a.column_indices)[0]
