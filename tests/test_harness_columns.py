"""scripts/harness_columns.h: the output columns the SpMM harness checks against float64."""
import subprocess
from pathlib import Path

import pytest
from conftest import CXX

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

DRIVER = r"""
#include <cstdio>
#include <cstdlib>
#include "harness_columns.h"
int main(int, char** argv) {
  std::mt19937_64 rng(12345);
  for (long long n : harness::CheckedColumns(std::atoll(argv[1]), rng)) std::printf("%lld\n", n);
}
"""


@pytest.fixture(scope="module")
def columns(tmp_path_factory):
  folder = tmp_path_factory.mktemp("harness_columns")
  (folder / "driver.cc").write_text(DRIVER)
  scripts = Path(__file__).resolve().parents[1] / "scripts"
  subprocess.run([CXX, "-std=c++17", "-O1", f"-I{scripts}", str(folder / "driver.cc"), "-o",
                  str(folder / "driver")], check=True, capture_output=True)
  return lambda n: [int(v) for v in subprocess.run([str(folder / "driver"), str(n)], text=True,
                                                   capture_output=True, check=True).stdout.split()]


@pytest.mark.parametrize("n", [1, 7, 8192])
def test_every_column_up_to_8192(columns, n):
  assert columns(n) == list(range(n))


@pytest.mark.parametrize("n", [8193, 200704, 802816])
def test_ends_and_a_random_sample_past_it(columns, n):
  cols = columns(n)
  assert cols == sorted(set(cols)) and 0 <= cols[0] and cols[-1] == n - 1
  assert set(range(1024)) | set(range(n - 1024, n)) <= set(cols)
  middle = [c for c in cols if 1024 <= c < n - 1024]
  assert len(cols) <= 8192 and len(middle) >= min(n - 2048, 6144) * 0.6
  # Spread over the middle, not bunched: each quarter holds some.
  quarter = (n - 2048) / 4
  assert all(any(1024 + q * quarter <= c < 1024 + (q + 1) * quarter for c in middle)
             for q in range(4))
