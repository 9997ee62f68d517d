"""Reader for the DLMC ``.smtx`` sparsity-pattern format (plain or gzipped).

The Deep Learning Matrix Collection (Gale et al., "Sparse GPU Kernels for Deep Learning", 2020)
stores each pruned weight matrix as its CSR pattern only, in three text lines::

    nrows, ncols, nnz
    <nrows + 1 row offsets, space-separated>
    <nnz column indices, space-separated>

A matrix with ``nnz == 0`` may have an empty (or missing) third line. Files ending in ``.gz`` (or
starting with the gzip magic bytes) are decompressed transparently.

Functions:

* :func:`read_smtx` -> :class:`SmtxPattern` (name, shape, int32 row offsets and column indices),
  with a ``ValueError`` naming the problem for malformed files.
* :func:`read_smtx_header` -> ``(nrows, ncols, nnz)`` from the first line only (cheap).
* :func:`load_csr` -> a :class:`jax_sparse_dl.CSR` with that pattern and random normal values.
* :func:`find_matrices` -> the ``.smtx`` / ``.smtx.gz`` files under files, folders or lists of both.
* :func:`sparsity_of` -> fraction of zeros of a pattern.
* :func:`bundled_matrices` -> the few DLMC matrices shipped in ``jax_sparse_dl/data/``.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Union

import numpy as np

__all__ = [
    "SmtxPattern",
    "read_smtx",
    "read_smtx_header",
    "load_csr",
    "find_matrices",
    "sparsity_of",
    "bundled_matrices",
    "SMTX_SUFFIXES",
]

SMTX_SUFFIXES = (".smtx", ".smtx.gz")
_GZIP_MAGIC = b"\x1f\x8b"
_INT32_MAX = np.iinfo(np.int32).max

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True, eq=False)
class SmtxPattern:
    """A CSR sparsity pattern read from a ``.smtx`` file.

    Attributes:
      name: the file name without ``.smtx`` / ``.smtx.gz``.
      shape: ``(m, k)``, python ints.
      row_offsets: ``(m + 1,)`` int32, non-decreasing, from 0 to nnz.
      column_indices: ``(nnz,)`` int32, strictly increasing within each row.
    """

    name: str
    shape: tuple[int, int]
    row_offsets: np.ndarray
    column_indices: np.ndarray

    @property
    def nnz(self) -> int:
        return int(self.column_indices.shape[0])

    @property
    def sparsity(self) -> float:
        return sparsity_of(self)

    def row_ids(self) -> np.ndarray:
        """The row of each stored entry, ``(nnz,)`` int32."""
        m = self.shape[0]
        return np.repeat(np.arange(m, dtype=np.int32), np.diff(self.row_offsets))

    def to_scipy(self, values=None):
        """``scipy.sparse.csr_array`` with this pattern (values default to ones, float64)."""
        import scipy.sparse

        if values is None:
            values = np.ones(self.nnz, np.float64)
        return scipy.sparse.csr_array(
            (np.asarray(values), self.column_indices, self.row_offsets), shape=self.shape
        )

    def __repr__(self) -> str:
        return (
            f"SmtxPattern(name={self.name!r}, shape={self.shape}, nnz={self.nnz}, "
            f"sparsity={self.sparsity:.4f})"
        )


def _strip_suffix(name: str) -> str:
    for suffix in (".smtx.gz", ".smtx", ".gz"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _read_text(path: Path) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: corrupt gzip data ({e})") from e
    elif path.name.endswith(".gz"):
        raise ValueError(f"{path}: name ends in .gz but the file is not gzip data")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a text file ({e})") from e


def _parse_ints(line: str, what: str, where: str) -> np.ndarray:
    tokens = line.split()
    if not tokens:
        return np.zeros((0,), np.int64)
    try:
        return np.array([int(t) for t in tokens], dtype=np.int64)
    except (ValueError, OverflowError):
        bad = next((t for t in tokens if not re.fullmatch(r"[+-]?\d+", t)), None)
        if bad is None:
            raise ValueError(f"{where}: {what} contains an integer out of range") from None
        raise ValueError(f"{where}: {what} contains a non-integer token {bad!r}") from None


def parse_smtx(text: str, name: str = "<string>") -> SmtxPattern:
    """Parses the text of a ``.smtx`` file (see the module docstring); ``name`` is used in errors."""
    lines = text.splitlines()
    # Tolerate trailing blank lines (a final newline, editors), nothing else.
    while len(lines) > 3 and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].strip():
        raise ValueError(f"{name}: empty file (expected a header line 'nrows, ncols, nnz')")
    if len(lines) > 3:
        raise ValueError(f"{name}: expected 3 lines (header, row offsets, column indices), got {len(lines)}")

    header = lines[0].strip()
    parts = [p for p in re.split(r"[,\s]+", header) if p]
    if len(parts) != 3 or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError(
            f"{name}: bad header {header!r}: expected 'nrows, ncols, nnz' (three non-negative integers)"
        )
    m, k, nnz = (int(p) for p in parts)
    if max(m, k, nnz) > _INT32_MAX:
        raise ValueError(f"{name}: header {header!r} has a value that does not fit int32")
    if nnz > m * k:
        raise ValueError(f"{name}: nnz = {nnz} exceeds nrows * ncols = {m * k}")

    if len(lines) < 2:
        raise ValueError(f"{name}: missing the row-offsets line (expected {m + 1} integers)")
    offsets = _parse_ints(lines[1], "the row-offsets line", name)
    if offsets.shape[0] != m + 1:
        raise ValueError(
            f"{name}: row-offsets line has {offsets.shape[0]} integers, expected nrows + 1 = {m + 1}"
        )
    if offsets[0] != 0:
        raise ValueError(f"{name}: first row offset is {offsets[0]}, expected 0")
    if offsets[-1] != nnz:
        raise ValueError(f"{name}: last row offset is {offsets[-1]} but the header says nnz = {nnz}")
    steps = np.diff(offsets)
    if np.any(steps < 0):
        row = int(np.argmax(steps < 0))
        raise ValueError(
            f"{name}: row offsets decrease at row {row} ({offsets[row]} -> {offsets[row + 1]})"
        )
    if np.any(steps > k):
        row = int(np.argmax(steps > k))
        raise ValueError(f"{name}: row {row} has {steps[row]} entries but there are only {k} columns")

    if len(lines) < 3:
        if nnz != 0:
            raise ValueError(f"{name}: missing the column-indices line (expected {nnz} integers)")
        cols = np.zeros((0,), np.int64)
    else:
        cols = _parse_ints(lines[2], "the column-indices line", name)
    if cols.shape[0] != nnz:
        raise ValueError(
            f"{name}: column-indices line has {cols.shape[0]} integers but the header says nnz = {nnz}"
        )
    if nnz:
        if cols.min() < 0 or cols.max() >= k:
            bad = int(cols[(cols < 0) | (cols >= k)][0])
            raise ValueError(f"{name}: column index {bad} out of range [0, {k})")
        rows = np.repeat(np.arange(m, dtype=np.int64), steps)
        # Sort each row's columns (the pattern is a set; DLMC files are already sorted).
        key = rows * k + cols
        if np.any(np.diff(key) <= 0):
            order = np.argsort(key, kind="stable")
            key = key[order]
            dup = np.flatnonzero(np.diff(key) == 0)
            if dup.size:
                r, c = divmod(int(key[dup[0]]), k)
                raise ValueError(f"{name}: duplicate entry (row {r}, column {c})")
            cols = cols[order]

    return SmtxPattern(
        name=name,
        shape=(m, k),
        row_offsets=offsets.astype(np.int32),
        column_indices=cols.astype(np.int32),
    )


def read_smtx(path: PathLike) -> SmtxPattern:
    """Reads a DLMC ``.smtx`` or ``.smtx.gz`` file.

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: the file is malformed (the message names the file and the problem).
    """
    path = Path(path)
    text = _read_text(path)
    pattern = parse_smtx(text, name=str(path))
    return dataclasses.replace(pattern, name=_strip_suffix(path.name))


def read_smtx_header(path: PathLike) -> tuple[int, int, int]:
    """``(nrows, ncols, nnz)`` from the header line of a ``.smtx`` / ``.smtx.gz`` file, without
    reading the rest (the file is not validated beyond its header)."""
    path = Path(path)
    with open(path, "rb") as f:
        magic = f.read(2)
    opener = gzip.open if magic == _GZIP_MAGIC else open
    try:
        with opener(path, "rb") as f:
            line = f.readline(4096).decode("ascii", errors="replace").strip()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot read the header ({e})") from e
    parts = [p for p in re.split(r"[,\s]+", line) if p]
    if len(parts) != 3 or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError(
            f"{path}: bad header {line!r}: expected 'nrows, ncols, nnz' (three non-negative integers)"
        )
    m, k, nnz = (int(p) for p in parts)
    return m, k, nnz


def write_smtx(path: PathLike, pattern: SmtxPattern) -> Path:
    """Writes ``pattern`` as a ``.smtx`` file (gzipped when the name ends in ``.gz``)."""
    path = Path(path)
    m, k = pattern.shape
    lines = [
        f"{m}, {k}, {pattern.nnz}",
        " ".join(map(str, np.asarray(pattern.row_offsets).tolist())),
        " ".join(map(str, np.asarray(pattern.column_indices).tolist())),
    ]
    data = ("\n".join(lines) + "\n").encode("ascii")
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def sparsity_of(pattern) -> float:
    """Fraction of zero entries, ``1 - nnz / (m * k)`` (0.0 for an empty shape).

    Accepts a :class:`SmtxPattern` or anything with ``shape`` (the trailing two dims are the
    matrix) and ``nnz`` (e.g. a :class:`jax_sparse_dl.CSR`).
    """
    m, k = (int(d) for d in tuple(pattern.shape)[-2:])
    nnz = int(pattern.nnz)
    size = m * k
    return 0.0 if size == 0 else 1.0 - nnz / size


def load_csr(path_or_pattern, key, dtype=None):
    """A :class:`jax_sparse_dl.CSR` with the pattern of a ``.smtx`` file and N(0, 1) values.

    Args:
      path_or_pattern: a path to a ``.smtx`` / ``.smtx.gz`` file, or a :class:`SmtxPattern`.
      key: a ``jax.random`` key for the values.
      dtype: the values' dtype (default float32).
    """
    import jax
    import jax.numpy as jnp

    import jax_sparse_dl as jsdl

    if dtype is None:
        dtype = jnp.float32
    pattern = (
        path_or_pattern if isinstance(path_or_pattern, SmtxPattern) else read_smtx(path_or_pattern)
    )
    values = jax.random.normal(key, (pattern.nnz,), dtype=dtype)
    return jsdl.CSR.from_parts(values, pattern.row_offsets, pattern.column_indices, pattern.shape)


def _is_smtx(path: Path) -> bool:
    return any(path.name.endswith(s) for s in SMTX_SUFFIXES)


def find_matrices(paths) -> list[Path]:
    """Expands files, folders (searched recursively) or a list of them into ``.smtx`` files.

    A folder contributes its ``*.smtx`` and ``*.smtx.gz`` files, sorted by path; a file given
    explicitly is kept whatever its name. Order of the arguments is kept, duplicates are dropped.

    Raises:
      FileNotFoundError: a path does not exist.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif not isinstance(paths, Iterable):
        raise TypeError(f"find_matrices: expected a path or a list of paths, got {type(paths).__name__}")
    found: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path):
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            found.append(p)

    for entry in paths:
        p = Path(entry)
        if p.is_dir():
            for f in sorted(q for q in p.rglob("*") if q.is_file() and _is_smtx(q)):
                add(f)
        elif p.is_file():
            add(p)
        else:
            raise FileNotFoundError(f"find_matrices: no such file or folder: {p}")
    return found


def data_dir() -> Path:
    """The folder of the matrices shipped with the package."""
    return Path(__file__).resolve().parent / "data"


def bundled_matrices() -> list[Path]:
    """Paths of the DLMC matrices shipped in ``jax_sparse_dl/data/`` (see its README).

    Sorted by name, numbers compared by value: model, then sparsity level.
    """
    d = data_dir()
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if p.is_file() and _is_smtx(p)), key=_natural_key)


def _natural_key(path: Path):
    """Sort key comparing numbers in names by value (``..._0.9_...`` before ``..._0.98_...``)."""
    parts = re.split(r"(\d+(?:\.\d+)?)", path.name)
    return [(0, float(t), t) if i % 2 else (1, 0.0, t) for i, t in enumerate(parts)]
