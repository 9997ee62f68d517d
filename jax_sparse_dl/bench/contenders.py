"""The contenders: what is timed for each operation, on which inputs, checked how.

Every contender is a JAX-traceable function of array arguments (pytrees such as a CSR or a
BCSR included). Each function object is made once per run, so compiled timing loops are reused
for problems with the same argument shapes (see ``timing.time_per_call``'s ``cache``).

SpMM (C = A @ B, A sparse (m, k), B dense (k, N)):
  jsdl_f32_highest / jsdl_f32_default / jsdl_bf16: ``jsdl.spmm`` (precision HIGHEST = float32's
    precision: CUDA-core FMAs or, on Hopper, 3xTF32 tensor cores; DEFAULT may use TF32;
    bfloat16 in and out, float32 accumulation).
  cusparse_<alg>: ``jax_sparse_dl.cusparse.spmm`` per algorithm, float32 (when the module is
    there and available); ``cusparse_best`` is the fastest of them per problem (derived row,
    ``best_alg`` says which); cusparse_bf16: bfloat16, algorithm "default".
  dense_f32_highest / dense_f32_default / dense_bf16: A stored dense, ``jnp.dot`` with
    ``preferred_element_type=float32`` (bfloat16: output rounded to bfloat16, a fused convert).
  bcsr: ``jax.experimental.sparse.BCSR @ B`` with its default lowering (gather, multiply by
    ``lax.dot_general`` at default precision, scatter-add; tolerance of DEFAULT); bcsr_cusparse:
    the same with ``jax_bcoo_cusparse_lowering`` on. That flag is read by BCSR's CUDA lowering
    rule (``bcsr._bcsr_dot_general_gpu_lowering``, jax 0.10 to 0.11 at least), i.e. while the
    timing loop is lowered, so it is switched on around tracing, lowering and compiling of that
    contender only (and restored after). It only affects CUDA; the compiled loop is checked to
    call cuSPARSE (``cusparse_csr_matmat_ffi``), else the record is an error (jax fell back to
    its default lowering).
SDDMM (values = (lhs @ rhs^T) at A's pattern, lhs (m, d), rhs (k, d)):
  jsdl_f32_highest / jsdl_f32_default / jsdl_bf16: ``jsdl.sddmm``.
  cusparse: ``jax_sparse_dl.cusparse.sddmm``, float32.
  dense_f32_highest / dense_f32_default / dense_bf16: ``lhs @ rhs^T`` by ``lax.dot_general``,
    then a gather at the pattern.
  bcoo_sampled: ``jax.experimental.sparse.bcoo_dot_general_sampled`` (BCOO indices).
softmax (rows of a (seq, seq) pattern, ``heads`` value vectors sharing it):
  jsdl_f32 / jsdl_bf16: ``jsdl.csr_softmax``; dense_masked_f32 / dense_masked_bf16:
  ``jax.nn.softmax`` of the dense (heads, seq, seq) scores with -inf outside the pattern
  (computed in float32, bfloat16 in and out for the bf16 one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import jax_sparse_dl as jsdl

from .common import short_exc

__all__ = ["Contender", "Env", "Limits", "detect_env", "build_contenders", "CUSPARSE_BEST"]

HIGHEST, DEFAULT = jax.lax.Precision.HIGHEST, jax.lax.Precision.DEFAULT
CUSPARSE_BEST = "cusparse_best"
GIB = float(1 << 30)


@dataclasses.dataclass(frozen=True)
class Env:
    """What this process can run."""

    backend: str
    on_gpu: bool
    jsdl_cuda: bool
    cusparse: Any  # the module, or None
    cusparse_reason: str  # why cuSPARSE contenders are skipped ("" when they run)
    bcsr_cusparse_reason: str = ""  # why BCSR's cuSPARSE lowering is skipped ("" when it runs)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Size limits past which a contender is skipped (reason recorded)."""

    gather_bytes: float = 4 * GIB  # intermediates of BCSR's default lowering, bcoo_sampled
    dense_bytes: float = 16 * GIB  # operands + output of the dense contenders


@dataclasses.dataclass(frozen=True)
class Contender:
    name: str
    op: str
    family: str  # jsdl | cusparse | dense | bcsr | bcoo
    dtype: str  # float32 | bfloat16
    precision: str  # HIGHEST | DEFAULT | bf16 (bfloat16 data, float32 accumulation) | fp32
    tol_class: str  # fp32 | tf32 | bf16: the tolerance (common.TOLERANCES)
    fn: Callable
    inputs: Callable  # data -> tuple of fn's arguments
    description: str
    skip: str = ""  # reason known when the contenders are built
    limit: Callable | None = None  # (problem, limits) -> reason or ""
    context: Callable = contextlib.nullcontext  # around the timing (trace, lower, compile, run)
    view: Callable | None = None  # (data, output) -> float64 host array; default data.view
    dense_work: bool = False  # its work grows with m * k (dense), not nnz
    hlo_must_contain: str = ""  # must be in the compiled loop's HLO text, else status "error"

    def work(self, problem) -> float:
        if problem.op == "softmax":
            row = problem.seq if self.family == "dense" else (1 - problem.sparsity) * problem.seq
            return float(problem.heads * problem.seq * max(1.0, row))
        return problem.dense_flops if self.dense_work else problem.flops


def detect_env() -> Env:
    backend = jax.default_backend()
    on_gpu = backend in ("gpu", "cuda")
    cusparse, reason = None, ""
    if not on_gpu:  # a build with the module, run on the CPU: its targets are CUDA's only
        reason = f"cuSPARSE runs on the GPU only (backend {backend})"
    else:
        try:
            cusparse = importlib.import_module("jax_sparse_dl.cusparse")
        except ImportError as e:
            reason = f"jax_sparse_dl.cusparse not importable ({short_exc(e)})"
    if cusparse is not None:
        try:
            if not cusparse.available():
                reason = "jax_sparse_dl.cusparse.available() is False"
        except Exception as e:  # noqa: BLE001
            reason = f"jax_sparse_dl.cusparse.available() failed: {short_exc(e)}"
        if reason:
            cusparse = None
    bcsr_reason = (_bcsr_cusparse_problem() if on_gpu else
                   f"the cuSPARSE flag only changes the CUDA lowering (backend {backend})")
    return Env(backend=backend, on_gpu=on_gpu, jsdl_cuda=jsdl.has_cuda_kernels(),
               cusparse=cusparse, cusparse_reason=reason, bcsr_cusparse_reason=bcsr_reason)


def _bcsr_cusparse_problem() -> str:
    """Why BCSR's cuSPARSE lowering cannot be timed here, or "" when a tiny product lowers."""
    from jax.experimental import sparse as jsparse
    a = jsparse.BCSR.fromdense(jnp.eye(4, dtype=jnp.float32))
    try:
        with bcoo_cusparse_lowering():
            jax.jit(lambda a, x: a @ x).lower(a, jnp.ones((4, 8), jnp.float32)).compile()
    except Exception as e:  # noqa: BLE001  reported as the contender's skip reason
        return f"BCSR @ B with the cuSPARSE flag does not compile on jax {jax.__version__}: " \
            f"{short_exc(e)}"
    return ""


@contextlib.contextmanager
def bcoo_cusparse_lowering(on: bool = True):
    """``jax_bcoo_cusparse_lowering`` set to ``on`` inside, restored after."""
    # jax 0.11 rejects jax.config.read (and, on 0.11.2, attribute reads) for flags that have
    # a context manager; the values dict has every flag in 0.10 and 0.11.
    values = getattr(jax.config, "values", None)
    old = bool(values["jax_bcoo_cusparse_lowering"] if isinstance(values, dict)
               and "jax_bcoo_cusparse_lowering" in values
               else getattr(jax.config, "jax_bcoo_cusparse_lowering"))
    jax.config.update("jax_bcoo_cusparse_lowering", on)
    try:
        yield
    finally:
        jax.config.update("jax_bcoo_cusparse_lowering", old)


def _gib(x: float) -> str:
    return f"{x / GIB:.2f} GiB"


def _limit(what: str, size_fn, attr: str):
    def limit(problem, limits: Limits) -> str:
        size, cap = size_fn(problem), getattr(limits, attr)
        return f"{what} {_gib(size)} > limit {_gib(cap)}" if size > cap else ""
    return limit


# The dense contenders of SpMM and SDDMM: (name, dtype, precision, tolerance class).
_DENSE_CONTENDERS = (("dense_f32_highest", "float32", HIGHEST, "fp32"),
                     ("dense_f32_default", "float32", DEFAULT, "tf32"),
                     ("dense_bf16", "bfloat16", DEFAULT, "bf16"))


# ------------------------------------------------------------------------------------- SpMM


def _spmm_contenders(env: Env) -> list[Contender]:
    out = []

    def jsdl_fn(precision):
        return lambda A, x: jsdl.spmm(A, x, precision=precision)

    out.append(Contender(
        "jsdl_f32_highest", "spmm", "jsdl", "float32", "HIGHEST", "fp32", jsdl_fn(HIGHEST),
        lambda d: (d.csr("float32"), d.x("float32")), "jsdl.spmm float32, precision HIGHEST"))
    out.append(Contender(
        "jsdl_f32_default", "spmm", "jsdl", "float32", "DEFAULT", "tf32", jsdl_fn(DEFAULT),
        lambda d: (d.csr("float32"), d.x("float32")), "jsdl.spmm float32, precision DEFAULT"))
    out.append(Contender(
        "jsdl_bf16", "spmm", "jsdl", "bfloat16", "bf16", "bf16", jsdl_fn(DEFAULT),
        lambda d: (d.csr("bfloat16"), d.x("bfloat16")), "jsdl.spmm bfloat16"))

    algs = tuple(getattr(env.cusparse, "ALGORITHMS", ("default", "alg1", "alg2", "alg3")))
    for alg in algs:
        fn = (lambda alg: lambda A, x: env.cusparse.spmm(A, x, alg=alg))(alg)
        out.append(Contender(
            f"cusparse_{alg}", "spmm", "cusparse", "float32", "fp32", "fp32", fn,
            lambda d: (d.csr("float32"), d.x("float32")), f"cuSPARSE SpMM, algorithm {alg}",
            skip=env.cusparse_reason))

    cusparse_dtypes = [jnp.dtype(t) for t in getattr(env.cusparse, "SPMM_DTYPES", ())]
    if env.cusparse is None or jnp.dtype("bfloat16") in cusparse_dtypes:
        out.append(Contender(
            "cusparse_bf16", "spmm", "cusparse", "bfloat16", "bf16", "bf16",
            lambda A, x: env.cusparse.spmm(A, x, alg="default"),
            lambda d: (d.csr("bfloat16"), d.x("bfloat16")),
            "cuSPARSE SpMM bfloat16 (float32 compute), algorithm default",
            skip=env.cusparse_reason))

    dense_bytes = _limit("dense operands", lambda p: 4.0 * (p.matrix.m * p.matrix.k
                         + p.matrix.k * p.n + p.matrix.m * p.n), "dense_bytes")

    def dense_fn(precision, dtype):
        def fn(a, x):
            y = jnp.dot(a, x, precision=precision, preferred_element_type=jnp.float32)
            return y if dtype == "float32" else y.astype(dtype)
        return fn

    for name, dtype, prec, tol in _DENSE_CONTENDERS:
        out.append(Contender(
            name, "spmm", "dense", dtype, prec.name if dtype == "float32" else "bf16", tol,
            dense_fn(prec, dtype), (lambda dt: lambda d: (d.dense_a(dt), d.x(dt)))(dtype),
            f"XLA dense dot ({dtype}, precision {prec.name}), A stored dense", limit=dense_bytes,
            dense_work=True))

    bcsr_limit = _limit("default lowering's nnz x N products",
                        lambda p: 4.0 * p.matrix.nnz * p.n, "gather_bytes")
    # The default lowering multiplies through lax.dot_general at the default precision (the
    # products may be TF32 on GPU): its tolerance is that of DEFAULT.
    out.append(Contender(
        "bcsr", "spmm", "bcsr", "float32", "DEFAULT", "tf32", lambda a, x: a @ x,
        lambda d: (d.bcsr("float32"), d.x("float32")),
        "jax.experimental.sparse.BCSR @ B, default lowering", limit=bcsr_limit))
    out.append(Contender(
        "bcsr_cusparse", "spmm", "bcsr", "float32", "fp32", "fp32", lambda a, x: a @ x,
        lambda d: (d.bcsr("float32"), d.x("float32")),
        "jax.experimental.sparse.BCSR @ B with jax_bcoo_cusparse_lowering=True",
        skip=env.bcsr_cusparse_reason, context=bcoo_cusparse_lowering,
        hlo_must_contain="csr_matmat"))
    return out


# ------------------------------------------------------------------------------------ SDDMM


def _sddmm_contenders(env: Env) -> list[Contender]:
    out = []

    def jsdl_fn(precision):
        return lambda lhs, rhs, A: jsdl.sddmm(lhs, rhs, A, precision=precision).values

    def operands(dtype):
        return lambda d: (d.operand("lhs", dtype), d.operand("rhs", dtype), d.csr(dtype))

    out.append(Contender(
        "jsdl_f32_highest", "sddmm", "jsdl", "float32", "HIGHEST", "fp32", jsdl_fn(HIGHEST),
        operands("float32"), "jsdl.sddmm float32, precision HIGHEST"))
    out.append(Contender(
        "jsdl_f32_default", "sddmm", "jsdl", "float32", "DEFAULT", "tf32", jsdl_fn(DEFAULT),
        operands("float32"), "jsdl.sddmm float32, precision DEFAULT"))
    out.append(Contender("jsdl_bf16", "sddmm", "jsdl", "bfloat16", "bf16", "bf16", jsdl_fn(DEFAULT),
                         operands("bfloat16"), "jsdl.sddmm bfloat16"))
    out.append(Contender(
        "cusparse", "sddmm", "cusparse", "float32", "fp32", "fp32",
        lambda lhs, rhs, A: env.cusparse.sddmm(lhs, rhs, A), operands("float32"),
        "cuSPARSE SDDMM", skip=env.cusparse_reason))

    dense_bytes = _limit("dense operands and product", lambda p: 4.0 * (
        p.matrix.m * p.matrix.k + (p.matrix.m + p.matrix.k) * p.d), "dense_bytes")

    def dense_fn(precision, dtype):
        def fn(lhs, rhs, rows, cols):
            full = jax.lax.dot_general(lhs, rhs, (((1,), (1,)), ((), ())), precision=precision,
                                       preferred_element_type=jnp.float32)
            out = full[rows, cols]
            return out if dtype == "float32" else out.astype(dtype)
        return fn

    for name, dtype, prec, tol in _DENSE_CONTENDERS:
        out.append(Contender(
            name, "sddmm", "dense", dtype, prec.name if dtype == "float32" else "bf16", tol,
            dense_fn(prec, dtype),
            (lambda dt: lambda d: (d.operand("lhs", dt), d.operand("rhs", dt),
                                   d.pattern.rows_dev(), d.pattern.cols_dev()))(dtype),
            f"XLA dense lhs @ rhs^T ({dtype}, precision {prec.name}), then a gather",
            limit=dense_bytes, dense_work=True))

    def sampled(lhs, rhs, indices):
        from jax.experimental import sparse as jsparse
        return jsparse.bcoo_dot_general_sampled(lhs, rhs, indices,
                                                dimension_numbers=(([1], [1]), ([], [])))

    out.append(Contender(
        "bcoo_sampled", "sddmm", "bcoo", "float32", "fp32", "fp32", sampled,
        lambda d: (d.operand("lhs", "float32"), d.operand("rhs", "float32"),
                   d.pattern.coo_indices()),
        "jax.experimental.sparse.bcoo_dot_general_sampled",
        limit=_limit("gathered rows (2 x nnz x d)", lambda p: 8.0 * p.matrix.nnz * p.d,
                     "gather_bytes")))
    return out


# ---------------------------------------------------------------------------------- softmax


def _softmax_contenders(env: Env) -> list[Contender]:
    out = []
    jsdl_fn = lambda A: jsdl.csr_softmax(A).values  # noqa: E731

    def dense_fn(scores, mask):
        s = jnp.where(mask, scores.astype(jnp.float32), -jnp.inf)
        return jax.nn.softmax(s, axis=-1).astype(scores.dtype)

    dense_limit = _limit("dense scores in and out", lambda p: 2.0 * 4 * p.heads * p.seq * p.seq,
                         "dense_bytes")
    for dtype, short, tol in (("float32", "f32", "fp32"), ("bfloat16", "bf16", "bf16")):
        out.append(Contender(
            f"jsdl_{short}", "softmax", "jsdl", dtype, "fp32" if short == "f32" else "bf16", tol,
            jsdl_fn, (lambda dt: lambda d: (d.csr(dt),))(dtype), f"jsdl.csr_softmax {dtype}"))
        out.append(Contender(
            f"dense_masked_{short}", "softmax", "dense", dtype,
            "fp32" if short == "f32" else "bf16", tol, dense_fn,
            (lambda dt: lambda d: (d.dense_scores(dt), d.mask()))(dtype),
            f"XLA dense masked softmax ({dtype} in/out, float32 math)", limit=dense_limit,
            view=lambda d, o: d.dense_view(o)))
    return out


def build_contenders(env: Env) -> dict[str, list[Contender]]:
    """All contenders by op (skipped ones included, with their reason)."""
    return {"spmm": _spmm_contenders(env), "sddmm": _sddmm_contenders(env),
            "softmax": _softmax_contenders(env)}
