"""Session 38 changed MobileNet's layers for CPU; this times them on a GPU against what they were.

Variants, by patching the module globals the layers call (the code under test is the tree's):
- "new": the tree as it is (pointwise_conv as a matmul; depthwise_conv taps in training; on GPU
  conv2d keeps XLA's convolution);
- "einsum": dense 1x1 layers as the einsum of ce27bc3 (PointwiseConv and the NCHW GemmPointwise);
- "xla-dw": the training model's depthwise layers as XLA's grouped convolution (ce27bc3);
- "old": both, as at ce27bc3.
Times: jax_sparse_dl.timing.time_per_call (median of 7) with the device clock on a GPU, the wall
clock elsewhere; the training step at the training CLI's size (batch 32, 64 x 64, 10 classes)
and at batch 64, 224 x 224; the sparse inference network (width 1.0, 90%) at batch 1 and 64.
Run from /tmp after `pip install .`, with the repository root on PYTHONPATH:
python <repository root>/docs/gpu-runs/2026-12-05-h100-5434b1d-mobilenet-layers/compare.py
(`--quick`: small sizes, a smoke run for a CPU).
"""
import contextlib
import sys

import jax
import jax.numpy as jnp
import optax
from flax import nnx

sys.path.append(".")
import models.mobilenet.model as mm  # noqa: E402
import jax_sparse_dl.nn.conv as conv  # noqa: E402
from models.mobilenet import train as T  # noqa: E402
from models.mobilenet.benchmark import _forward, make_input  # noqa: E402
from jax_sparse_dl.timing import time_per_call  # noqa: E402

CLOCK = "device" if jax.default_backend() == "gpu" else "wall"
QUICK = "--quick" in sys.argv
# --only a,b: those variants alone (each takes minutes of compiles on a GPU).
ONLY = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), None)
TRAIN = ((8, 32), (8, 64)) if QUICK else ((32, 64), (64, 224))  # (batch, image size)
INFER = ((1, 2), 64) if QUICK else ((1, 64), 224)                # (batches, image size)


def einsum_pointwise(x, weight, precision=None):
  return jnp.einsum("oc,...chw->...ohw", weight, x, precision=conv.lax_precision(precision))


def xla_depthwise(x, kernel, stride, layout="NCHW"):
  return mm.conv2d(x, kernel, stride, groups=x.shape[1])


@contextlib.contextmanager
def variant(name):
  saved = conv.pointwise_conv, mm.pointwise_conv, mm.depthwise_conv
  if name in ("einsum", "old"):
    conv.pointwise_conv = mm.pointwise_conv = einsum_pointwise
  if name in ("xla-dw", "old"):
    mm.depthwise_conv = xla_depthwise
  try:
    yield
  finally:
    conv.pointwise_conv, mm.pointwise_conv, mm.depthwise_conv = saved


def ms(fn, *args):
  return time_per_call(fn, *args, repeats=7, min_time_s=0.05, clock=CLOCK).median_s * 1e3


def train_step_ms(batch, size):
  m = mm.create_model(mm.MobileNetConfig(width=1.0, num_classes=10, sparsity=0.9), 0)
  mm.prune_to(m, 0.9)
  mm.convert_to_sparse(m)
  g, s = nnx.split((m, nnx.Optimizer(m, optax.adamw(1e-3), wrt=nnx.Param)))
  x = jax.random.normal(jax.random.key(1), (batch, 3, size, size))
  y = jnp.arange(batch) % 10
  return ms(lambda s, x, y: T._train_step(g, s, x, y), s, x, y)


def inference_ms(batch, size):
  m = mm.create_model(mm.MobileNetConfig(width=1.0, num_classes=1000, sparsity=0.9), 0)
  mm.prune_to(m, 0.9)
  net = mm.fold_for_inference(m)
  g, s = nnx.split(net)
  return ms(_forward(g), s, make_input(net, batch, size, 0))


print(f"{jax.devices()[0].device_kind}, jax {jax.__version__}, clock {CLOCK}; ms", flush=True)
for name in ONLY or ("new", "old", "einsum", "xla-dw", "new"):
  with variant(name):
    cells = [f"train b{b} {size}x{size} {train_step_ms(b, size):8.2f}" for b, size in TRAIN]
    cells += [f"infer b{b} {INFER[1]}x{INFER[1]} {inference_ms(b, INFER[1]):8.3f}"
              for b in INFER[0]]
  print(f"{name:7s} " + ", ".join(cells), flush=True)
