"""SDDMM: the product of two dense matrices computed only at a sparsity pattern.

Primitive `jsdl_sddmm(lhs, rhs, *pattern; m, k)`: lhs (*bl, m, d), rhs (*br, k, d) ->
(*b, nnz) with out[..., j] = lhs[..., row(j), :] . rhs[..., col(j), :], i.e. (lhs @ rhs^T) at
the pattern. Its gradients are two SpMMs: with the pattern for lhs, with its transpose for rhs.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax._src import dispatch
from jax.extend.core import Primitive
from jax.interpreters import ad, batching

from . import lowering, manual_axes
from ._batching import DENSE_REFERENCE_LIMIT, accumulation_dtype, align_batch, broadcast_batch, unbroadcast, vmap_rule
from .checks import canonical_precision, check_csr, check_float_operands
from .csr import CSR, FFI_PATTERN, Sparsity, row_ids

sddmm_p = Primitive("jsdl_sddmm")
sddmm_p.def_impl(functools.partial(dispatch.apply_primitive, sddmm_p))


def sddmm(q, kmat, A: CSR, precision=None) -> CSR:
  """(q @ kmat^T) at A's pattern, as a CSR with A's pattern (A's own values are ignored).

  q: (*bq, m, d), kmat: (*bk, k, d) for A of shape (m, k). The result's values have shape
  (*broadcast(bq, bk), nnz). precision: as for jnp.dot (see spmm); below HIGHEST, float32 may
  run on TF32 tensor cores (relative error about 3e-4), as XLA's dot does on GPU; at HIGHEST
  it keeps float32's precision, on CUDA cores or on tensor cores in 3xTF32 (each value split in
  two TF32 parts, three products; measured error 2e-7, no more than the CUDA-core kernels').
  """
  check_csr("sddmm", A)
  m, k = A.shape
  q, kmat = jnp.asarray(q), jnp.asarray(kmat)
  for name, a, rows in (("q", q, m), ("kmat", kmat, k)):
    if a.ndim < 2 or a.shape[-2] != rows:
      raise ValueError(f"sddmm: {name} must have shape (..., {rows}, d) for A of shape "
                       f"{A.shape}, got {a.shape}")
  if q.shape[-1] != kmat.shape[-1]:
    raise ValueError(f"sddmm: q and kmat must share the inner dimension d, got q {q.shape} "
                     f"and kmat {kmat.shape}")
  check_float_operands("sddmm", [("q", q), ("kmat", kmat)])
  precision = canonical_precision("sddmm", precision)
  (q, kmat), _ = align_batch("sddmm", [("q", q, 2), ("kmat", kmat, 2)])
  values = manual_axes.bind(sddmm_p, q, kmat, *A.sparsity.arrays, m=m, k=k, precision=precision)
  return CSR(values, A.sparsity)


def _abstract_eval(lhs, rhs, *pattern, m, k, precision):
  if (lhs.ndim != rhs.ndim or lhs.shape[-2:] != (m, lhs.shape[-1])
      or rhs.shape[-2:] != (k, lhs.shape[-1])):
    raise ValueError(f"jsdl_sddmm: operands do not fit: lhs {lhs.shape}, rhs {rhs.shape}, "
                     f"pattern {(m, k)}")
  batch = broadcast_batch("jsdl_sddmm", [("lhs", lhs.shape[:-2]), ("rhs", rhs.shape[:-2])])
  return manual_axes.result_aval("jsdl_sddmm", (*batch, pattern[1].shape[0]), lhs.dtype, lhs,
                                  rhs, *pattern, labels=_core_labels())


def _reference(lhs, rhs, *pattern, m, k, precision):
  """Pure-JAX SDDMM (a platform without its native module; the CPU with JSDL_CPU_KERNELS=0)."""
  out_dtype, acc = lhs.dtype, accumulation_dtype(lhs.dtype)
  lhs, rhs, cols = lhs.astype(acc), rhs.astype(acc), pattern[1]
  rows = row_ids(pattern[0], cols.shape[0])
  batch = jnp.broadcast_shapes(lhs.shape[:-2], rhs.shape[:-2])
  if math.prod(batch) * m * k <= DENSE_REFERENCE_LIMIT:  # one dense product, then gather
    full = jnp.matmul(lhs, jnp.swapaxes(rhs, -1, -2), precision=jax.lax.Precision[precision])
    out = full[..., rows, cols]
  else:
    out = jnp.sum(lhs[..., rows, :] * rhs[..., cols, :], axis=-1)
  return out.astype(out_dtype)


# FFI jsdl_sddmm takes lhs, rhs and the pattern's FFI_PATTERN.
_FFI_OPERANDS = [0, 1] + [2 + i for i in FFI_PATTERN]


def _select_ffi_operands(args, avals, **_):
  return [args[i] for i in _FFI_OPERANDS], [avals[i] for i in _FFI_OPERANDS]


def _jvp(primals, tangents, *, m, k, precision):
  lhs, rhs, *pattern = primals
  d_lhs, d_rhs = tangents[:2]
  params = dict(m=m, k=k, precision=precision)
  out = manual_axes.bind(sddmm_p, *primals, **params)
  terms = []
  if type(d_lhs) is not ad.Zero:
    terms.append(manual_axes.bind(sddmm_p, d_lhs, rhs, *pattern, **params))
  if type(d_rhs) is not ad.Zero:
    terms.append(manual_axes.bind(sddmm_p, lhs, d_rhs, *pattern, **params))
  if not terms:
    return out, ad.Zero(out.aval.to_tangent_aval())
  return out, functools.reduce(jnp.add, [jnp.broadcast_to(t, out.shape) for t in terms])


def _transpose(ct, lhs, rhs, *pattern, m, k, precision):
  if type(ct) is ad.Zero:
    return [None] * (2 + len(pattern))
  from .spmm import spmm_p
  linear = dict(has_bias=False, relu=False, precision=precision)
  d_lhs = d_rhs = None
  if ad.is_undefined_primal(lhs):  # d lhs = S @ rhs, S the CSR of cotangents
    d_lhs = manual_axes.bind(spmm_p, ct, rhs, *pattern, m=m, k=k, **linear)
    d_lhs = unbroadcast(d_lhs, lhs.aval.shape)
  if ad.is_undefined_primal(rhs):  # d rhs = S^T @ lhs
    sparsity = Sparsity(*pattern, shape=(m, k))
    d_rhs = manual_axes.bind(spmm_p, ct[..., sparsity.to_t], lhs, *sparsity.T.arrays, m=k, k=m,
                             **linear)
    d_rhs = unbroadcast(d_rhs, rhs.aval.shape)
  return [d_lhs, d_rhs] + [None] * len(pattern)


def _core_labels(**_):
  """lhs (m, d), rhs (k, d) -> (nnz): split over devices, d gives partial sums (then a psum)."""
  return ((None, "d"), (None, "d")), (None,)


sddmm_p.def_abstract_eval(_abstract_eval)
ad.primitive_jvps[sddmm_p] = _jvp
ad.primitive_transposes[sddmm_p] = _transpose
batching.primitive_batchers[sddmm_p] = vmap_rule(sddmm_p, _core_labels, "sddmm")
lowering.register_lowerings(sddmm_p, _reference, "jsdl_sddmm", _select_ffi_operands, _core_labels,
                            lambda *, precision, **_: dict(tf32=precision != "HIGHEST"))
