# MobileNetV1 (width 1.0) on CPU: the folded inference networks at 224 x 224 (sparse: pointwise
# layers 2-13 at 90% as SpMM; dense: NHWC, 1x1 as GEMM) by jax_sparse_dl.timing (median of 7,
# ms a forward), and the training step (AdamW, batch 32, 64 x 64, 10 classes) before and after
# the sparse conversion, wall clock of single jitted calls (median of 7, after 2).
# Run with the repository root of the tree under test on PYTHONPATH, behind its built package.
import time, jax, jax.numpy as jnp, numpy as np, optax
from flax import nnx
from models.mobilenet.model import (MobileNetConfig, create_model, prune_to, fold_for_inference,
                                    fold_dense_for_inference, convert_to_sparse)
from models.mobilenet.benchmark import make_input, _forward
from models.mobilenet import train as T
from jax_sparse_dl.timing import time_per_call

m = create_model(MobileNetConfig(width=1.0, num_classes=1000, sparsity=0.9), 0)
prune_to(m, 0.9)
for name, net in (("sparse", fold_for_inference(m)),
                  ("dense nhwc-gemm", fold_dense_for_inference(m, "NHWC", "gemm"))):
  g, s = nnx.split(net)
  for b in (1, 8):
    r = time_per_call(_forward(g), s, make_input(net, b, 224, 0), min_time_s=0.1, repeats=7)
    print(f"inference {name:16s} batch {b}: {r.median_s * 1e3:7.2f} ms", flush=True)
x, y = jax.random.normal(jax.random.key(1), (32, 3, 64, 64)), jnp.arange(32) % 10
for phase in ("prunable", "sparse"):
  m = create_model(MobileNetConfig(width=1.0, num_classes=10, sparsity=0.9), 0)
  if phase == "sparse":
    prune_to(m, 0.9)
    convert_to_sparse(m)
  g, s = nnx.split((m, nnx.Optimizer(m, optax.adamw(1e-3), wrt=nnx.Param)))
  for _ in range(2):
    s, loss = T._train_step(g, s, x, y)
    loss.block_until_ready()
  times = []
  for _ in range(7):
    t0 = time.perf_counter()
    s, loss = T._train_step(g, s, x, y)
    loss.block_until_ready()
    times.append(time.perf_counter() - t0)
  print(f"train step {phase:8s} batch 32 64x64: {np.median(times) * 1e3:7.1f} ms", flush=True)
