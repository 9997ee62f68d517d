"""SpMM: sparse CSR matrix times dense matrix, with a fused bias + ReLU epilogue.

Primitive `jsdl_spmm(values, dense, [bias], *pattern; m, k, has_bias, relu)` computes
relu?(A @ dense + bias[..., None]) with shapes values (*bv, nnz), dense (*bd, k, n),
bias (*bb, m) -> (*b, m, n). Its gradient w.r.t. values is an SDDMM at A's pattern, w.r.t. dense
an SpMM with A^T (whose pattern was built once, with A's).
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
from .csr import (_SPARSITY_FIELDS, CSR, FFI_PATTERN, TILE_EDGE, Sparsity, row_ids,
                  scatter_to_dense)
from .checks import canonical_precision, check_csr, check_float_operands

spmm_p = Primitive("jsdl_spmm")
spmm_p.def_impl(functools.partial(dispatch.apply_primitive, spmm_p))


def spmm(A: CSR, x, bias=None, relu: bool = False, precision=None):
  """relu?(A @ x + bias[..., :, None]).

  A: CSR (m, k) with values (*ba, nnz); x: (*bx, k, n); bias: (*bb, m) or None.
  Returns (*broadcast(ba, bx, bb), m, n) in the common dtype of A.values, x and bias.
  precision: as for jnp.dot (None = jax.default_matmul_precision, DEFAULT when unset). On a
  Hopper GPU dense enough float32 patterns run on tensor cores (the wgmma tile): DEFAULT and HIGH
  in TF32, HIGHEST in 3xTF32 (each value split in two TF32 parts, three products: float32's
  precision); the CUDA-core kernels are exact at every precision. 16-bit inputs always
  accumulate in float32.
  """
  check_csr("spmm", A)
  m, k = A.shape
  x = jnp.asarray(x)
  if x.ndim < 2:
    raise ValueError(f"spmm: x must have shape (..., k, n) with k = {k}, got shape {x.shape}")
  if x.shape[-2] != k:
    raise ValueError(f"spmm: x has {x.shape[-2]} rows (shape {x.shape}) but A has {k} columns "
                     f"(A.shape = {A.shape})")
  operands = [("A.values", A.values, 1), ("x", x, 2)]
  if bias is not None:
    bias = jnp.asarray(bias)
    if bias.ndim < 1 or bias.shape[-1] != m:
      raise ValueError(f"spmm: bias must have shape (..., {m}) for A with {m} rows, "
                       f"got {bias.shape}")
    operands.append(("bias", bias, 1))
  check_float_operands("spmm", [(n, a) for n, a, _ in operands])
  precision = canonical_precision("spmm", precision)
  arrays, _ = align_batch("spmm", operands)
  return manual_axes.bind(spmm_p, *arrays, *A.sparsity.arrays, m=m, k=k,
                          has_bias=bias is not None, relu=bool(relu), precision=precision)


def _split(args, has_bias):
  """(values, dense, bias or None, pattern arrays) from a primitive's operand list."""
  values, dense = args[:2]
  return values, dense, (args[2] if has_bias else None), args[2 + has_bias:]


def _abstract_eval(*args, m, k, has_bias, relu, precision):
  values, dense, bias, _ = _split(args, has_bias)
  batch = [("values", values.shape[:-1]), ("dense", dense.shape[:-2])]
  if bias is not None:
    batch.append(("bias", bias.shape[:-1]))
  if len({len(s) for _, s in batch}) != 1 or dense.shape[-2] != k:
    raise ValueError(f"jsdl_spmm: operands do not fit: values {values.shape}, dense "
                     f"{dense.shape}, A.shape {(m, k)}")
  out_batch = broadcast_batch("jsdl_spmm", batch)
  return manual_axes.result_aval("jsdl_spmm", (*out_batch, m, dense.shape[-1]), dense.dtype,
                                  *args, labels=_core_labels(has_bias=has_bias))


def _reference(*args, m, k, has_bias, relu, precision):
  """Pure-JAX SpMM (a platform without its native module; the CPU with JSDL_CPU_KERNELS=0)."""
  values, dense, bias, pattern = _split(args, has_bias)
  out_dtype, acc = dense.dtype, accumulation_dtype(dense.dtype)
  values, dense, cols = values.astype(acc), dense.astype(acc), pattern[1]
  if math.prod(values.shape[:-1]) * m * k <= DENSE_REFERENCE_LIMIT:
    out = jnp.matmul(scatter_to_dense(values, pattern[0], cols, (m, k)), dense,
                     precision=jax.lax.Precision[precision])
  else:  # gather, multiply, scatter-add: memory grows with nnz, not m * k
    products = values[..., :, None] * dense[..., cols, :]
    out = jnp.zeros((*products.shape[:-2], m, dense.shape[-1]), acc)
    out = out.at[..., row_ids(pattern[0], cols.shape[0]), :].add(products)
  if bias is not None:
    out = out + bias.astype(acc)[..., :, None]
  if relu:
    out = jnp.maximum(out, 0)
  return out.astype(out_dtype)


def _select_ffi_operands(args, avals, *, has_bias, **_):
  """FFI jsdl_spmm takes values, dense, bias ((0,) when unused) and the pattern's FFI_PATTERN."""
  values, dense, bias, pattern = _split(args, has_bias)
  v_aval, d_aval, b_aval, p_avals = _split(avals, has_bias)
  if bias is None:
    bias, b_aval = lowering.empty_operand(d_aval.dtype)
  return ([values, dense, bias, *(pattern[i] for i in FFI_PATTERN)],
          [v_aval, d_aval, b_aval, *(p_avals[i] for i in FFI_PATTERN)])


# The wgmma tile (cuda/spmm/spmm_wgmma_kernel.cuh) multiplies A's 64 x 64 tiles densified first
# into a work buffer, for every values batch item (float32 sums, at HIGHEST also their TF32
# residues; 16-bit types: the sums rounded to the type). The buffer is an output of the FFI call,
# sized here for the calls the tile may take (float32, bfloat16 or float16, a tile index, rows of
# n a multiple of 16 bytes, at least WGMMA_MIN_DENSITY dense) up to WGMMA_MAX_WORKSPACE;
# the handler then picks it or not per call (spmm_heuristic.h), and on a GPU without sm_90a it
# stays unused. The floor keeps the buffer from patterns where the model never takes the tile: on
# an H100 (docs/gpu-runs.md, session 43) DLMC's 95% patterns (density just under 0.05) gained up
# to 2.2x from it at batch 256 in float32 DEFAULT and bfloat16 and lost at most 1.6% elsewhere,
# while at 98% the model kept the CUDA cores on all 12 calls, so a buffer there only costs memory.
WGMMA_MIN_DENSITY = 0.04
WGMMA_MAX_WORKSPACE = 1 << 30
# Parts over k (SpmmWgmmaConfig and SpmmWgmmaKPartsBytes in cuda/spmm/spmm_config.h; a test
# checks they agree): a call of at most WGMMA_K_PARTS_MAX_ITEMS work items (64 rows x
# WGMMA_COLS columns of an output batch item) may give each item's chunks of k to several
# blocks, whose float32 sums and counters follow the densified tiles.
WGMMA_COLS, WGMMA_CONSUMERS = 128, 2
WGMMA_MAX_K_PARTS, WGMMA_K_PARTS_MAX_ITEMS, WGMMA_MIN_K_PART_CHUNKS = 8, 64, 2


def wgmma_k_parts_bytes(m: int, k: int, n: int, out_batch: int) -> int:
  """Bytes of the wgmma tile's parts over k after its densified tiles (0: not allowed)."""
  items = -(-m // TILE_EDGE) * -(-n // WGMMA_COLS) * out_batch
  chunks = -(-k // TILE_EDGE)
  if items > WGMMA_K_PARTS_MAX_ITEMS or chunks < 2 * WGMMA_MIN_K_PART_CHUNKS:
    return 0
  return items * (WGMMA_MAX_K_PARTS * TILE_EDGE * WGMMA_COLS * 4 + WGMMA_CONSUMERS * 4)


def wgmma_workspace_bytes(m: int, k: int, n: int, nnz: int, values_batch: int, dtype, tiles: int,
                          precision: str, out_batch: int = 1) -> int:
  """Bytes of the wgmma tile's work buffer for one call (0: the call cannot take the tile)."""
  dtype = jnp.dtype(dtype)
  if (dtype not in (jnp.float32, jnp.bfloat16, jnp.float16) or tiles == 0
      or n % (16 // dtype.itemsize) or nnz == 0 or nnz < WGMMA_MIN_DENSITY * m * k):
    return 0
  split = dtype == jnp.float32 and precision == "HIGHEST"  # 3xTF32: the residues too
  size = values_batch * tiles * TILE_EDGE * TILE_EDGE * dtype.itemsize * (2 if split else 1)
  size += wgmma_k_parts_bytes(m, k, n, out_batch)
  return size if size <= WGMMA_MAX_WORKSPACE else 0


def _scratch(avals, *, m, k, precision, **_):
  # The FFI operands (_select_ffi_operands): values, dense, bias, then FFI_PATTERN.
  v_aval, d_aval, b_aval = avals[:3]
  tile_offsets = avals[3 + FFI_PATTERN.index(_SPARSITY_FIELDS.index("tile_offsets"))]
  out_batch = math.prod(jnp.broadcast_shapes(v_aval.shape[:-1], d_aval.shape[:-2],
                                             b_aval.shape[:-1]))
  size = wgmma_workspace_bytes(m, k, d_aval.shape[-1], v_aval.shape[-1],
                               math.prod(v_aval.shape[:-1]), v_aval.dtype,
                               max(tile_offsets.shape[0] - 1, 0), precision, out_batch)
  return [jax.core.ShapedArray((size,), jnp.uint8)]


def _jvp(primals, tangents, *, m, k, has_bias, relu, precision):
  values, dense, bias, pattern = _split(primals, has_bias)
  d_values, d_dense, d_bias, _ = _split(tangents, has_bias)
  out = manual_axes.bind(spmm_p, *primals, m=m, k=k, has_bias=has_bias, relu=relu,
                         precision=precision)
  linear = dict(m=m, k=k, has_bias=False, relu=False, precision=precision)
  terms = []
  if type(d_values) is not ad.Zero:
    terms.append(manual_axes.bind(spmm_p, d_values, dense, *pattern, **linear))
  if type(d_dense) is not ad.Zero:
    terms.append(manual_axes.bind(spmm_p, values, d_dense, *pattern, **linear))
  if has_bias and type(d_bias) is not ad.Zero:
    terms.append(d_bias[..., :, None])
  if not terms:
    return out, ad.Zero(out.aval.to_tangent_aval())
  tangent = functools.reduce(jnp.add, [jnp.broadcast_to(t, out.shape) for t in terms])
  if relu:  # out > 0 exactly where the pre-activation is > 0
    tangent = jnp.where(out > 0, tangent, jnp.zeros((), tangent.dtype))
  return out, tangent


def _transpose(ct, *args, m, k, has_bias, relu, precision):
  if has_bias or relu:
    raise NotImplementedError("jsdl_spmm with bias or relu is not linear; it has no transpose")
  values, dense, _, pattern = _split(args, False)
  if type(ct) is ad.Zero:
    return [None] * len(args)
  d_values = d_dense = None
  if ad.is_undefined_primal(values):
    from .sddmm import sddmm_p
    d_values = manual_axes.bind(sddmm_p, ct, dense, *pattern, m=m, k=k, precision=precision)
    d_values = unbroadcast(d_values, values.aval.shape)
  if ad.is_undefined_primal(dense):
    sparsity = Sparsity(*pattern, shape=(m, k))
    d_dense = manual_axes.bind(spmm_p, values[..., sparsity.to_t], ct, *sparsity.T.arrays, m=k,
                               k=m, has_bias=False, relu=False, precision=precision)
    d_dense = unbroadcast(d_dense, dense.aval.shape)
  return [d_values, d_dense] + [None] * len(pattern)


def _core_labels(*, has_bias, **_):
  """values (nnz), dense (k, n), bias (m) -> (m, n): only n, the columns, splits over devices."""
  return ((None,), (None, "n")) + (((None,),) if has_bias else ()), (None, "n")


spmm_p.def_abstract_eval(_abstract_eval)
ad.primitive_jvps[spmm_p] = _jvp
ad.primitive_transposes[spmm_p] = _transpose
batching.primitive_batchers[spmm_p] = vmap_rule(spmm_p, _core_labels, "spmm")
lowering.register_lowerings(
    spmm_p, _reference, "jsdl_spmm", _select_ffi_operands, _core_labels,
    lambda *, has_bias, relu, precision, **_: dict(has_bias=has_bias, relu=relu,
                                                   tf32=precision != "HIGHEST"),
    cuda_scratch=_scratch)
