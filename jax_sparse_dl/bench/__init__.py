"""The benchmark of jax-sparse-dl: ``python -m jax_sparse_dl.bench [PATH ...] [options]``.

SpMM, SDDMM and csr_softmax of jax-sparse-dl, side by side with cuSPARSE (through
``jax_sparse_dl.cusparse`` when present), XLA dense, and ``jax.experimental.sparse`` (BCSR with
its default and its cuSPARSE lowering, ``bcoo_dot_general_sampled``), on DLMC matrices (default:
the bundled sample; e.g. ``/work/shared/dlmc`` with ``--limit-per-level 6``).

Methodology (the same for every contender):

* Time: ``jax_sparse_dl.timing.time_per_call``: the call is staged many times in one jitted
  ``fori_loop`` (no Python dispatch per call; an optimisation barrier keeps every iteration),
  calls chosen so that one execution takes >= ``--min-time`` (10 ms), then ``--warmup`` (2)
  untimed and ``--repeats`` (5) timed executions; the median per call is reported (min and max
  too). Compiled loops are reused between problems of equal argument shapes. On a GPU the
  clock is the GPU's busy time in each timed execution (``--clock device``: kernels and copies
  from a profiler session, whoever launched them); the host's wall clock, which adds XLA's
  launch work of about 10 µs a call, is kept as ``wall_us`` (``--clock wall`` times by it).
* Inputs: fresh seeded random values per problem (sparse values of magnitude 0.5 to 1.5, dense
  operands standard normal), identical for all contenders of a problem (bfloat16 contenders get
  the same data rounded).
* Correctness: each contender's output, taken from the timed loop itself, is compared with a
  float64 numpy reference on the same rounded inputs: relative L2 error, tolerance 1e-5 for true
  float32 (HIGHEST), 5e-3 for DEFAULT (TF32 allowed), 3e-2 for bfloat16. Mismatches are printed,
  recorded (status "mismatch") and left out of the speedups.
* Throughput: useful work ``2 nnz N / t`` (SpMM) or ``2 nnz d / t`` (SDDMM) for every contender,
  also as % of the fp32 peak; softmax: bytes moved / t against the measured copy bandwidth.

Modules: ``problems`` (matrices, sizes, sampling), ``data`` (device inputs, host references),
``contenders``, ``run`` (the loop and records), ``results`` (metadata, files), ``report``
(summary.md; ``python -m jax_sparse_dl.bench.report DIR``), ``plots``, ``common``.
"""


def main(argv=None) -> int:
    from .__main__ import main as _main
    return _main(argv)
