"""Runs a few SpMM / SDDMM problems once each, for Nsight Compute to profile the kernels.

Each case is compiled and run once outside the profiled range, then once inside
cudaProfilerStart/Stop (ncu --profile-from-start off), so every profiled kernel is a steady-state
launch. Contenders: this package, cuSPARSE (when built) and XLA's dense dot.

Usage (GPU machine): ncu --profile-from-start off --section SpeedOfLight ... \
    python3 scripts/profile_kernels.py [--cases sddmm64,spmm2048,...]
"""
import argparse
import ctypes
import os
import sys

import jax
import jax.numpy as jnp

import jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc

_cudart = None


def _profiler(on: bool):
  global _cudart
  if _cudart is None:
    for name in ("libcudart.so.13", "libcudart.so.12", "libcudart.so"):
      try:
        _cudart = ctypes.CDLL(name)
        break
      except OSError:
        continue
  if _cudart is not None:
    (_cudart.cudaProfilerStart if on else _cudart.cudaProfilerStop)()


def bundled(name):
  return next(p for p in dlmc.bundled_matrices() if p.name.startswith(name))


def contenders(op, A, x, y=None):
  """(label, jitted function, args) for every contender of one problem."""
  out = []
  try:
    from jax_sparse_dl import cusparse
    has_cusparse = cusparse.available()
  except ImportError:
    has_cusparse = False
  hi = jax.lax.Precision.HIGHEST
  if op == "spmm":
    out.append(("jsdl", jax.jit(lambda A, x: jsdl.spmm(A, x)), (A, x)))
    if has_cusparse:
      out.append(("cusparse_alg3", jax.jit(lambda A, x: cusparse.spmm(A, x, "alg3")), (A, x)))
    d = A.todense()
    out.append(("dense_highest", jax.jit(lambda d, x: jnp.dot(d, x, precision=hi)), (d, x)))
  else:
    # jsdl at the default precision (TF32 tensor cores where the heuristic picks them), beside
    # XLA's dense dot at DEFAULT: the same products on cuBLAS's tensor-core kernels.
    out.append(("jsdl", jax.jit(lambda q, k, A: jsdl.sddmm(q, k, A).values), (x, y, A)))
    if has_cusparse:
      out.append(("cusparse", jax.jit(lambda q, k, A: cusparse.sddmm(q, k, A)), (x, y, A)))
    out.append(("dense_default", jax.jit(lambda q, k: jnp.dot(q, k.T)), (x, y)))
  return out


def cases():
  key = jax.random.PRNGKey(0)
  ffn = bundled("transformer_0.9_enc0_ffn_conv1")
  attn = bundled("transformer_0.9_enc0_self_attn_k")
  rn50 = bundled("rn50_0.9")
  k1, k2, k3 = jax.random.split(key, 3)
  for label, path, n in (("spmm_ffn_n2048", ffn, 2048), ("spmm_attn_n256", attn, 256),
                         ("spmm_rn50_n3136", rn50, 3136)):
    A = dlmc.load_csr(path, k1, jnp.float32)
    yield label, "spmm", A, jax.random.normal(k2, (A.shape[1], n)), None
  # sddmm_attn_d64: 512 x 512 (64 tiles of 64 x 64), where every SDDMM kernel lost to cuSPARSE in
  # session 14.
  for label, path, d in (("sddmm_attn_d64", attn, 64), ("sddmm_ffn_d64", ffn, 64),
                         ("sddmm_ffn_d256", ffn, 256),
                         ("sddmm_ffn_d2048", ffn, 2048), ("sddmm_attn_d2048", attn, 2048),
                         ("sddmm_rn50_d2048", rn50, 2048)):
    A = dlmc.load_csr(path, k1, jnp.float32)
    yield (label, "sddmm", A, jax.random.normal(k2, (A.shape[0], d)),
           jax.random.normal(k3, (A.shape[1], d)))
  A = jsdl.random_csr(k1, (4096, 4096), 0.95)
  yield ("sddmm_attn4096_d64", "sddmm", A, jax.random.normal(k2, (4096, 64)),
         jax.random.normal(k3, (4096, 64)))
  # The Transformer benchmark's attention (issue 4): 8 heads on one causal-decay pattern.
  from jax_sparse_dl.nn import causal_decay_pattern
  pattern = causal_decay_pattern(12288, 0.95, 128).sparsity
  A = jsdl.CSR(jax.random.uniform(k1, (8, pattern.nnz)), pattern)
  q, k = (jax.random.normal(key, (8, 12288, 64)) for key in (k2, k3))
  yield "spmm_causal12288_h8", "spmm", A, q, None
  yield "sddmm_causal12288_h8", "sddmm", A, q, k


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--cases", default="", help="comma-separated case labels (default: all)")
  want = set(filter(None, parser.parse_args().cases.split(",")))
  for label, op, A, x, y in cases():
    if want and label not in want:
      continue
    batched = A.values.ndim > 1  # heads on one pattern: jsdl alone takes that
    for name, fn, args in contenders(op, A, x, y)[:1 if batched else None]:
      jax.block_until_ready(fn(*args))  # compile and warm up outside the profiled range
      _profiler(True)
      jax.block_until_ready(fn(*args))
      _profiler(False)
      print(f"profiled {label} {name}: {A.shape} nnz={A.nnz}", flush=True)


if __name__ == "__main__":
  main()
  # Skip the interpreter's teardown: under Nsight Compute it has segfaulted after the last kernel,
  # before ncu printed its report.
  sys.stdout.flush()
  os._exit(0)
