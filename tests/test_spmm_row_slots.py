"""The stream kernel's row slots (cuda/spmm/spmm_row_slots.h), checked on the host.

Block x of row_blocks has owners o (warps, or 8-lane groups with rows-stream), each taking its
rows SnakeSlot(x + row_blocks * o, row_blocks * owners, i) for i = 0, 1, ... while below m. A
C++ driver includes the header and walks every owner of every block; these tests check that the
rows are each taken once, that no block gets more than the ceil(m / row_blocks) rows its shared
memory is sized for, that SnakeLocal numbers a block's rows 0, 1, ... (the passes' partial sums),
and that the order balances rows sorted by length."""
import pytest
from conftest import CXX, host_driver

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

DRIVER = r"""
#include <algorithm>
#include <cstdio>
#include <vector>
#include "spmm_row_slots.h"
// Input: m row_blocks owners. Output: rows taken twice or never, the most rows of a block,
// whether every owner's slots grow, whether SnakeLocal numbers each block's rows 0, 1, ...,
// and the largest minus the smallest sum of row lengths over the owners of block 0 for rows
// sorted by length (row s holds m - s entries), with the snake and with a plain stride.
int main() {
  int m, row_blocks, owners;
  while (std::scanf("%d %d %d", &m, &row_blocks, &owners) == 3) {
    const int stride = row_blocks * owners;
    std::vector<int> taken(m, 0);
    int most_rows = 0, growing = 1, dense_local = 1;
    long long snake_hi = 0, snake_lo = -1, plain_hi = 0, plain_lo = -1;
    for (int x = 0; x < row_blocks; ++x) {
      int rows = 0;
      std::vector<int> locals;
      for (int o = 0; o < owners; ++o) {
        const int first = x + row_blocks * o;
        long long snake = 0, plain = 0;
        for (int i = 0; jsdl::SnakeSlot(first, stride, i) < m; ++i) {
          const int s = jsdl::SnakeSlot(first, stride, i);
          growing &= i == 0 || s > jsdl::SnakeSlot(first, stride, i - 1);
          ++taken[s];
          ++rows;
          locals.push_back(jsdl::SnakeLocal(o, owners, i));
          snake += m - s;
        }
        for (int s = first; s < m; s += stride) plain += m - s;
        if (x == 0) {
          snake_hi = std::max(snake_hi, snake);
          snake_lo = snake_lo < 0 ? snake : std::min(snake_lo, snake);
          plain_hi = std::max(plain_hi, plain);
          plain_lo = plain_lo < 0 ? plain : std::min(plain_lo, plain);
        }
      }
      most_rows = std::max(most_rows, rows);
      std::sort(locals.begin(), locals.end());
      for (int j = 0; j < rows; ++j) dense_local &= locals[j] == j;
    }
    const long long wrong = std::count_if(taken.begin(), taken.end(), [](int t) { return t != 1; });
    std::printf("%lld %d %d %d %lld %lld\n", wrong, most_rows, growing, dense_local,
                snake_hi - snake_lo, plain_hi - plain_lo);
  }
}
"""


@pytest.fixture(scope="module")
def slots(tmp_path_factory):
    driver = host_driver(tmp_path_factory.mktemp("spmm_row_slots"), DRIVER, "spmm")

    def run(m, row_blocks, owners):
        wrong, most_rows, growing, dense_local, snake_spread, plain_spread = driver(
            f"{m} {row_blocks} {owners}\n")
        return dict(wrong=wrong, most_rows=most_rows, growing=bool(growing),
                    dense_local=bool(dense_local), snake_spread=snake_spread,
                    plain_spread=plain_spread)

    return run


@pytest.mark.parametrize("m, row_blocks, owners", [
    (128, 1, 64),     # ResNet-50's 128-row layers on rows-stream: 16 warps x 4 groups
    (100, 1, 64),     # a partial second round
    (1000, 28, 24),   # many row blocks of 24 warps
    (2000, 1, 64),    # 32 rows an owner
    (777, 8, 16),
    (4099, 7, 24),
    (513, 33, 24),    # more owners than rows in a block
    (5, 3, 4),
    (1, 1, 16),
    (0, 1, 16),       # no rows
])
def test_each_row_once_within_the_blocks_rows(slots, m, row_blocks, owners):
    r = slots(m, row_blocks, owners)
    assert r["wrong"] == 0  # every row taken exactly once
    assert r["most_rows"] <= -(-m // row_blocks)  # the kernel's rows_cap
    assert r["growing"]  # an owner's rows below m are a prefix of its slots
    assert r["dense_local"]  # the passes' partial sums: one slot a row, below rows_cap


@pytest.mark.parametrize("m, row_blocks, owners", [(128, 1, 64), (2000, 1, 64), (4099, 7, 24)])
def test_snake_evens_out_rows_sorted_by_length(slots, m, row_blocks, owners):
    r = slots(m, row_blocks, owners)
    # With a plain stride owner 0 takes the longest row of every round, so the spread grows with
    # the rounds; the snake pairs each round's longest with the next round's shortest.
    assert r["snake_spread"] * 4 <= r["plain_spread"]
