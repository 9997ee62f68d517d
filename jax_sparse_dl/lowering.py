"""Lowering and registration: the native modules' FFI targets, and a pure-JAX fallback.

Each primitive has three lowerings: on CUDA it calls the CUDA module's XLA FFI handlers; on CPU
the CPU module's; on any other platform (and on CPU or CUDA when their module is missing) it
lowers through its pure-JAX `reference` (via mlir.lower_fun). Both modules take the same FFI
operands, so one `select` serves both. Setting JSDL_CPU_KERNELS=0 in the environment (or
`lowering.cpu_kernels = False` before tracing) makes the CPU use the reference: the test suite
checks that lowering too. Over several devices (jit with sharded operands) the FFI lowerings go
through partitioning.py, so that each device calls its target on its shard.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import jax
from jax.extend.core import Primitive
from jax.interpreters import mlir

from . import partitioning

try:
  from . import _jsdl_cuda
except ImportError:  # built without nvcc: the GPU falls back to the reference
  _jsdl_cuda = None
try:
  from . import _jsdl_cpu
except ImportError:  # e.g. the source tree on sys.path: the CPU falls back to the reference
  _jsdl_cpu = None

for _module, _platform in ((_jsdl_cuda, "CUDA"), (_jsdl_cpu, "cpu")):
  if _module is not None:
    for _name, _capsule in _module.registrations().items():
      jax.ffi.register_ffi_target(_name, _capsule, platform=_platform)

# Read when a primitive is lowered for the CPU (jit caches what it compiled).
cpu_kernels = _jsdl_cpu is not None and os.environ.get("JSDL_CPU_KERNELS", "1") != "0"


def has_cuda_kernels() -> bool:
  """True when the CUDA kernels are built and registered (they run on the GPU backend)."""
  return _jsdl_cuda is not None


def has_cpu_kernels() -> bool:
  """True when the CPU kernels are built and registered (they run on the CPU backend)."""
  return _jsdl_cpu is not None


def _ffi_rule(target: str, select, attrs, scratch=None):
  """A lowering rule calling FFI `target` on `select(args, avals, **params)`.

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


def register_lowerings(prim, reference, target: str, select, core_labels,
                       attrs=lambda **params: {}, cuda_scratch=None) -> None:
  """Registers `prim`'s lowerings: FFI `target` on CUDA and CPU, `reference` elsewhere.

  core_labels: how the operands' dimensions map to the result's (partitioning.py): over several
  devices the FFI call runs on each device's shard. cuda_scratch: the CUDA handler's work
  buffers (see _ffi_rule); the CPU handler takes none.
  """
  reference_rule = mlir.lower_fun(reference, multiple_results=False)
  cuda_ffi = _ffi_rule(target, select, attrs, cuda_scratch) if has_cuda_kernels() else None
  cpu_ffi = _ffi_rule(target, select, attrs) if has_cpu_kernels() else None
  # The FFI rule to use in this lowering, or None for the reference.
  ffi = {"cuda": lambda: cuda_ffi, "cpu": lambda: cpu_ffi if cpu_kernels else None}
  fallback = {"cuda": _warn_without_kernels(reference_rule), "cpu": reference_rule}
  # The same lowerings under another name, bound on each device's shard by the partitioning.
  shard_prim = Primitive(prim.name + "_shard")
  shard_prim.abstract_eval = prim.abstract_eval
  by_shard = partitioning.partitioned_rule(shard_prim, core_labels)

  def platform_rule(platform, partition):
    def rule(ctx, *args, **params):
      ffi_rule = ffi[platform]()
      if ffi_rule is None:
        return fallback[platform](ctx, *args, **params)
      if partition and partitioning.spans_devices(ctx):
        return by_shard(ctx, *args, **params)
      return ffi_rule(ctx, *args, **params)
    return rule

  for p in (prim, shard_prim):
    mlir.register_lowering(p, reference_rule)
    for platform in ("cuda", "cpu"):
      mlir.register_lowering(p, platform_rule(platform, p is prim), platform=platform)
  partitioning.requires_devices(prim)
