"""Lowering and registration: the CUDA module's FFI targets, and a pure-JAX fallback elsewhere.

Every primitive lowers through `reference` (pure JAX, via mlir.lower_fun) on CPU and on any
platform without the CUDA module; on CUDA it calls the module's XLA FFI handlers.
"""
from __future__ import annotations

import warnings

import numpy as np
import jax
from jax.interpreters import mlir

try:
  from . import _jsdl_cuda
except ImportError:  # built without nvcc: CPU (pure JAX) only
  _jsdl_cuda = None

if _jsdl_cuda is not None:
  for _name, _capsule in _jsdl_cuda.registrations().items():
    jax.ffi.register_ffi_target(_name, _capsule, platform="CUDA")


def has_cuda_kernels() -> bool:
  """True when the CUDA kernels are built and registered (they run on the GPU backend)."""
  return _jsdl_cuda is not None


def ffi_rule(target: str, select, attrs=lambda **params: {}, scratch=None):
  """A CUDA lowering rule calling FFI `target` on `select(args, avals, **params)`.

  `select` returns (operands, avals) for the FFI call: a subset or reordering of the primitive's
  operands, possibly with extra constants; `attrs(**params)` gives the FFI attributes;
  `scratch(avals, **params)` the avals of work buffers that the call takes as outputs after the
  primitive's own (XLA allocates them per call; the primitive does not return them).
  """
  lowering = jax.ffi.ffi_lowering(target)

  def rule(ctx, *args, **params):
    operands, avals = select(list(args), list(ctx.avals_in), **params)
    extra = list(scratch(avals, **params)) if scratch else []
    ctx = ctx.replace(avals_in=avals, avals_out=[*ctx.avals_out, *extra])
    results = lowering(ctx, *operands, **attrs(**params))
    return results[:len(results) - len(extra)]

  return rule


def empty_operand(dtype):
  """A (0,)-shaped constant and its aval, for an FFI argument that a call does not use."""
  return mlir.ir_constant(np.zeros((0,), dtype)), jax.core.ShapedArray((0,), dtype)


def _warn_without_kernels(reference_rule):
  """A CUDA lowering for a build without the CUDA module: correct (pure JAX) but slow, so say so."""
  def rule(ctx, *args, **params):
    warnings.warn("jax_sparse_dl was built without its CUDA module (no nvcc at install time): "
                  "sparse ops on the GPU fall back to slow pure-JAX code. Reinstall with "
                  "JSDL_CUDA=ON.", RuntimeWarning, stacklevel=2)
    return reference_rule(ctx, *args, **params)
  return rule


def register_lowerings(prim, reference, cuda_rule) -> None:
  reference_rule = mlir.lower_fun(reference, multiple_results=False)
  mlir.register_lowering(prim, reference_rule)
  mlir.register_lowering(prim, cuda_rule if has_cuda_kernels()
                         else _warn_without_kernels(reference_rule), platform="cuda")
