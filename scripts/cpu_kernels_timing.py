"""The CPU module's kernels against the pure-JAX lowering they replace, on the bundled DLMC
matrices (or given .smtx files): SpMM (N = 256; also BCSR and dense jnp.dot), SDDMM (d = 64)
and csr_softmax, in float32 (or --dtype bfloat16 / float16), microseconds a call by
jax_sparse_dl.timing (a jitted loop of many calls, median of 5 executions). Run from outside the
source tree:
python scripts/cpu_kernels_timing.py [--loops L] [--dtype D] [FILES_OR_DIRS]  (--loops: the float32
loops' copy, portable, avx2 or avx512; by default the widest this CPU runs)
"""
import argparse
import warnings

import jax
import jax.numpy as jnp

import jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, lowering, timing


def per_call_us(fn, *args):
  return timing.time_per_call(fn, *args, repeats=5).median_s * 1e6


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("paths", nargs="*")
  parser.add_argument("--loops", choices=["portable", "avx2", "avx512"])
  parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
  args = parser.parse_args()
  from jax_sparse_dl import _jsdl_cpu
  loops = args.loops or _jsdl_cpu.vector_loops()[-1]
  _jsdl_cpu.use_vector_loops(loops)
  # BCSR has no native CPU kernel for 16-bit types; it says so once a compile.
  warnings.filterwarnings("ignore", message="bcsr_dot_general cpu lowering not available")
  dtype = jnp.dtype(args.dtype)
  print(f"jax {jax.__version__}, backend {jax.default_backend()}, CPU kernels built: "
        f"{jsdl.has_cpu_kernels()}, float32 loops: {loops}, dtype {dtype.name}; times in us: "
        "kernels / pure-JAX reference")
  for path in dlmc.find_matrices(args.paths) if args.paths else dlmc.bundled_matrices():
    A = dlmc.load_csr(path, jax.random.key(0), dtype)
    m, k = A.shape
    x = jax.random.normal(jax.random.key(1), (k, 256), dtype)
    q = jax.random.normal(jax.random.key(2), (m, 64), dtype)
    kk = jax.random.normal(jax.random.key(3), (k, 64), dtype)
    ops = {"spmm": (lambda v, x: jsdl.spmm(A.with_values(v), x), A.values, x),
           "sddmm": (lambda q, kk: jsdl.sddmm(q, kk, A).values, q, kk),
           "softmax": (lambda v: jsdl.csr_softmax(A.with_values(v)).values, A.values)}
    times = {}
    for kernels in (True, False):
      lowering.cpu_kernels = kernels
      jax.clear_caches()
      for name, (fn, *args) in ops.items():
        times[name, kernels] = per_call_us(fn, *args)
    lowering.cpu_kernels = jsdl.has_cpu_kernels()
    bcsr, dense = A.to_bcsr(), A.todense()
    others = (f"bcsr {per_call_us(lambda x: bcsr @ x, x):.0f}, "
              f"dense {per_call_us(lambda x: jnp.dot(dense, x), x):.0f}")
    cells = "  ".join(f"{name} {times[name, True]:.0f} / {times[name, False]:.0f}"
                      for name in ops)
    print(f"{path.name[:42]:42s} {m}x{k} nnz {A.nnz}: {cells}  (spmm: {others})", flush=True)


if __name__ == "__main__":
  main()
