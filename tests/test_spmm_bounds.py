"""scripts/spmm_bounds.py: lower bounds of a benchmark run's SpMM calls from its results.csv."""
import csv
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import spmm_bounds  # noqa: E402
from jax_sparse_dl.bench.results import CSV_COLUMNS  # noqa: E402
from jax_sparse_dl.dlmc import SmtxPattern, write_smtx  # noqa: E402


def record(**fields):
  return {name: fields.get(name, "") for name in CSV_COLUMNS}


def write_records(path, rows):
  with path.open("w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


@pytest.fixture
def run(tmp_path):
  """A DLMC folder of one 6 x 10 pattern (columns 1, 3 and 7 used) and a run's records."""
  folder = tmp_path / "dlmc" / "rn50" / "magnitude_pruning" / "0.9"
  folder.mkdir(parents=True)
  offsets = np.array([0, 2, 2, 3, 5, 5, 6], np.int32)  # empty rows 1 and 4
  columns = np.array([1, 7, 3, 1, 3, 7], np.int32)
  write_smtx(folder / "layer.smtx", SmtxPattern("layer", (6, 10), offsets, columns))
  problem = "spmm|rn50|magnitude_pruning|0.9|layer|4000"
  rows = [record(op="floor", status="ok", median_us="2.0"),
          record(op="spmm", status="ok", contender="jsdl_f32_highest", median_us="4.0",
                 problem=problem),
          record(op="spmm", status="ok", contender="cusparse_best", median_us="6.0",
                 problem=problem),
          record(op="spmm", status="ok", contender="dense_f32_highest", median_us="1.0",
                 problem=problem),
          # timed by one contender only: no ratio
          record(op="spmm", status="ok", contender="jsdl_f32_highest", median_us="9.0",
                 problem="spmm|rn50|magnitude_pruning|0.9|layer|8")]
  path = tmp_path / "results.csv"
  write_records(path, rows)
  return path, tmp_path / "dlmc"


def test_bounds_count_the_used_rows_of_b_c_and_the_entries(run):
  results, dlmc = run
  (c,) = spmm_bounds.calls(results, dlmc, bandwidth=1e9, smem_bandwidth=2e9)
  memory_bytes = (3 * 4000 + 6 * 4000) * 4 + 6 * 8  # 3 rows of B used, C, 6 entries
  assert c["memory_us"] == pytest.approx(memory_bytes / 1e9 * 1e6)
  assert c["smem_us"] == pytest.approx(6 * 4000 * 4 / 2e9 * 1e6)
  bound = 2.0 + max(c["memory_us"], c["smem_us"])
  assert c["bound_us"] == pytest.approx(bound)
  assert c["now"] == pytest.approx(1.5)
  assert c["at_bound"] == pytest.approx(6.0 / bound)
  assert c["at_memory"] == pytest.approx(6.0 / (2.0 + c["memory_us"]))


def test_main_prints_the_geometric_means(run, capsys):
  results, dlmc = run
  assert spmm_bounds.main([str(results), str(dlmc)]) == 0
  out = capsys.readouterr().out
  assert "geometric mean over 1 problems: now 1.50x" in out


def test_a_run_without_a_floor_record_is_refused(run, tmp_path):
  results, dlmc = run
  rows = [r for r in csv.DictReader(results.open()) if r["op"] != "floor"]
  bare = tmp_path / "bare.csv"
  write_records(bare, rows)
  with pytest.raises(ValueError, match="no launch floor"):
    spmm_bounds.calls(bare, dlmc, 1e9, 1e9)


def test_geomean():
  assert spmm_bounds.geomean([2.0, 8.0]) == pytest.approx(4.0)
  assert math.isclose(spmm_bounds.geomean([1.5]), 1.5)
