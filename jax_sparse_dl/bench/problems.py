"""What to benchmark: matrices (suite and sparsity level from the DLMC layout), the sizes of each
operation on them, sampling per level, and the synthetic attention pattern of the softmax.

Pure Python and numpy (no JAX): the plan can be made and tested anywhere.

DLMC layout: ``<suite>/<pruning method>/<level>/<name>.smtx[.gz]``, e.g.
``transformer/magnitude_pruning/0.9/body_decoder_layer_0_ffn_conv1_fully_connected.smtx.gz``. The
bundled sample names its files ``<suite>_<level>_<name>.smtx.gz``. Anything else is suite
"other", level = its sparsity rounded to 2 digits.

Sizes (the conventions of "Sparse GPU Kernels for Deep Learning", see /work/shared/dlmc/README):

* SpMM ``A (m, k) @ B (k, N)``: transformer N = 256 and 2048; ResNet-50 N = the layer's output
  spatial size for one image (``rn50_batchsizes.txt``, "name,N" lines) times 1 and times 256;
  other matrices N = 256.
* SDDMM ``(lhs (m, d) @ rhs (k, d)^T)`` at the pattern: d = 64, 256 and 2048 for every matrix.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from jax_sparse_dl import dlmc

__all__ = [
    "Matrix", "SpmmProblem", "SddmmProblem", "SoftmaxProblem", "describe_matrix", "discover",
    "select_per_level", "find_batchsizes", "load_batchsizes", "embedded_batchsizes",
    "spmm_sizes", "plan_problems", "attention_pattern", "seed_of",
]

SUITES = ("transformer", "rn50")
TRANSFORMER_N = (256, 2048)
RN50_BATCHES = (1, 256)
OTHER_N = (256,)
SDDMM_D = (64, 256, 2048)
BATCHSIZES_FILE = "rn50_batchsizes.txt"

_LEVEL = re.compile(r"^(?:0?\.\d+|0|1(?:\.0*)?)$")
_BUNDLED = re.compile(r"^(transformer|rn50)_(0?\.\d+)_(.+)$")


def seed_of(*parts) -> int:
    """A stable 31-bit seed from any printable parts (independent of PYTHONHASHSEED)."""
    return zlib.crc32(repr(parts).encode()) & 0x7FFFFFFF


@dataclasses.dataclass(frozen=True)
class Matrix:
    """A sparsity pattern file and what its path tells about it."""

    path: str
    name: str  # file name without .smtx[.gz]
    base: str  # name inside the collection (batch-size lookup): name without a bundled prefix
    suite: str  # "transformer", "rn50" or "other"
    method: str  # pruning method folder ("magnitude_pruning", ...) or ""
    level: float  # nominal sparsity level
    level_source: str  # "path" or "nnz"
    m: int
    k: int
    nnz: int

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nnz / (self.m * self.k) if self.m * self.k else 0.0

    @property
    def group(self) -> tuple:
        return (self.suite, self.method, self.level)

    @property
    def label(self) -> str:
        return f"{self.suite}/{self.level:g}/{self.name}"


def _parse_level(text: str):
    if _LEVEL.match(text):
        value = float(text)
        if 0.0 <= value <= 1.0:
            return value
    return None


def describe_matrix(path, header=None) -> Matrix:
    """Suite, method and level of a ``.smtx`` file from its path (header read for the shape)."""
    path = Path(path)
    m, k, nnz = header if header is not None else dlmc.read_smtx_header(path)
    name = path.name
    for suffix in (".smtx.gz", ".smtx", ".gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    base, suite, method, level, source = name, "other", "", None, "nnz"
    parents = list(path.parent.parts)
    suite_at = max((i for i, p in enumerate(parents) if p in SUITES), default=None)
    if suite_at is not None:
        suite = parents[suite_at]
        between = parents[suite_at + 1:]
        if between and _parse_level(between[-1]) is not None:
            level, source = _parse_level(between[-1]), "path"
            between = between[:-1]
        if between:
            method = between[0]
    else:
        match = _BUNDLED.match(name)
        if match:
            suite, level, base = match.group(1), float(match.group(2)), match.group(3)
            method, source = "magnitude_pruning", "path"
    if level is None:
        level = round(1.0 - nnz / (m * k), 2) if m * k else 0.0
        source = "nnz"
    return Matrix(str(path), name, base, suite, method, float(level), source, int(m), int(k),
                  int(nnz))


def discover(paths) -> list[Matrix]:
    """The matrices under files / folders (recursive), or the bundled sample when paths is empty."""
    files = dlmc.find_matrices(paths) if paths else dlmc.bundled_matrices()
    return [describe_matrix(p) for p in files]


def _suite_rank(suite: str) -> int:
    return SUITES.index(suite) if suite in SUITES else len(SUITES)


def spread_order(items: list) -> list:
    """``items`` (sorted) reordered so that every prefix spans their range evenly: the first and
    the last, then again and again the one farthest (in rank) from its nearest taken one; ties
    go to the one farthest from all taken ones, then to the lower rank. For the DLMC levels
    0.5 ... 0.98: 0.5, 0.98, 0.8, 0.6, 0.95, 0.7, 0.9."""
    if len(items) <= 2:
        return list(items)
    taken = [0, len(items) - 1]
    while len(taken) < len(items):
        def key(i):
            gaps = [abs(i - t) for t in taken]
            return min(gaps), sum(gaps), -i
        taken.append(max((i for i in range(len(items)) if i not in taken), key=key))
    return [items[i] for i in taken]


def _pick_in_group(group: list, limit: int | None, rotation: int) -> list:
    """Up to ``limit`` of a group's matrices (sorted by path), spread over its shapes (m, k):
    the shapes take turns, starting at the ``rotation``-th, and each shape's picks are spread
    evenly over its own list (indices floor(i * L / count)). Ordered round-robin over the
    shapes. With one matrix a level, consecutive levels thus take different shapes (the DLMC
    transformer levels hold 512 x 512, 2048 x 512 and 512 x 2048 matrices), not always the
    alphabetically first."""
    if limit is None or limit >= len(group):
        return list(group)
    by_shape = defaultdict(list)
    for mat in group:
        by_shape[(mat.m, mat.k)].append(mat)
    shapes = sorted(by_shape)
    r = rotation % len(shapes)
    shapes = shapes[r:] + shapes[:r]
    counts = dict.fromkeys(shapes, 0)
    left = max(0, limit)  # < len(group): every round finds a shape with room
    while left:
        for sh in shapes:
            if left and counts[sh] < len(by_shape[sh]):
                counts[sh] += 1
                left -= 1
    picks = {sh: [by_shape[sh][(i * len(by_shape[sh])) // counts[sh]] for i in range(counts[sh])]
             for sh in shapes if counts[sh]}
    return [picks[sh][i] for i in range(max(counts.values(), default=0))
            for sh in shapes if i < counts[sh]]


def select_per_level(matrices, limit: int | None):
    """At most ``limit`` matrices per (suite, method, level), spread over each group's shapes and
    evenly over each shape's files (`_pick_in_group`; the level's rank rotates which shape comes
    first), deterministic. The result is ordered round-robin over the groups (one matrix of every
    group, then a second, ...; the groups alternate between suites, and each suite's levels come
    in `spread_order`), so a run stopped early by its time budget still covers every suite and the
    whole range of levels."""
    groups = defaultdict(list)
    for mat in matrices:
        groups[mat.group].append(mat)
    # Groups in the order: a level of every suite, another level of every suite, ...
    by_suite = defaultdict(list)
    for key in sorted(groups, key=lambda g: (g[1], g[2])):
        by_suite[key[0]].append(key)
    rank = {key: i for keys in by_suite.values() for i, key in enumerate(keys)}
    by_suite = {suite: spread_order(keys) for suite, keys in by_suite.items()}
    suites = sorted(by_suite, key=lambda s: (_suite_rank(s), s))
    keys = [by_suite[s][i] for i in range(max(map(len, by_suite.values()), default=0))
            for s in suites if i < len(by_suite[s])]
    ordered = [_pick_in_group(sorted(groups[key], key=lambda mt: mt.path), limit, rank[key])
               for key in keys]
    out = []
    for i in range(max((len(g) for g in ordered), default=0)):
        out.extend(g[i] for g in ordered if i < len(g))
    return out


# ---------------------------------------------------------------------------- rn50 batch sizes


def embedded_batchsizes() -> Path:
    """The copy of DLMC's rn50_batchsizes.txt shipped with the package."""
    return Path(__file__).resolve().parent / BATCHSIZES_FILE


def load_batchsizes(path) -> dict[str, int]:
    """``{layer name: N}`` from "name,N" lines (blank lines and # comments ignored)."""
    out = {}
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{path}:{i}: expected 'name,N', got {line!r}")
        out[parts[0]] = int(parts[1])
    return out


def find_batchsizes(paths) -> Path | None:
    """rn50_batchsizes.txt in a given folder, next to a given file, or in any folder above."""
    for entry in paths or ():
        p = Path(entry).resolve()
        start = p if p.is_dir() else p.parent
        for folder in (start, *start.parents):
            candidate = folder / BATCHSIZES_FILE
            if candidate.is_file():
                return candidate
    return None


# ---------------------------------------------------------------------------------- problems


class _MatrixProblem:
    """A DLMC pattern and the free dimension `size` (SpMM's N, SDDMM's d): both do 2 flops per
    entry and unit of size."""

    @property
    def flops(self) -> float:
        return 2.0 * self.matrix.nnz * self.size

    @property
    def dense_flops(self) -> float:
        return 2.0 * self.matrix.m * self.matrix.k * self.size


@dataclasses.dataclass(frozen=True)
class SpmmProblem(_MatrixProblem):
    matrix: Matrix
    n: int
    n_class: str  # "N=256", "batch 1" / "batch 256" (ResNet-50: N = per-image N x batch)
    op: str = "spmm"

    @property
    def size(self):
        return self.n

    @property
    def label(self) -> str:
        return f"spmm {self.matrix.label} N={self.n}"


@dataclasses.dataclass(frozen=True)
class SddmmProblem(_MatrixProblem):
    matrix: Matrix
    d: int
    op: str = "sddmm"

    @property
    def size(self):
        return self.d

    @property
    def n_class(self) -> str:
        return f"d={self.d}"

    @property
    def label(self) -> str:
        return f"sddmm {self.matrix.label} d={self.d}"


@dataclasses.dataclass(frozen=True)
class SoftmaxProblem:
    seq: int
    heads: int
    sparsity: float
    op: str = "softmax"

    @property
    def label(self) -> str:
        return f"softmax {self.heads} heads x {self.seq}x{self.seq}, sparsity {self.sparsity:g}"


def spmm_sizes(matrix: Matrix, *, n_values=None, rn50_batches=RN50_BATCHES, batchsizes=None):
    """``[(N, n_class), ...]`` for SpMM on ``matrix`` (see the module docstring); ``n_values``
    overrides the sizes of every suite. ResNet-50 layers missing from ``batchsizes`` get
    ``OTHER_N`` with n_class "N=<n> (no batch size)"."""
    if n_values:
        return [(int(n), f"N={int(n)}") for n in n_values]
    if matrix.suite == "transformer":
        return [(n, f"N={n}") for n in TRANSFORMER_N]
    if matrix.suite == "rn50":
        base = (batchsizes or {}).get(matrix.base)
        if base is None:
            return [(n, f"N={n} (no batch size)") for n in OTHER_N]
        out, seen = [], set()
        for mult in rn50_batches:
            n = base * int(mult)
            if n not in seen:
                seen.add(n)
                out.append((n, f"batch {int(mult)}"))
        return out
    return [(n, f"N={n}") for n in OTHER_N]


def plan_problems(matrices, ops, *, n_values=None, rn50_batches=RN50_BATCHES, batchsizes=None,
                  d_values=SDDMM_D):
    """``[(matrix, [problems])]`` in the matrices' order: per matrix its SpMM, then SDDMM ones."""
    plan = []
    for mat in matrices:
        problems = []
        if "spmm" in ops:
            problems += [SpmmProblem(mat, n, c) for n, c in spmm_sizes(
                mat, n_values=n_values, rn50_batches=rn50_batches, batchsizes=batchsizes)]
        if "sddmm" in ops:
            problems += [SddmmProblem(mat, int(d)) for d in d_values]
        if problems:
            plan.append((mat, problems))
    return plan


# ------------------------------------------------------------------- softmax attention pattern


def attention_pattern(seq: int, sparsity: float, seed: int, jitter: float = 0.05):
    """A random (seq, seq) pattern with rows of similar length: each row keeps
    ``round((1 - sparsity) * seq)`` columns (varied by +-``jitter`` of that, at least 1), chosen
    uniformly without replacement. Returns int32 ``(row_offsets, column_indices)``."""
    rng = np.random.default_rng(seed)
    mean = max(1, int(round((1.0 - sparsity) * seq)))
    spread = int(round(jitter * mean))
    lengths = np.clip(mean + rng.integers(-spread, spread + 1, size=seq), 1, seq)
    cols = [np.sort(rng.choice(seq, int(n), replace=False)) for n in lengths]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return offsets, np.concatenate(cols).astype(np.int32)
