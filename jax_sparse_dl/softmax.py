"""Row-wise softmax over the stored entries of a CSR matrix, and its own backward.

`jsdl_csr_softmax(values, *pattern)` normalises each row's entries; rows without entries stay
empty. The backward `jsdl_csr_softmax_grad(probs, g, *pattern) = probs * (g - rowsum(probs * g))`
is linear in g and self-adjoint, so it is both the JVP and the transpose.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax._src import dispatch
from jax.extend.core import Primitive
from jax.interpreters import ad, batching

from . import lowering, manual_axes
from ._batching import accumulation_dtype, vmap_rule
from .checks import check_float_operands
from .csr import CSR, PATTERN_ARRAYS, row_ids

csr_softmax_p = Primitive("jsdl_csr_softmax")
csr_softmax_p.def_impl(functools.partial(dispatch.apply_primitive, csr_softmax_p))
csr_softmax_grad_p = Primitive("jsdl_csr_softmax_grad")
csr_softmax_grad_p.def_impl(functools.partial(dispatch.apply_primitive, csr_softmax_grad_p))


def csr_softmax(s: CSR) -> CSR:
  """Softmax over each row's stored entries; the same pattern, values (*batch, nnz)."""
  if not isinstance(s, CSR):
    raise TypeError(f"csr_softmax: expected a jax_sparse_dl.CSR, got {type(s).__name__}")
  check_float_operands("csr_softmax", [("s.values", s.values)])
  m, k = s.shape
  return s.with_values(manual_axes.bind(csr_softmax_p, s.values, *s.sparsity.arrays, m=m, k=k))


def _softmax_grad(probs, g, pattern, m, k):
  """Binds the backward with both operands broadcast to one shape (its kernel does not
  broadcast: the two come from the same forward and almost always agree)."""
  shape = jnp.broadcast_shapes(probs.shape, g.shape)
  return manual_axes.bind(csr_softmax_grad_p, jnp.broadcast_to(probs, shape),
                          jnp.broadcast_to(g, shape), *pattern, m=m, k=k)


def _row_sum(x, pattern, m):
  """Each entry replaced by the sum of its row (pure JAX; used by the references)."""
  rows = row_ids(pattern[0], x.shape[-1])
  sums = jnp.zeros((*x.shape[:-1], m), x.dtype).at[..., rows].add(x)
  return sums[..., rows]


def _softmax_reference(values, *pattern, m, k):
  acc = accumulation_dtype(values.dtype)
  v = values.astype(acc)
  rows = row_ids(pattern[0], v.shape[-1])
  row_max = jnp.full((*v.shape[:-1], m), -jnp.inf, acc).at[..., rows].max(v)
  e = jnp.exp(v - row_max[..., rows])
  return (e / _row_sum(e, pattern, m)).astype(values.dtype)


def _grad_reference(probs, g, *pattern, m, k):
  acc = accumulation_dtype(probs.dtype)
  p, g = probs.astype(acc), g.astype(acc)
  return (p * (g - _row_sum(p * g, pattern, m))).astype(probs.dtype)


def _same_shape_abstract_eval(op):
  def abstract_eval(*args, m, k):
    floats, pattern = args[:-PATTERN_ARRAYS], args[-PATTERN_ARRAYS:]
    nnz = pattern[1].shape[0]  # column_indices
    if len({a.shape for a in floats}) != 1 or floats[0].shape[-1] != nnz:
      raise ValueError(f"{op}: operands do not fit: {[a.shape for a in floats]}, nnz {nnz}")
    return manual_axes.result_aval(op, floats[0].shape, floats[0].dtype, *args,
                                   labels=_core_labels(len(floats))())
  return abstract_eval


def _softmax_jvp(primals, tangents, *, m, k):
  values, *pattern = primals
  probs = manual_axes.bind(csr_softmax_p, *primals, m=m, k=k)
  if type(tangents[0]) is ad.Zero:
    return probs, ad.Zero(probs.aval.to_tangent_aval())
  return probs, _softmax_grad(probs, tangents[0], pattern, m, k)


def _grad_jvp(primals, tangents, *, m, k):
  probs, g, *pattern = primals
  d_probs, d_g = tangents[:2]
  out = manual_axes.bind(csr_softmax_grad_p, *primals, m=m, k=k)
  terms = []
  if type(d_g) is not ad.Zero:
    terms.append(_softmax_grad(probs, d_g, pattern, m, k))
  if type(d_probs) is not ad.Zero:  # second order only: plain JAX is fine here
    terms.append(d_probs * (g - _row_sum(probs * g, pattern, m))
                 - probs * _row_sum(d_probs * g, pattern, m))
  if not terms:
    return out, ad.Zero(out.aval.to_tangent_aval())
  return out, functools.reduce(jnp.add, terms)


def _grad_transpose(ct, probs, g, *pattern, m, k):
  if ad.is_undefined_primal(probs):
    raise NotImplementedError("jsdl_csr_softmax_grad is not linear in probs")
  if type(ct) is ad.Zero:
    return [None] * (2 + len(pattern))
  return [None, _softmax_grad(probs, ct, pattern, m, k)] + [None] * len(pattern)


def _select(n_floats):
  """FFI operands: the float operands, then row_offsets and row_indices."""
  def select(args, avals, **_):
    keep = list(range(n_floats)) + [n_floats, n_floats + 2]
    return [args[i] for i in keep], [avals[i] for i in keep]
  return select


csr_softmax_p.def_abstract_eval(_same_shape_abstract_eval("jsdl_csr_softmax"))
csr_softmax_grad_p.def_abstract_eval(_same_shape_abstract_eval("jsdl_csr_softmax_grad"))
ad.primitive_jvps[csr_softmax_p] = _softmax_jvp
ad.primitive_jvps[csr_softmax_grad_p] = _grad_jvp
ad.primitive_transposes[csr_softmax_grad_p] = _grad_transpose
def _core_labels(n_floats):
  """n_floats operands (nnz) -> (nnz): only batch dimensions split over devices."""
  return lambda **_: (((None,),) * n_floats, (None,))


batching.primitive_batchers[csr_softmax_p] = vmap_rule(csr_softmax_p, _core_labels(1),
                                                       "csr_softmax")
batching.primitive_batchers[csr_softmax_grad_p] = vmap_rule(
    csr_softmax_grad_p, _core_labels(2), "csr_softmax",
    bind=lambda probs, g, *pattern, m, k: _softmax_grad(probs, g, pattern, m, k))
lowering.register_lowerings(csr_softmax_p, _softmax_reference, "jsdl_csr_softmax", _select(1),
                            _core_labels(1))
lowering.register_lowerings(csr_softmax_grad_p, _grad_reference, "jsdl_csr_softmax_grad",
                            _select(2), _core_labels(2))
