// Tile configurations of the two SpMM kernels and the heuristic that picks
// one per problem (docs/kernels.md gives the measurements behind it).
//
// Both kernels split a warp into kGroups groups of kLanesPerGroup lanes. A
// group multiplies one sparse entry at a time against kTileCols consecutive
// columns of a dense row (each lane kVec columns per access, kVecsPerLane
// accesses); the groups take different entries of the same sparse row and
// their partial sums are added at the end. Narrow outputs thus still keep all
// 32 lanes busy (Sputnik's subwarp tiling, turned towards the entries).
#pragma once

#include <cstdint>

namespace jsdl {

template <int kVec_, int kLanesPerGroup_, int kVecsPerLane_>
struct SpmmLaneLayout {
  static constexpr int kVec = kVec_;  // elements per access
  static constexpr int kLanesPerGroup = kLanesPerGroup_;
  static constexpr int kVecsPerLane = kVecsPerLane_;
  static constexpr int kGroups = 32 / kLanesPerGroup;
  static constexpr int kTileCols = kLanesPerGroup * kVec * kVecsPerLane;
};

// Gather kernel: a warp per (sparse row, column tile), rows_per_warp rows in
// turn; dense rows are read straight from global memory (L1/L2) for every
// entry. Any n, any dtype, any column order. Warps per block: a launch choice
// (SpmmChoice::warps).
template <typename Layout>
struct SpmmGatherConfig : Layout {};

// Panel kernel: a block of 8 warps x rows_per_warp sparse rows shares one
// column tile, whose whole dense panel (k x kTileCols) sits in shared memory.
// Groups of kLanesPerGroup lanes, one 16-byte vector each; float32, bfloat16,
// float16, 16-byte aligned rows (n % kVec == 0).
template <typename Layout>
struct SpmmPanelConfig : Layout {
  static constexpr int kWarpsPerBlock = 8;
};

// Stream kernel: blocks of 16 warps stream many rows through one column
// tile's panel (k x 128 bytes); launch bounds of 2 blocks an SM cap its
// registers at 64 (32 warps an SM; without them ptxas took 110).
struct SpmmStreamConfig {
  static constexpr int kWarps = 16;
  static constexpr int kMinBlocksPerSm = 2;
  static constexpr int kRowBytes = 128;         // a panel row: 8 lanes x 16 bytes
  static constexpr int kStagedEntryBytes = 8;   // value (float) + panel row
  // Shared memory of a block: kWarps x 32 staged entries, then the panel and
  // one row of zeros after it (padding entries point there: 0 x 0 adds
  // nothing, so a partial stage needs no guard per entry).
  static constexpr int64_t SharedBytes(int64_t k) {
    return int64_t{kWarps} * 32 * kStagedEntryBytes + (k + 1) * kRowBytes;
  }
};

}  // namespace jsdl
