"""Shared helpers for the jax-sparse-dl test suite.

Conventions
-----------
* References are dense float64 numpy computations on fresh random inputs.
* For 16-bit dtypes the reference is built from the *already rounded* inputs
  (upcast to float64), so only the kernel's own rounding is measured.
* Errors are relative L2 errors ||out - ref|| / ||ref|| with per-dtype tolerances.
* float64 tests run inside an ``enable_x64`` context (see :func:`x64`); the rest of
  the suite runs with JAX's default (32-bit) configuration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import zlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

import jax_sparse_dl as jsdl

# ----------------------------------------------------------------------------- dtypes

DTYPE_NAMES = ("float32", "bfloat16", "float16", "float64")
DTYPES = tuple(jnp.dtype(n) for n in DTYPE_NAMES)

TOLS = {
    jnp.dtype("float64"): 1e-12,
    jnp.dtype("float32"): 1e-5,
    jnp.dtype("float16"): 3e-3,
    jnp.dtype("bfloat16"): 2e-2,
}


def tol(dtype) -> float:
    return TOLS[jnp.dtype(dtype)]


@contextlib.contextmanager
def x64():
    """Context in which float64 arrays are available (restores the old setting)."""
    ctx = getattr(jax, "enable_x64", None)
    if ctx is not None:
        with ctx(True):
            yield
        return
    old = bool(jax.config.read("jax_enable_x64"))
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", old)


def maybe_x64(dtype):
    """x64 context for float64, a no-op otherwise."""
    if jnp.dtype(dtype) == jnp.float64:
        return x64()
    return contextlib.nullcontext()


@pytest.fixture(params=DTYPE_NAMES)
def dtype(request):
    """Every supported dtype; float64 tests run with x64 enabled."""
    dt = jnp.dtype(request.param)
    with maybe_x64(dt):
        yield dt


@pytest.fixture
def enable_x64():
    with x64():
        yield


def seed_of(*parts) -> int:
    """A stable seed from a test's parameters (independent of PYTHONHASHSEED)."""
    return zlib.crc32(repr(parts).encode())


@pytest.fixture
def rng(request):
    """numpy Generator seeded per test (by its node id)."""
    return np.random.default_rng(seed_of(request.node.nodeid))


# ----------------------------------------------------------------------------- numbers

def f64(a) -> np.ndarray:
    """Any array (jax, numpy, bfloat16...) as a float64 numpy array."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return a.astype(np.float64)
    if a.dtype.kind not in "fc" or a.dtype.itemsize < 4:
        a = a.astype(np.float32)
    return a.astype(np.float64)


def rounded(a64, dtype):
    """Round float64 numpy data to `dtype`; returns (jax array, float64 numpy of it)."""
    arr = jnp.asarray(np.asarray(a64, dtype=np.float64), dtype=dtype)
    assert arr.dtype == jnp.dtype(dtype), (arr.dtype, dtype)
    return arr, f64(arr)


def rand_dense(rng, shape, dtype):
    """Standard-normal data rounded to dtype: (jax array, float64 numpy)."""
    return rounded(rng.standard_normal(shape), dtype)


def rand_values(rng, shape, dtype):
    """Sparse-entry values bounded away from zero (so rounding never produces zeros)."""
    mag = rng.uniform(0.5, 1.5, size=shape)
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return rounded(mag * sign, dtype)


def rel_err(out, ref) -> float:
    out = f64(out)
    ref = np.asarray(ref, dtype=np.float64)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    nref = np.linalg.norm(ref.ravel())
    assert nref > 0, "reference is all zeros: the test would prove nothing"
    return float(np.linalg.norm((out - ref).ravel()) / nref)


def assert_close(out, ref, dtype, factor: float = 1.0, what: str = ""):
    """Shape, dtype, finiteness and relative L2 error within tol(dtype) * factor."""
    out_np = f64(out)
    ref = np.asarray(ref, dtype=np.float64)
    assert out_np.shape == ref.shape, f"{what} shape {out_np.shape} != reference {ref.shape}"
    if hasattr(out, "dtype") and dtype is not None:
        assert jnp.dtype(out.dtype) == jnp.dtype(dtype), f"{what} dtype {out.dtype} != {dtype}"
    assert np.all(np.isfinite(out_np)), f"{what} has non-finite entries"
    err = rel_err(out_np, ref)
    limit = tol(dtype if dtype is not None else np.float64) * factor
    assert err <= limit, f"{what} relative L2 error {err:.3e} > {limit:.1e}"


# ----------------------------------------------------------------------------- patterns

def random_pattern(rng, m, k, density=0.3, *, empty_rows=0, spread=False, nnz_zero=False):
    """A random sparsity pattern as a scipy ``csr_array`` (data = 1.0, sorted columns).

    empty_rows: number of rows forced to be empty.
    spread: rows of very different lengths (empty, 1, 2, about k/2, full k).
    nnz_zero: no entries at all.
    """
    if nnz_zero or m == 0 or k == 0:
        lengths = np.zeros(m, dtype=np.int64)
    elif spread:
        choices = np.array(sorted({0, 1, min(2, k), max(1, k // 2), k}))
        lengths = rng.choice(choices, size=m)
        # make sure the extremes are present when there is room for them
        if m >= 2:
            lengths[rng.integers(m)] = k
            lengths[rng.integers(m)] = 1
    else:
        lengths = rng.binomial(k, density, size=m)
        if lengths.sum() == 0:
            lengths[rng.integers(m)] = 1
    if empty_rows and not nnz_zero:
        idx = rng.choice(m, size=min(empty_rows, m), replace=False)
        lengths[idx] = 0
        if lengths.sum() == 0:  # keep at least one entry somewhere
            keep = [i for i in range(m) if i not in set(idx)]
            lengths[keep[0] if keep else idx[0]] = 1
    indptr = np.zeros(m + 1, dtype=np.int32)
    indptr[1:] = np.cumsum(lengths)
    cols = [np.sort(rng.choice(k, size=int(L), replace=False)) for L in lengths]
    indices = (np.concatenate(cols) if cols else np.zeros(0)).astype(np.int32)
    data = np.ones(indices.shape[0], dtype=np.float64)
    mat = sp.csr_array((data, indices, indptr), shape=(m, k))
    mat.has_sorted_indices = True
    return mat


@dataclasses.dataclass
class Problem:
    """A CSR operand together with the float64 data it was built from."""

    A: "jsdl.CSR"
    v64: np.ndarray  # (*batch, nnz) rounded values as float64
    W64: np.ndarray  # (*batch, m, k) dense float64
    indptr: np.ndarray
    indices: np.ndarray
    rows: np.ndarray  # row of each entry
    m: int
    k: int

    @property
    def nnz(self):
        return int(self.indices.shape[0])

    @property
    def mask(self):
        mk = np.zeros((self.m, self.k), dtype=bool)
        mk[self.rows, self.indices] = True
        return mk


def entry_rows(indptr) -> np.ndarray:
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)).astype(np.int64)


def dense_from_entries(values64, indptr, indices, m, k) -> np.ndarray:
    """(*batch, nnz) values at (rows, cols) -> (*batch, m, k); duplicates summed."""
    values64 = np.asarray(values64, dtype=np.float64)
    out = np.zeros(values64.shape[:-1] + (m, k), dtype=np.float64)
    rows = entry_rows(indptr)
    np.add.at(out, (..., rows, np.asarray(indices, dtype=np.int64)), values64)
    return out


def make_problem(rng, m, k, dtype, batch=(), density=0.3, **pattern_kw) -> Problem:
    pat = random_pattern(rng, m, k, density, **pattern_kw)
    indptr = np.asarray(pat.indptr, dtype=np.int32)
    indices = np.asarray(pat.indices, dtype=np.int32)
    nnz = indices.shape[0]
    vals, v64 = rand_values(rng, tuple(batch) + (nnz,), dtype)
    A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
    W64 = dense_from_entries(v64, indptr, indices, m, k)
    return Problem(A, v64, W64, indptr, indices, entry_rows(indptr), m, k)


# ----------------------------------------------------------------------------- jaxprs

def _sub_jaxprs(value):
    if hasattr(value, "eqns"):  # Jaxpr
        yield value
    elif hasattr(value, "jaxpr") and hasattr(value.jaxpr, "eqns"):  # ClosedJaxpr
        yield value.jaxpr
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _sub_jaxprs(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _sub_jaxprs(v)


def primitive_names(jaxpr) -> list[str]:
    """All primitive names in a (closed) jaxpr, recursing into sub-jaxprs."""
    if hasattr(jaxpr, "jaxpr") and hasattr(jaxpr.jaxpr, "eqns"):
        jaxpr = jaxpr.jaxpr
    names = []
    for eqn in jaxpr.eqns:
        names.append(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in _sub_jaxprs(value):
                names.extend(primitive_names(sub))
    return names


def on_gpu() -> bool:
    return jax.default_backend() == "gpu"


def scattered_pattern(rng, m, k, count=300):
    """CSR offsets and columns of `count` random entries plus the corners (m-1, k-1), (m-1, 0)
    and (0, k-1): for shapes whose dense form must never be built."""
    rows = np.concatenate([rng.integers(0, m, count), [m - 1, m - 1, 0]])
    cols = np.concatenate([rng.integers(0, k, count), [k - 1, 0, k - 1]])
    mat = sp.coo_array((np.ones(rows.shape[0]), (rows, cols)), shape=(m, k)).tocsr()
    mat.sum_duplicates()
    return mat.indptr.astype(np.int32), mat.indices.astype(np.int32)


@pytest.fixture(scope="session", autouse=True)
def highest_matmul_precision():
    """Every test in true float32 unless it asks otherwise: the references are float64 at
    float32 tolerances, while XLA's dots and convolutions and jsdl's SDDMM take TF32 at the
    default precision on GPU. Tests of the TF32 paths pass precision explicitly or open
    jax.default_matmul_precision(None) themselves."""
    with jax.default_matmul_precision("highest"):
        yield


# ----------------------------------------------------------------------------- host heuristics

CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def host_driver(folder, source: str, op: str):
    """Compiles a C++ driver that includes cuda/<op>/'s host headers (the heuristics) and returns
    run(line) -> the integers it prints for one input line."""
    (folder / "driver.cc").write_text(source)
    header_dir = Path(__file__).resolve().parents[1] / "cuda" / op
    subprocess.run([CXX, "-std=c++17", "-O1", f"-I{header_dir}", str(folder / "driver.cc"),
                    "-o", str(folder / "driver")], check=True, capture_output=True)

    def run(line: str) -> list[int]:
        out = subprocess.run([str(folder / "driver")], input=line, text=True,
                             capture_output=True, check=True).stdout
        return [int(v) for v in out.split()]

    return run
