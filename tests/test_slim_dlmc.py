"""scripts/slim_dlmc.py: the benchmark's picks (and extras) copied in DLMC's layout."""
import gzip
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import slim_dlmc  # noqa: E402
from jax_sparse_dl.bench import problems  # noqa: E402


def write_smtx(path: Path, m: int, k: int, nnz: int):
  """A valid .smtx.gz: header, row offsets, column indices (nnz spread over the rows)."""
  offsets = [min(nnz, (r * nnz) // m) for r in range(m)] + [nnz]
  cols = [c % k for c in range(nnz)]
  path.parent.mkdir(parents=True, exist_ok=True)
  with gzip.open(path, "wt") as f:
    f.write(f"{m}, {k}, {nnz}\n{' '.join(map(str, offsets))}\n{' '.join(map(str, cols))}\n")


@pytest.fixture
def tree(tmp_path):
  src = tmp_path / "dlmc"
  for level in ("0.5", "0.9"):
    for name, (m, k) in {"a": (8, 16), "b": (16, 8), "c": (8, 16)}.items():
      nnz = int(m * k * (1 - float(level)))
      write_smtx(src / "rn50" / "magnitude_pruning" / level / f"{name}.smtx.gz", m, k, nnz)
  (src / problems.BATCHSIZES_FILE).write_text("a,49\nb,49\nc,49\n")
  return src


def relative(paths, root):
  return sorted(str(Path(p).resolve().relative_to(root.resolve())) for p in paths)


def test_copies_the_benchmarks_picks_and_extras(tree):
  dst = tree / "slim"  # inside the source: an earlier copy is never picked from
  for _ in range(2):
    slim_dlmc.slim(tree, dst, 1, ["rn50/magnitude_pruning/0.9/c.smtx.gz"])
  picked = problems.select_per_level(problems.discover([tree / "rn50"]), 1)
  want = relative([m.path for m in picked], tree) + ["rn50/magnitude_pruning/0.9/c.smtx.gz"]
  got = relative([p for p in dst.rglob("*.smtx.gz")], dst)
  assert got == sorted(set(want)) and len(picked) == 2
  assert (dst / problems.BATCHSIZES_FILE).read_text() == (tree / problems.BATCHSIZES_FILE).read_text()
  # The copy picks what the source picks.
  again = problems.select_per_level(problems.discover([dst]), 1)
  assert relative([m.path for m in again], dst) == relative([m.path for m in picked], tree)


def test_extras_only_and_a_missing_extra(tree, tmp_path):
  files = slim_dlmc.slim(tree, tmp_path / "short", 0, ["rn50/magnitude_pruning/0.5/b.smtx.gz"])
  assert [str(f) for f in files] == ["rn50/magnitude_pruning/0.5/b.smtx.gz",
                                     problems.BATCHSIZES_FILE]
  with pytest.raises(SystemExit, match="is not a file"):
    slim_dlmc.slim(tree, tmp_path / "bad", 0, ["rn50/nope.smtx.gz"])
