"""The primitives under `jax.jit` with sharded operands: a partitioning rule for each.

XLA cannot see into a custom call, so without a rule it gathers the call's operands onto every
device, which then computes the whole result. Here each primitive's FFI lowering goes, when the
computation spans several devices, through jax's `custom_partitioning`: a Shardy rule tells XLA
which dimensions of the operands and the result are one, and a partition callback runs the
kernel on every device's shard. Dimensions of the result (each batch dimension, SpMM's columns
n) keep their sharding; a dimension the kernel sums over (SDDMM's d) may stay split, each device
summing its part and a psum the parts; the others (nnz, m, k, and the pattern arrays) are
replicated, as the kernels need them whole. A dimension whose size the mesh axes do not divide is
replicated too, so no device computes on padding. In jax's explicit sharding mode the same
labels give the result's type its sharding (`result_sharding`, from the abstract evaluations).

`core_labels(**params)` describes a primitive: for each float operand a label per non-batch
dimension, and labels for the result's non-batch dimensions. Dimensions that share a label are
one; a label of operands only is summed over; None marks a dimension to replicate. All float
operands have the result's number of batch dimensions (size 1 where broadcast); the operands
after them are the pattern.
"""
from __future__ import annotations

import math

import jax
from jax._src import core, dispatch, mesh as mesh_lib, sharding_impls
from jax.experimental.custom_partitioning import ArrayMapping, SdyShardingRule, custom_partitioning
from jax.interpreters import mlir
from jax.sharding import NamedSharding, PartitionSpec


def spans_devices(ctx) -> bool:
  """True when `ctx` lowers for XLA's partitioner over several devices (jit with shardings).

  False on one device, inside shard_map (every device runs the call as traced) and for
  jax.export, whose modules cannot hold custom_partitioning's Python callbacks (there XLA
  gathers the operands, as without a rule)."""
  module = ctx.module_context
  context = module.axis_context
  return (not module.lowering_parameters.for_export
          and isinstance(context, sharding_impls.ShardingContext)
          and context.device_assignment is not None and len(context.device_assignment) > 1)


def requires_devices(prim) -> None:
  """Has jit pass `prim`'s lowering the devices, which `custom_partitioning` needs."""
  dispatch.prim_requires_devices_during_lowering.add(prim)


def partitioned_rule(local_prim, core_labels):
  """A lowering rule binding `local_prim` (the primitive's FFI lowering) per device shard."""
  def rule(ctx, *args, **params):
    # An explicit axis (sharding in types) splits no reduced dimension: the psum that sums the
    # parts then fails to compile on the CPU (XLA: "Unsupported reduction computation").
    mesh = ctx.module_context.axis_context.abstract_mesh
    explicit = frozenset(mesh.explicit_axes) if mesh is not None else frozenset()
    fn = _partitioned(local_prim, core_labels, params, ctx.avals_in, ctx.avals_out[0], explicit)
    return mlir.lower_fun(fn, multiple_results=False)(ctx, *args)
  return rule


def result_sharding(labels, operands, out_shape):
  """The result's sharding in jax's explicit sharding mode (sharding in types): its dimensions
  split as the operands' types split them (a reduced dimension's split leaves the result whole).
  None in the default (auto) mode, where types carry no sharding and XLA's partitioner decides."""
  mesh = mesh_lib.get_abstract_mesh()
  if mesh.empty or not mesh._any_axis_explicit:
    return None
  dims = _Dims(labels, [a.shape for a in operands], out_shape)
  specs = [tuple(a.sharding.spec) if a.sharding is not None else () for a in operands]
  return core.get_cur_mesh_sharding(dims.specs(dims.label_axes(mesh, specs))[0])


class _Dims:
  """The label of every dimension of a call's operands and result (None: replicated)."""

  def __init__(self, labels, in_shapes, out_shape):
    operand_labels, result_labels = labels
    self.in_shapes, self.out_shape = [tuple(s) for s in in_shapes], tuple(out_shape)
    batch = len(out_shape) - len(result_labels)
    self.out_labels = [f"b{j}" for j in range(batch)] + list(result_labels)
    self.in_labels = []
    for i, shape in enumerate(self.in_shapes):
      if i < len(operand_labels):  # a batch dimension of size 1 where the result's is not: own
        own = [f"b{j}" if shape[j] == out_shape[j] else None for j in range(batch)]
        self.in_labels.append(own + list(operand_labels[i]))
      else:  # the pattern
        self.in_labels.append([None] * len(shape))
    # Labels of the operands only: the kernel sums over them, so a split one needs a psum.
    self.reduced = sorted({l for labels in self.in_labels for l in labels} - {None}
                          - set(self.out_labels))

  def rule(self, mesh, operand_types, result_types):
    """The Shardy rule: a factor per label, and one to replicate for each unlabelled dimension."""
    replicated = []

    def factor(label, own):
      if label is None:
        replicated.append(own)
        return own
      return label

    operands = tuple(ArrayMapping(*(factor(l, f"o{i}d{d}") for d, l in enumerate(labels)))
                     for i, labels in enumerate(self.in_labels))
    result = ArrayMapping(*(factor(l, f"r{d}") for d, l in enumerate(self.out_labels)))
    return SdyShardingRule(operands, (result,), reduction_factors=tuple(self.reduced),
                           need_replication_factors=tuple(replicated))

  def label_axes(self, mesh, operand_specs, result_spec=None, unreduced=frozenset()):
    """The mesh axes that split each label: the result's labels as `result_spec` splits them
    (or, without it, as the first operand that splits them does); a reduced label as the first
    operand that splits it does, less the axes taken and those in `unreduced`. Only where the
    axes divide the size."""
    axes, used = {}, set()

    def take(label, entry, size):
      names = set(_axis_names(entry))
      if label in self.reduced and names & unreduced:
        return
      if (label is not None and label not in axes and names and not names & used
          and size % math.prod(mesh.shape[a] for a in names) == 0):
        axes[label] = entry
        used.update(names)

    if result_spec is not None:
      for d, label in enumerate(self.out_labels):
        take(label, _entry(result_spec, d), self.out_shape[d])
    wanted = set(self.reduced)
    if result_spec is None:
      wanted |= set(self.out_labels)
    for labels, spec, shape in zip(self.in_labels, operand_specs, self.in_shapes):
      for d, label in enumerate(labels):
        if label in wanted:
          take(label, _entry(spec, d), shape[d])
    return axes

  def specs(self, axes):
    """(result spec, operand specs) for the label axes."""
    spec = lambda labels: PartitionSpec(*(axes.get(l) for l in labels))
    return spec(self.out_labels), [spec(labels) for labels in self.in_labels]

  def reduce_axes(self, axes):
    return tuple(a for l in self.reduced if l in axes for a in _axis_names(axes[l]))


def _entry(spec, d):
  return spec[d] if d < len(spec) else None


def _axis_names(axes):
  return () if axes is None else (axes,) if isinstance(axes, str) else tuple(axes)


def _specs(shapes):
  """Each shape's partition spec (() where it has no sharding), or None where a sharding is not
  a NamedSharding (then the call is replicated)."""
  specs = []
  for shape in shapes:
    if shape.sharding is None:
      specs.append(())
    elif isinstance(shape.sharding, NamedSharding):
      specs.append(tuple(shape.sharding.spec))
    else:
      return None
  return specs


def _replicated(mesh, shapes):
  if not mesh.empty:
    return NamedSharding(mesh, PartitionSpec())
  known = next(s.sharding for s in shapes if s.sharding is not None)
  return sharding_impls.GSPMDSharding.get_replicated(known._device_assignment)


def _partitioned(local_prim, core_labels, params, in_avals, out_aval, unreduced):
  """`local_prim` bound under custom_partitioning, with the rules for these operands' shapes
  (`unreduced`: mesh axes that may not split a reduced dimension).

  XLA calls the rules back while compiling, and an exception there aborts the process, so they
  replicate what they do not know rather than raise."""
  dims = _Dims(core_labels(**params), [a.shape for a in in_avals], out_aval.shape)

  def call(*args):
    return local_prim.bind(*args, **params)

  def label_axes(mesh, arg_shapes, result_shape):
    """None: replicate the call."""
    specs = _specs(arg_shapes)
    if specs is None or mesh.empty:
      return None
    result = getattr(result_shape, "sharding", None)
    return dims.label_axes(mesh, specs, tuple(result.spec)
                           if isinstance(result, NamedSharding) else None, unreduced)

  def partition(mesh, arg_shapes, result_shape):
    axes = label_axes(mesh, arg_shapes, result_shape)
    if axes is None:
      rep = _replicated(mesh, [*arg_shapes, result_shape])
      return mesh, call, rep, (rep,) * len(arg_shapes)
    reduce_axes = dims.reduce_axes(axes)

    def lower(*args):  # each device's call sums its part of a split reduced dimension
      out = call(*args)
      return jax.lax.psum(out, reduce_axes) if reduce_axes else out

    result_spec, operand_specs = dims.specs(axes)
    return (mesh, lower, NamedSharding(mesh, result_spec),
            tuple(NamedSharding(mesh, spec) for spec in operand_specs))

  def infer(mesh, arg_shapes, result_shape):  # the GSPMD partitioner's (Shardy uses the rule)
    axes = label_axes(mesh, arg_shapes, None)
    if axes is None:
      return _replicated(mesh, arg_shapes)
    return NamedSharding(mesh, dims.specs(axes)[0])

  fn = custom_partitioning(call)
  fn.def_partition(partition, infer_sharding_from_operands=infer, sharding_rule=dims.rule)
  return fn
