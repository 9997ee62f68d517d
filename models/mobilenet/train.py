"""Train MobileNetV1 on scikit-learn's digits, dense or with gradual magnitude pruning.

  python -m models.mobilenet.train --width 1.0 --sparsity 0.9 --epochs 30 --out runs/sparse
  python -m models.mobilenet.train --width 1.0 --sparsity 0 --epochs 30 --out runs/dense

Sparse runs (Zhu & Gupta): dense warm-up, then the pointwise masks of blocks 2-13 are re-selected
by magnitude --mask-updates times while the sparsity follows a cubic ramp up to --sparsity
(between --prune-begin and --prune-end, fractions of all steps). At --prune-end the patterns are
frozen and the layers become `SparsePointwiseConv` (values trained through SpMM) for the rest.
Held-out accuracy is measured after every epoch; a checkpoint (arrays.npz + checkpoint.json,
optimizer included) is written to --out after every epoch, and --resume continues from it.
At the end the model is folded for inference (batch norm into SpMM values + fused bias/ReLU),
its held-out accuracy measured again, and metrics.json written to --out.
"""
from __future__ import annotations

import argparse
import functools
import json
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

from jax_sparse_dl.nn.pruning import polynomial_sparsity

from . import checkpoint, data
from .model import (MobileNetConfig, convert_to_sparse, create_model, fold_for_inference,
                    pointwise_sparsity, prune_to)


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--width", type=float, default=1.0)
  p.add_argument("--sparsity", type=float, default=0.9, help="0 trains the dense model")
  p.add_argument("--epochs", type=int, default=30)
  p.add_argument("--batch-size", type=int, default=32)
  p.add_argument("--lr", type=float, default=5e-3, help="peak learning rate (AdamW)")
  p.add_argument("--weight-decay", type=float, default=1e-4)
  p.add_argument("--image-size", type=int, default=64)
  p.add_argument("--max-shift", type=int, default=2, help="random translation, pixels")
  p.add_argument("--prune-begin", type=float, default=0.1, help="fraction of all steps")
  p.add_argument("--prune-end", type=float, default=0.5, help="fraction of all steps")
  p.add_argument("--mask-updates", type=int, default=10,
                 help="mask re-selections along the ramp (each one compiles a few small ops)")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--out", type=pathlib.Path, required=True)
  p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
  p.add_argument("--no-progress", action="store_true", help="no progress bar")
  args = p.parse_args(argv)
  if not 0 <= args.sparsity < 1:
    p.error("--sparsity must lie in [0, 1)")
  if args.sparsity > 0 and not 0 <= args.prune_begin < args.prune_end <= 1:
    p.error("need 0 <= --prune-begin < --prune-end <= 1")
  return args


class Schedule:
  """Step bookkeeping: the learning rate and, for sparse runs, the pruning ramp."""

  def __init__(self, args, steps_per_epoch: int):
    self.total = args.epochs * steps_per_epoch
    self.prune_begin = int(args.prune_begin * self.total)
    self.prune_end = max(self.prune_begin + 1, int(args.prune_end * self.total))
    self.target = args.sparsity
    # Evenly spaced after the ramp starts; the last one is prune_end (the conversion).
    ramp = np.linspace(self.prune_begin, self.prune_end, max(args.mask_updates, 1) + 1)[1:]
    self.mask_steps = set(ramp.round().astype(int).tolist())
    self.learning_rate = optax.warmup_cosine_decay_schedule(
        0.0, args.lr, warmup_steps=min(steps_per_epoch, self.total // 2 + 1),
        decay_steps=max(self.total, 1), end_value=args.lr * 0.01)

  def sparsity(self, step: int) -> float:
    return polynomial_sparsity(step, self.target, self.prune_begin, self.prune_end)

  def updates_masks(self, step: int) -> bool:
    return self.target > 0 and step in self.mask_steps


def make_optimizer(model, args, schedule: Schedule, step_offset: int) -> nnx.Optimizer:
  """AdamW over the model's Params; the learning rate continues from `step_offset` (a new
  optimizer is made when the pruned layers become sparse: their parameters change)."""
  tx = optax.adamw(lambda count: schedule.learning_rate(count + step_offset),
                   weight_decay=args.weight_decay)
  return nnx.Optimizer(model, tx, wrt=nnx.Param)


def cross_entropy(logits, labels):
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


@functools.partial(jax.jit, static_argnums=0)
def _train_step(graphdef, state, images, labels):
  model, optimizer = nnx.merge(graphdef, state)
  loss, grads = nnx.value_and_grad(
      lambda m: cross_entropy(m(images, train=True), labels))(model)
  optimizer.update(model, grads)
  return nnx.state((model, optimizer)), loss


@functools.partial(jax.jit, static_argnums=0)
def _eval_logits(graphdef, state, images):
  model, _ = nnx.merge(graphdef, state)
  return model(images, train=False)


class Trainer:
  """Keeps (model, optimizer) split into a graph definition and a state pytree so every step is
  one jitted pure function (no Python graph traversal per step). The graph definition is a
  static argument: mask updates keep it, so they do not recompile; the sparse conversion does."""

  def __init__(self, model, optimizer):
    self.set(model, optimizer)

  def set(self, model, optimizer):
    self.graphdef, self.state = nnx.split((model, optimizer))

  def objects(self):
    """(model, optimizer) holding the current state."""
    return nnx.merge(self.graphdef, self.state)

  def train_step(self, images, labels):
    self.state, loss = _train_step(self.graphdef, self.state, images, labels)
    return loss

  def accuracy(self, split: data.Split, batch: int = 512) -> float:
    return accuracy(lambda x: _eval_logits(self.graphdef, self.state, x), split, batch)


def accuracy(logits_fn, split: data.Split, batch: int = 512) -> float:
  correct = 0
  for start in range(0, len(split.labels), batch):
    logits = logits_fn(jnp.asarray(split.images[start:start + batch]))
    correct += int(np.sum(np.asarray(jnp.argmax(logits, -1)) == split.labels[start:start + batch]))
  return correct / len(split.labels)


def evaluate_folded(model, split: data.Split) -> float:
  folded = fold_for_inference(model)
  graphdef, state = nnx.split(folded)
  forward = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
  return accuracy(lambda x: forward(state, x), split)


def _start(args, schedule: Schedule, steps_per_epoch: int):
  """(model, optimizer, first epoch, history, lr offset): fresh, or from the checkpoint."""
  if args.resume and checkpoint.exists(args.out):
    model, meta, arrays = checkpoint.restore(args.out)
    optimizer = make_optimizer(model, args, schedule, meta["lr_offset"])
    checkpoint.load_state(optimizer, arrays, "optimizer")
    print(f"resumed from {args.out} after epoch {meta['epoch'] + 1}", file=sys.stderr)
    return model, optimizer, meta["epoch"] + 1, meta["history"], meta["lr_offset"]
  config = MobileNetConfig(width=args.width, num_classes=data.NUM_CLASSES, sparsity=args.sparsity)
  model = create_model(config, args.seed)
  return model, make_optimizer(model, args, schedule, 0), 0, [], 0


def train(args) -> dict:
  train_split, held_out = data.load(args.image_size, seed=args.seed)
  steps_per_epoch = len(train_split.labels) // args.batch_size
  schedule = Schedule(args, steps_per_epoch)
  model, optimizer, first_epoch, history, lr_offset = _start(args, schedule, steps_per_epoch)
  trainer = Trainer(model, optimizer)
  started = time.perf_counter()
  for epoch in range(first_epoch, args.epochs):
    epoch_start, losses = time.perf_counter(), []
    rng = np.random.default_rng([args.seed, epoch])
    bar = tqdm(data.batches(train_split, args.batch_size, rng, args.max_shift),
               total=steps_per_epoch, desc=f"epoch {epoch + 1}/{args.epochs}",
               disable=args.no_progress, leave=False)
    for i, (images, labels) in enumerate(bar):
      step = epoch * steps_per_epoch + i
      if schedule.updates_masks(step) or (args.sparsity > 0 and step == schedule.prune_end):
        model, optimizer = trainer.objects()
        prune_to(model, schedule.sparsity(step))
        if step == schedule.prune_end:  # pattern final: train the CSR values from here on
          convert_to_sparse(model)
          lr_offset = step
          optimizer = make_optimizer(model, args, schedule, lr_offset)
        trainer.set(model, optimizer)
      losses.append(trainer.train_step(jnp.asarray(images), jnp.asarray(labels)))
      if i % 5 == 0:
        bar.set_postfix(loss=f"{float(losses[-1]):.4f}")
    model, optimizer = trainer.objects()
    record = {"epoch": epoch + 1, "loss": float(np.mean(np.asarray(losses))),
              "held_out_accuracy": trainer.accuracy(held_out),
              "sparsity": pointwise_sparsity(model),
              "seconds": time.perf_counter() - epoch_start}
    history.append(record)
    print(f"epoch {epoch + 1}: loss {record['loss']:.4f}, held-out accuracy "
          f"{record['held_out_accuracy']:.4f}, sparsity {record['sparsity']:.3f}, "
          f"{record['seconds']:.1f} s", file=sys.stderr)
    checkpoint.save(args.out, model, optimizer,
                    meta={"epoch": epoch, "history": history, "lr_offset": lr_offset,
                          "args": {k: str(v) for k, v in vars(args).items()}})
  model, _ = trainer.objects()
  if not history:
    raise SystemExit(f"nothing to do: the checkpoint in {args.out} is already at epoch "
                     f"{args.epochs}")
  metrics = {
      "width": args.width, "target_sparsity": args.sparsity,
      "pointwise_sparsity": pointwise_sparsity(model),
      "held_out_accuracy": history[-1]["held_out_accuracy"],
      "folded_held_out_accuracy": evaluate_folded(model, held_out),
      "final_train_loss": history[-1]["loss"],
      "train_seconds_this_run": time.perf_counter() - started,
      "held_out_images": int(len(held_out.labels)), "image_size": args.image_size,
      "devices": [str(d) for d in jax.devices()], "history": history,
  }
  (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
  return metrics


def main(argv=None):
  metrics = train(parse_args(argv))
  print(json.dumps({k: v for k, v in metrics.items() if k != "history"}, indent=2))


if __name__ == "__main__":
  main()
