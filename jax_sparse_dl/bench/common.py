"""Helpers shared by the benchmark and the demo: error measures, references, text tables.

numpy only (the report, ``python -m jax_sparse_dl.bench.report``, does no device work).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["rel_err", "softmax_reference", "short_exc", "format_table", "TOLERANCES", "tolerance",
           "ALL"]

# The summary's key for a geometric mean over every suite or every level.
ALL = "all"

# Relative L2 error allowed per precision class (the reference is float64 on the same rounded
# inputs, so what remains is the arithmetic: float32, TF32 products, bfloat16 output rounding).
TOLERANCES = {"fp32": 1e-5, "tf32": 5e-3, "bf16": 3e-2, "fp16": 4e-3, "fp64": 1e-10}


def tolerance(precision_class: str) -> float:
    return TOLERANCES[precision_class]


def rel_err(out, ref) -> float:
    """Relative L2 error ``||out - ref|| / ||ref||`` in float64 (``||out - ref||`` if ref is 0);
    inf when not finite. Raises ValueError when the shapes differ."""
    out = np.asarray(out)
    if out.dtype.kind not in "fc" or out.dtype.itemsize < 4:
        out = out.astype(np.float32)  # bfloat16 (ml_dtypes) and ints: exact in float32
    out = out.astype(np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if out.shape != ref.shape:
        raise ValueError(f"shape {out.shape} differs from the reference's {ref.shape}")
    diff = np.linalg.norm((out - ref).ravel())
    norm = np.linalg.norm(ref.ravel())
    err = diff / norm if norm > 0 else diff
    return float(err) if np.isfinite(err) else math.inf


def softmax_reference(values, row_ids, m):
    """Softmax over each row's stored entries in float64; values (*batch, nnz), row_ids (nnz,)
    (entries in CSR order are reduced per row segment, any other order entry by entry)."""
    v = np.asarray(values, np.float64)
    row_ids = np.asarray(row_ids)
    if v.size == 0:
        return v
    if np.all(np.diff(row_ids) >= 0):  # rows are contiguous segments
        counts = np.bincount(row_ids, minlength=m)
        counts = counts[counts > 0]
        starts = np.cumsum(counts) - counts
        e = np.exp(v - np.repeat(np.maximum.reduceat(v, starts, axis=-1), counts, axis=-1))
        return e / np.repeat(np.add.reduceat(e, starts, axis=-1), counts, axis=-1)
    out = np.empty_like(v)
    for idx in np.ndindex(*v.shape[:-1]):
        row_max = np.full(m, -np.inf)
        np.maximum.at(row_max, row_ids, v[idx])
        e = np.exp(v[idx] - row_max[row_ids])
        out[idx] = e / np.bincount(row_ids, weights=e, minlength=m)[row_ids]
    return out


def short_exc(e: BaseException) -> str:
    """``Type: first line of the message``, at most 200 characters."""
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0] if msg else ''}"[:200]


def format_table(header, rows) -> list[str]:
    """Aligned text table (first column left, others right), as lines."""
    rows = [[str(c) for c in r] for r in rows]
    header = [str(h) for h in header]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def fmt(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths)))

    line = fmt(header)
    return [line, "-" * len(line)] + [fmt(r) for r in rows]
