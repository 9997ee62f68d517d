// Which SpMM kernel and tile for a problem. The thresholds come from the
// measurements in docs/kernels.md; JSDL_SPMM_VARIANT overrides the choice for
// tuning runs ("gather", "gather:<tile_cols>:<rows_per_warp>",
// "staged:<tile_cols>:<rows_per_warp>", "panel:<tile_cols>:<rows_per_warp>").
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace jsdl {

enum class SpmmKernelKind { kGather, kStaged, kPanel };

struct SpmmChoice {
  SpmmKernelKind kind;
  int tile_cols;      // columns per tile
  int rows_per_warp;  // 8 warps per block; staged kernel: 2 or 8
};

// Shared memory of the device (bytes): what one block may opt in to and what
// one SM holds.
struct SharedMemory {
  int per_block = 0;
  int per_sm = 0;
};

// Panel tile: 16-byte vectors for `lanes` lanes per group (a power of two
// <= 32), halved until the panel (k x tile) fits in `budget` bytes; 0 when not
// even one vector per row fits.
inline int PanelTileCols(int64_t k, int lanes, int vec, int elem_bytes, int64_t budget) {
  while (lanes >= 1 && k * lanes * vec * elem_bytes > budget) lanes /= 2;
  return lanes >= 1 ? lanes * vec : 0;
}

// Panel bytes of a problem and tile.
inline int64_t PanelBytes(int64_t k, int tile_cols, int elem_bytes) {
  return k * tile_cols * elem_bytes;
}

// Rows per warp of the panel kernel: as many (each block re-uses its panel
// for more rows) as keep two waves of blocks on the GPU.
inline int PanelRowsPerWarp(int64_t m, int64_t tiles, int64_t batch, int num_sms,
                            int blocks_per_sm) {
  int rows = 8;
  while (rows > 1 &&
         (m + 8 * rows - 1) / (8 * rows) * tiles * batch < 2 * num_sms * blocks_per_sm)
    rows /= 2;
  return rows;
}

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
                             int vec, int elem_bytes, bool staged_ok, int num_sms,
                             SharedMemory smem) {
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
  // Panel: 8 lanes a group (32 float32 columns), narrower when k is long, at
  // two blocks per SM.
  const int panel_tile = staged_ok ? PanelTileCols(k, 8, vec, elem_bytes, smem.per_sm / 2 - 2048) : 0;
  auto panel = [&](int tile_cols, int rows) -> SpmmChoice {
    const int64_t bytes = PanelBytes(k, tile_cols, elem_bytes);
    const int per_sm = bytes > 0 ? static_cast<int>(smem.per_sm / (bytes + 1024)) : 8;
    const int64_t tiles = (n + tile_cols - 1) / tile_cols;
    if (rows <= 0) rows = PanelRowsPerWarp(m, tiles, batch, num_sms, per_sm < 1 ? 1 : per_sm);
    return {SpmmKernelKind::kPanel, tile_cols, rows};
  };
  if (const char* v = std::getenv("JSDL_SPMM_VARIANT")) {
    int a = 0, b = 0;
    if (std::strncmp(v, "gather", 6) == 0) {
      if (std::sscanf(v, "gather:%d:%d", &a, &b) == 2) return {SpmmKernelKind::kGather, a, b};
      return gather;
    }
    if (staged_ok && std::sscanf(v, "staged:%d:%d", &a, &b) == 2)
      return {SpmmKernelKind::kStaged, a, b};
    if (staged_ok && std::sscanf(v, "panel:%d:%d", &a, &b) >= 1) {
      // The tile shrinks until the panel fits in one block's shared memory.
      const int lanes = a / vec < 1 ? 1 : a / vec > 32 ? 32 : a / vec;
      const int tile = PanelTileCols(k, lanes, vec, elem_bytes, smem.per_block);
      if (tile > 0) return panel(tile, b);
    }
  }
  if (staged_ok && wide && panel_tile >= 4 * vec && m > 0 && k > 0) return panel(panel_tile, 0);
  if (!staged_ok || wide || k >= 1024 || m == 0 || k == 0) return gather;
  return {SpmmKernelKind::kStaged, 32, 2};
}

}  // namespace jsdl
