"""Train the character-level Transformer on the Python standard library's sources.

  python -m models.transformer.train --steps 2000 --attention sparse --weights sparse \
      --prune-to 0.5 --out runs/sparse
  python -m models.transformer.train --steps 2000 --attention dense --weights dense \
      --out runs/dense

--weights sparse: dense layers with pruning masks, gradual magnitude pruning (polynomial
schedule) from --prune-begin to --prune-end (fractions of --steps), then every pruned layer is
converted to a SparseLinear and trained with its fixed pattern (the optimizer's moments carry
over to the kept entries). --attention sparse|masked|dense:
jsdl kernels on the pattern, XLA masked attention on the same pattern, or full causal attention.
Evaluates bits per character on fixed validation crops every --eval-every steps, saves a
checkpoint (patterns included) to OUT/checkpoint and the metrics to OUT/metrics.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

from jax_sparse_dl.nn import (pattern_sparsity, polynomial_sparsity,
                              sparsify_optimizer_state, sparsify_prunable, update_masks,
                              weight_counts)

from .checkpoint import load_checkpoint, load_optimizer_state, save_checkpoint
from .data import VOCAB_SIZE, evaluation_batches, load_corpus, random_batch
from .model import TransformerConfig, build_model


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--steps", type=int, default=2000)
  p.add_argument("--batch", type=int, default=16)
  p.add_argument("--seq-len", type=int, default=256)
  p.add_argument("--d-model", type=int, default=256)
  p.add_argument("--heads", type=int, default=8)
  p.add_argument("--layers", type=int, default=4)
  p.add_argument("--attention", choices=["sparse", "masked", "dense"], default="sparse")
  p.add_argument("--pattern", choices=["decay", "strided"], default="decay")
  p.add_argument("--attention-sparsity", type=float, default=0.9)
  p.add_argument("--local", type=int, default=32)
  p.add_argument("--stride", type=int, default=32)
  p.add_argument("--weights", choices=["dense", "sparse"], default="dense")
  # Defaults: the schedule that kept bits/char within 3% of the dense model (docs/gpu-runs.md,
  # session 7): pruning from 20% to 80% of the steps beat 10-50% (+6.2%) and 5-30% (+13%).
  p.add_argument("--prune-to", type=float, default=0.5, help="target weight sparsity")
  p.add_argument("--prune-begin", type=float, default=0.2, help="fraction of --steps")
  p.add_argument("--prune-end", type=float, default=0.8, help="fraction of --steps")
  p.add_argument("--prune-every", type=int, default=50, help="steps between mask updates")
  p.add_argument("--lr", type=float, default=1e-3)
  p.add_argument("--warmup", type=int, default=100)
  p.add_argument("--weight-decay", type=float, default=0.01)
  p.add_argument("--eval-every", type=int, default=250)
  p.add_argument("--eval-batches", type=int, default=8)
  p.add_argument("--save-every", type=int, default=0, help="0: save at the end only")
  p.add_argument("--max-corpus-mb", type=float, default=None)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--resume", default=None, help="a checkpoint directory to continue from")
  p.add_argument("--out", default="runs/transformer")
  p.add_argument("--no-progress", action="store_true")
  return p.parse_args(argv)


def config_from_args(args) -> TransformerConfig:
  return TransformerConfig(
      vocab_size=VOCAB_SIZE, seq_len=args.seq_len, d_model=args.d_model, num_heads=args.heads,
      num_layers=args.layers, attention=args.attention, pattern=args.pattern,
      attention_sparsity=args.attention_sparsity, local=args.local, stride=args.stride,
      pattern_seed=args.seed, linear="prunable" if args.weights == "sparse" else "dense")


def learning_rate(step: int, args) -> float:
  """Linear warmup, then cosine decay to 10% over the run."""
  if step < args.warmup:
    return args.lr * (step + 1) / args.warmup
  progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
  return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def weight_sparsity(model) -> float:
  """Fraction of the linear layers' weights that are pruned (masked out or not stored)."""
  counts = weight_counts(model)
  return 1.0 - counts["stored"] / max(1, counts["dense_equivalent"])


def make_optimizer(args):
  # The learning rate is injected per step: the schedule is `learning_rate(step)`, the same
  # whether training started here or resumed from a checkpoint.
  adamw = optax.inject_hyperparams(optax.adamw)(learning_rate=args.lr, b1=0.9, b2=0.95,
                                                weight_decay=args.weight_decay)
  return optax.chain(optax.clip_by_global_norm(1.0), adamw)


def cross_entropy(model, tokens, targets):
  logits = model(tokens).astype(jnp.float32)
  return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()


class Trainer:
  """The jitted step and evaluation for one model structure (rebuilt when layers change)."""

  def __init__(self, model, tx):
    self.tx = tx
    self.graphdef, self.params, self.rest = nnx.split(model, nnx.Param, ...)
    graphdef = self.graphdef

    def loss_fn(params, rest, tokens, targets):
      return cross_entropy(nnx.merge(graphdef, params, rest), tokens, targets)

    def step(params, rest, opt_state, tokens, targets, lr):
      opt_state[1].hyperparams["learning_rate"] = lr
      loss, grads = jax.value_and_grad(loss_fn)(params, rest, tokens, targets)
      updates, opt_state = tx.update(grads, opt_state, params)
      return optax.apply_updates(params, updates), opt_state, loss

    self._step = jax.jit(step, donate_argnums=(0, 2))
    self._loss = jax.jit(loss_fn)
    self.steps_run = 0

  def load(self, model):
    """Takes the model's current state (same structure as this trainer's)."""
    _, self.params, self.rest = nnx.split(model, nnx.Param, ...)

  def step(self, opt_state, tokens, targets, lr):
    self.steps_run += 1
    self.params, opt_state, loss = self._step(self.params, self.rest, opt_state, tokens,
                                              targets, jnp.float32(lr))
    return opt_state, loss

  def model(self):
    return nnx.merge(self.graphdef, self.params, self.rest)

  def bits_per_character(self, batches) -> float:
    losses = [float(self._loss(self.params, self.rest, x, y)) for x, y in batches]
    return float(np.mean(losses) / np.log(2))


def run(args) -> dict:
  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  corpus = load_corpus(max_bytes=None if args.max_corpus_mb is None
                       else int(args.max_corpus_mb * 2**20))
  start_step, tx = 0, make_optimizer(args)
  if args.resume:
    model, metadata = load_checkpoint(args.resume)
    start_step = int(metadata.get("step", 0))
  else:
    model = build_model(config_from_args(args), seed=args.seed)
  config = model.config
  eval_data = evaluation_batches(corpus.validation, args.eval_batches, args.batch, config.seq_len)
  rng = np.random.default_rng(args.seed + start_step)
  prune_begin, prune_end = int(args.prune_begin * args.steps), int(args.prune_end * args.steps)

  trainer = Trainer(model, tx)
  opt_state = tx.init(trainer.params)
  if args.resume:
    opt_state = load_optimizer_state(args.resume, opt_state) or opt_state
  history, losses, tokens_seen, train_time = [], [], 0, 0.0

  def evaluate(step):
    record = {"step": step, "val_bpc": trainer.bits_per_character(eval_data),
              "train_loss": float(np.mean(losses[-50:])) if losses else None,
              "weight_sparsity": weight_sparsity(trainer.model())}
    history.append(record)
    return record

  initial = evaluate(start_step)
  bar = tqdm(range(start_step, args.steps), disable=args.no_progress, initial=start_step,
             total=args.steps, desc=f"{config.attention} attention, {args.weights} weights")
  phase = config.linear
  for step in bar:
    if phase == "prunable" and step >= prune_end:
      # Pruning done: fixed patterns, sparse kernels from here on (new structure: new jit).
      model = trainer.model()
      update_masks(model, args.prune_to)
      opt_state = sparsify_optimizer_state(model, opt_state)  # Adam's moments carry over
      sparsify_prunable(model)
      model.config = phase_config = dataclasses.replace(model.config, linear="sparse")
      phase = phase_config.linear
      trainer = Trainer(model, tx)
    elif phase == "prunable" and step >= prune_begin and (step - prune_begin) % args.prune_every == 0:
      model = trainer.model()
      update_masks(model, polynomial_sparsity(step, args.prune_to, prune_begin, prune_end))
      trainer.load(model)  # same structure and shapes: no recompilation
    tokens, targets = random_batch(corpus.train, rng, args.batch, config.seq_len)
    t0 = time.perf_counter()
    opt_state, loss = trainer.step(opt_state, tokens, targets, learning_rate(step, args))
    losses.append(float(loss))  # also waits for the step, so the timing is the step's
    if trainer.steps_run > 1:  # the first step of a structure includes its compilation
      train_time += time.perf_counter() - t0
      tokens_seen += tokens.size
    bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
      bar.write(json.dumps(evaluate(step + 1)))
    if args.save_every and (step + 1) % args.save_every == 0:
      save_checkpoint(out / "checkpoint", trainer.model(), {"step": step + 1}, opt_state)

  final = evaluate(args.steps)
  model = trainer.model()
  save_checkpoint(out / "checkpoint", model, {"step": args.steps}, opt_state)
  pattern = model.blocks[0].attn.pattern.get()
  metrics = {
      "initial": initial, "final": final, "history": history, "args": vars(args),
      "config": dataclasses.asdict(model.config),
      # Full causal attention ignores the stored pattern.
      "attention_sparsity": None if model.config.attention == "dense" else pattern_sparsity(pattern),
      "linear_weights": weight_counts(model),
      "train_tokens_per_s": tokens_seen / train_time if train_time else None,
      "corpus_bytes": {"train": int(corpus.train.size), "validation": int(corpus.validation.size),
                       "files": corpus.files},
      "backend": jax.default_backend(),
  }
  (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
  print(json.dumps({"final": final, "attention_sparsity": metrics["attention_sparsity"],
                    "linear_weights": metrics["linear_weights"],
                    "train_tokens_per_s": metrics["train_tokens_per_s"]}))
  return metrics


def main(argv=None):
  run(parse_args(argv))


if __name__ == "__main__":
  main()
