"""Does the SpMM wgmma tile's density floor (jax_sparse_dl.spmm.WGMMA_MIN_DENSITY) cost time?

The lowering sizes the tile's work buffer only for patterns at least WGMMA_MIN_DENSITY (0.05)
dense, and DLMC's 95% patterns are 0.05 rounded down (819 of 64 x 256 = 16384 entries), so no 95%
pattern ever takes the tile, whatever the handler's time model says. Session 32's harness, where
the floor does not apply, measured the model's choice on ResNet-50's 128 x 256 at 95%, N = 802816,
in bfloat16 at 297 us (the tile) against 483 us for the wide stream kernel; the package's
benchmark took 486 there. This times, in one process by the device clock, each problem with:
- "floor": the package as it is (WGMMA_MIN_DENSITY = 0.05);
- "model": WGMMA_MIN_DENSITY = 0.01, so the handler's time model chooses (spmm_heuristic.h);
- "tile": the same with JSDL_SPMM_VARIANT=wgmma, the tile's own time (is the model right?).
Every output is checked against float64 on 512 of its columns.

Run on the GPU machine after `pip install .`, from /tmp:
  python <repo>/docs/gpu-runs/2026-12-05-h100-ae64b9f-density-floor/compare.py <repo>/.dlmc
"""
import importlib
import os
import re
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc
from jax_sparse_dl.timing import time_per_call

# The module, not the function jax_sparse_dl.spmm that `import jax_sparse_dl.spmm as ...` gives.
spmm_module = importlib.import_module("jax_sparse_dl.spmm")

# (pattern under <dlmc>/<suite>/magnitude_pruning/, Ns): the benchmark's 95% and 98% problems,
# and more ResNet-50 95% layers at batch 256 (the memory-bound regime where the tile may win).
PROBLEMS = [
    ("rn50/0.95/bottleneck_1_block_group_projection_block_group2", (3136, 802816)),
    ("rn50/0.95/bottleneck_1_block_group1_1_1", (802816,)),
    ("rn50/0.95/bottleneck_2_block_group1_1_1", (802816,)),
    ("rn50/0.95/bottleneck_1_block_group2_1_1", (200704,)),
    ("rn50/0.95/bottleneck_1_block_group3_1_1", (50176,)),
    ("transformer/0.95/body_decoder_layer_0_ffn_conv1_fully_connected", (256, 2048, 8192)),
    ("transformer/0.95/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected",
     (256, 2048)),
    ("rn50/0.98/bottleneck_1_block_group2_1_1", (784, 200704)),
    ("transformer/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected",
     (256, 2048)),
]
TYPES = (("float32", "highest"), ("float32", "default"), ("bfloat16", "default"))
VARIANTS = (("floor", 0.05, None), ("model", 0.01, None), ("tile", 0.01, "wgmma"))
CHECK_COLS = 512


def workspace_bytes(result):
  """The work buffer of the loop's jsdl_spmm call (its u8 result; 0 without one)."""
  for line in result.executable.as_text().splitlines():
    if 'custom_call_target="jsdl_spmm"' in line:
      found = re.search(r"u8\[(\d+)\]", line)
      return int(found.group(1)) if found else 0
  return 0


def main(root):
  clock = "device" if jax.default_backend() == "gpu" else "wall"
  print(f"{jax.devices()[0].device_kind}, jax {jax.__version__}, clock {clock}; us a call",
        flush=True)
  print("problem n type: " + ", ".join(name for name, _, _ in VARIANTS)
        + " | floor/model | errors | the work buffer (KiB)")
  key = jax.random.key(0)
  for name, ns in PROBLEMS:
    suite, level, layer = name.split("/")
    pattern = dlmc.read_smtx(Path(root) / suite / "magnitude_pruning" / level /
                             f"{layer}.smtx.gz")
    for n in ns:
      for dtype, precision in TYPES:
        key, ka, kx = jax.random.split(key, 3)
        A = dlmc.load_csr(pattern, ka, jnp.dtype(dtype))
        x = jax.random.normal(kx, (pattern.shape[1], n), jnp.dtype(dtype))
        A64 = np.asarray(A.todense(), np.float64)
        cols = np.sort(np.random.default_rng(n).choice(n, min(n, CHECK_COLS), replace=False))
        want = A64 @ np.asarray(x[:, cols], np.float64)
        times, errs, spaces = [], [], []
        for _, floor, variant in VARIANTS:
          spmm_module.WGMMA_MIN_DENSITY = floor
          if variant:
            os.environ["JSDL_SPMM_VARIANT"] = variant
          try:
            r = time_per_call(lambda A, x: jsdl.spmm(A, x, precision=precision), A, x,
                              repeats=7, min_time_s=0.02, keep_output=True, clock=clock)
          finally:
            os.environ.pop("JSDL_SPMM_VARIANT", None)
          times.append(r.median_us)
          spaces.append(workspace_bytes(r) >> 10)
          out = np.asarray(r.output[0][:, cols], np.float64)
          errs.append(float(np.linalg.norm(out - want) / np.linalg.norm(want)))
        spmm_module.WGMMA_MIN_DENSITY = 0.05
        print(f"{name} n={n} {dtype}/{precision}: "
              + ", ".join(f"{t:9.2f}" for t in times)
              + f" | {times[0] / times[1]:.3f}x | " + " ".join(f"{e:.1e}" for e in errs)
              + " | work KiB " + "/".join(str(b) for b in spaces),
              flush=True)


if __name__ == "__main__":
  sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".dlmc"))
