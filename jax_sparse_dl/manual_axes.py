"""The package's primitives under `jax.shard_map`: values that vary over manual mesh axes.

With `check_vma` (shard_map's default) a value's type says over which manual axes it varies, and
autodiff relies on it: the cotangent of an operand that does not vary (a weight closed over, a
replicated CSR) is summed over the axes the result varies over. The package's primitives keep
that type as JAX's own do (as `jax.ffi.ffi_call` does, with the same two calls of jax's core,
present from jax 0.10 to 0.12): `bind` first casts every operand to vary over each axis some
operand varies over (a cast whose transpose is that sum), and `result_aval` gives the result
the operands' type. Outside shard_map both change nothing.
"""
from jax._src import core

from . import partitioning


def bind(prim, *args, **params):
  """`prim.bind` with every operand cast to vary over the axes any operand varies over."""
  return prim.bind(*core.auto_insert_reshard(*args), **params)


def result_aval(name: str, shape, dtype, *operands, labels):
  """The aval of a result of `shape` and `dtype`: varying where the (cast) operands vary.

  labels: the primitive's core labels (partitioning.py), which give the result's sharding in
  jax's explicit sharding mode."""
  varying = core.standard_vma_rule(name, *operands)  # empty without check_vma
  if not varying:
    sharding = partitioning.result_sharding(labels, operands, shape)
    return core.ShapedArray(shape, dtype, sharding=sharding)
  return operands[0].update(shape=tuple(shape), dtype=dtype, weak_type=False,
                            sharding=core.get_cur_mesh_sharding())
