// Which SpMM kernel and tile for a problem. The thresholds come from the
// measurements in docs/kernels.md; JSDL_SPMM_VARIANT overrides the choice for
// tuning runs ("gather", "gather:<tile_cols>:<rows_per_warp>",
// "staged:<tile_cols>:<rows_per_warp>").
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
  int rows_per_warp;  // 8 warps per block; staged kernel: 2 or 8
};

// Gather tile: the smallest of 4, 8, 16 or 32 lanes x vec that covers n; with
// l1_cap, no wider than keeps the block's dense strip (k x tile) within 128 KB
// of L1 (vec: elements per access, 1 when rows are not 16-byte aligned).
inline int GatherTileCols(int64_t k, int64_t n, int vec, int elem_bytes, bool l1_cap) {
  if (vec <= 1) return n <= 32 ? 32 : n <= 64 ? 64 : 128;
  int lanes = 4;
  while (lanes < 32 && n > lanes * vec) lanes *= 2;
  while (l1_cap && lanes > 4 && k * lanes * vec * elem_bytes > (128 << 10)) lanes /= 2;
  return lanes * vec;
}

// Rows per warp: as many as keep at least two blocks per SM (more rows per
// block means more re-use of the block's dense strip in L1).
inline int GatherRowsPerWarp(int64_t m, int64_t tiles, int64_t batch, int num_sms) {
  int rows = 16;
  while (rows > 1 && (m + 8 * rows - 1) / (8 * rows) * tiles * batch < 2 * num_sms) rows /= 2;
  return rows;
}

// vec: elements per 16 bytes when rows of n elements are 16-byte aligned,
// else 1. staged_ok: the dtype has a staged kernel.
inline SpmmChoice ChooseSpmm(int64_t m, int64_t k, int64_t n, int64_t batch,
                             int vec, int elem_bytes, bool staged_ok, int num_sms) {
  // Measured on an H200 (docs/kernels.md, tuning run 4):
  // - wide outputs (n > 512): the gather kernel with the widest tile and one
  //   row per warp (the L1-sized narrow tiles lost);
  // - narrow outputs with long rows of the dense operand (k >= 1024): the
  //   gather kernel with narrow, L1-sized tiles and several rows per warp;
  // - other narrow outputs: the staged kernel, 32 columns, 16 rows a block.
  const bool wide = n > 512;
  const int gather_tile = GatherTileCols(k, n, vec, elem_bytes, /*l1_cap=*/!wide);
  const int64_t tiles = (n + gather_tile - 1) / gather_tile;
  const SpmmChoice gather{SpmmKernelKind::kGather, gather_tile,
                          wide ? 1 : GatherRowsPerWarp(m, tiles, batch, num_sms)};
  staged_ok = staged_ok && vec > 1;
  if (const char* v = std::getenv("JSDL_SPMM_VARIANT")) {
    int a = 0, b = 0;
    if (std::strncmp(v, "gather", 6) == 0) {
      if (std::sscanf(v, "gather:%d:%d", &a, &b) == 2) return {SpmmKernelKind::kGather, a, b};
      return gather;
    }
    if (staged_ok && std::sscanf(v, "staged:%d:%d", &a, &b) == 2)
      return {SpmmKernelKind::kStaged, a, b};
  }
  if (!staged_ok || wide || k >= 1024 || m == 0 || k == 0) return gather;
  return {SpmmKernelKind::kStaged, 32, 2};
}

}  // namespace jsdl
