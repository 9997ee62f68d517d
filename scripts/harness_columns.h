// The output columns a harness's float64 reference covers (host code, no CUDA: tested by
// tests/test_harness_columns.py). All up to 8192; past that the first and the last 1024 (partial
// tiles at the end) and 6144 drawn at random, sorted, without repeats. The whole reference took
// most of 20 s a run at N = 802816 on 10-15 k entries (session 46).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace harness {

inline std::vector<int64_t> CheckedColumns(int64_t n, std::mt19937_64& rng) {
  constexpr int64_t kAll = 8192, kEnds = 1024, kDrawn = 6144;
  std::vector<int64_t> cols;
  if (n <= kAll) {
    for (int64_t j = 0; j < n; ++j) cols.push_back(j);
    return cols;
  }
  for (int64_t j = 0; j < kEnds; ++j) cols.push_back(j), cols.push_back(n - 1 - j);
  std::uniform_int_distribution<int64_t> any(kEnds, n - 1 - kEnds);
  for (int64_t i = 0; i < kDrawn; ++i) cols.push_back(any(rng));
  std::sort(cols.begin(), cols.end());
  cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
  return cols;
}

}  // namespace harness
