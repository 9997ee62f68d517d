// Launch configuration of the SpMM kernel: one warp per (sparse row, column
// tile); each lane owns kColsPerLane output columns spaced 32 apart so that
// every dense load and output store of the warp covers 32 consecutive columns.
// Kernels carry no __launch_bounds__: with it ptxas (CUDA 13) spilled a few
// registers at ~56 registers per thread; without it nothing spills.
#pragma once

#include <cstdint>

namespace jsdl {

template <int kColsPerLane_>
struct SpmmConfig {
  static constexpr int kColsPerLane = kColsPerLane_;
  static constexpr int kWarpsPerBlock = 4;         // rows per block
  static constexpr int kTileCols = 32 * kColsPerLane;  // columns per warp
  static constexpr int kSparseTile = 32;  // (value, column) pairs staged per step
};

// Narrow tiles for narrow outputs so that few lanes idle; wider tiles reuse
// each staged (value, column) pair for more columns.
enum class SpmmTileWidth { k32, k64, k128 };

inline SpmmTileWidth ChooseSpmmTileWidth(int64_t n) {
  if (n <= 32) return SpmmTileWidth::k32;
  if (n <= 64) return SpmmTileWidth::k64;
  return SpmmTileWidth::k128;
}

}  // namespace jsdl
