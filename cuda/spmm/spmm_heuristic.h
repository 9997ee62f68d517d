// Which SpMM kernel and tile for a problem. The thresholds come from the
// measurements in docs/kernels.md; JSDL_SPMM_VARIANT overrides the choice for
// tuning runs ("gather", "gather:<tile_cols>", "staged:<tile_cols>:<rows_per_warp>").
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace jsdl {

enum class SpmmKernelKind { kGather, kStaged };

struct SpmmChoice {
  SpmmKernelKind kind;
  int tile_cols;      // columns per tile
  int rows_per_warp;  // staged kernel: 2 or 8 (8 warps per block)
};

// Smallest gather tile that covers n with 4, 8, 16 or 32 lanes per group
// (vec: elements per access, 1 when rows are not 16-byte aligned).
inline int GatherTileCols(int64_t n, int vec) {
  if (vec <= 1) return n <= 32 ? 32 : n <= 64 ? 64 : 128;
  for (int lanes = 4; lanes < 32; lanes *= 2)
    if (n <= lanes * vec) return lanes * vec;
  return 32 * vec;
}

// vec: elements per 16 bytes when rows of n elements are 16-byte aligned,
// else 1. staged_ok: the dtype has a staged kernel.
inline SpmmChoice ChooseSpmm(int64_t m, int64_t k, int64_t n, int64_t nnz,
                             int64_t batch, int vec, bool staged_ok, int num_sms) {
  const SpmmChoice gather{SpmmKernelKind::kGather, GatherTileCols(n, vec), 0};
  staged_ok = staged_ok && vec > 1;
  if (const char* v = std::getenv("JSDL_SPMM_VARIANT")) {
    int a = 0, b = 0;
    if (std::strncmp(v, "gather", 6) == 0) {
      if (std::sscanf(v, "gather:%d", &a) == 1) return {SpmmKernelKind::kGather, a, 0};
      return gather;
    }
    if (staged_ok && std::sscanf(v, "staged:%d:%d", &a, &b) == 2)
      return {SpmmKernelKind::kStaged, a, b};
  }
  if (!staged_ok || m == 0 || k == 0) return gather;
  // A copied dense row pays off when the block's rows use it several times:
  // rows_per_block * density entries per dense row on average.
  const double density = static_cast<double>(nnz) / (static_cast<double>(m) * k);
  const int tile_cols = n >= 1024 ? 64 : 32;
  const int64_t tiles = (n + tile_cols - 1) / tile_cols;
  const int64_t tall_blocks = (m + 63) / 64 * tiles * batch;
  const int rows_per_warp = tall_blocks >= 2 * num_sms ? 8 : 2;
  if (density * 8 * rows_per_warp < 2.0) return gather;
  return {SpmmKernelKind::kStaged, tile_cols, rows_per_warp};
}

}  // namespace jsdl
