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
// (SpmmChoice::warps). kBatch > 1: the dense rows of that many steps loaded at once
// (kRowBatch in spmm_tiles.cuh; SpmmChoice::batched).
template <typename Layout, int kBatch = 1>
struct SpmmGatherConfig : Layout {
  static constexpr int kRowBatch = kBatch;
};

// Panel kernel: a block of 8 warps x rows_per_warp sparse rows shares one
// column tile, whose whole dense panel (k x kTileCols) sits in shared memory.
// Groups of kLanesPerGroup lanes, one 16-byte vector each; float32, bfloat16,
// float16, 16-byte aligned rows (n % kVec == 0).
template <typename Layout>
struct SpmmPanelConfig : Layout {
  static constexpr int kWarpsPerBlock = 8;
};

// Stream kernel: blocks stream many rows through one column tile's dense
// panel (kVecs x 128 bytes a row: 8 lanes x kVecs 16-byte vectors) in shared
// memory. Shared memory of a block: kWarps x 32 staged entries, the partial
// sums of its rows (passes only), then the panel rows of a pass and one row of
// zeros after them (padding entries point there: 0 x 0 adds nothing, so a
// partial stage needs no guard per entry).
//
// kPrefetch: where a block takes several column tiles (launched as one wave)
// and two panels fit, the next tile's panel is copied while this one's rows
// stream (one block an SM leaves nothing else to hide the copy behind).
//
// kGroupRows: each 8-lane group owns whole rows (short rows: no reduction
// across the groups, and a warp's per-row work serves four rows at once).
//
// kLanes: lanes a group (8; 4 for 64-byte panel rows, half as tall a panel in
// bytes: k up to about 3500 in one pass).
template <int kWarps_, int kMinBlocksPerSm_, bool kPasses_, int kVecs_ = 1,
          bool kPrefetch_ = false, bool kGroupRows_ = false, int kLanes_ = 8>
struct SpmmStreamConfigT {
  static_assert(!(kPasses_ && kGroupRows_), "a group's rows take the whole panel at once");
  // The passes' partial sums and the group rows assume 8-lane groups.
  static_assert(kLanes_ == 8 || (kLanes_ == 4 && !kPasses_ && !kGroupRows_), "lanes a group");
  static constexpr int kWarps = kWarps_;
  static constexpr int kMinBlocksPerSm = kMinBlocksPerSm_;
  static constexpr bool kPasses = kPasses_;
  static constexpr bool kPrefetch = kPrefetch_ && !kPasses_;
  static constexpr bool kGroupRows = kGroupRows_;
  static constexpr int kVecs = kVecs_;                // 16-byte vectors a lane
  static constexpr int kLanes = kLanes_;
  static constexpr int kRowBytes = 16 * kLanes * kVecs;  // a panel row: lanes x kVecs x 16 bytes
  static constexpr int kStagedEntryBytes = 8;         // value (float) + panel row
  static constexpr int64_t kStagingBytes = int64_t{kWarps} * 32 * kStagedEntryBytes;
  // float32 partial sums of a row's tile (kRowBytes / elem_bytes columns).
  static constexpr int64_t PartialBytes(int64_t rows, int elem_bytes) {
    return kPasses ? rows * (kRowBytes / elem_bytes) * 4 : 0;
  }
  // panels: 2 with kPrefetch's second buffer.
  static constexpr int64_t SharedBytes(int64_t pass_rows, int64_t rows, int elem_bytes,
                                       int panels = 1) {
    return kStagingBytes + PartialBytes(rows, elem_bytes) + panels * (pass_rows + 1) * kRowBytes;
  }
  // The most panel rows a pass may hold in `budget` bytes (< 1: none fit).
  static constexpr int64_t PassRows(int64_t budget, int64_t rows, int elem_bytes) {
    return (budget - kStagingBytes - PartialBytes(rows, elem_bytes)) / kRowBytes - 1;
  }
};

// The whole panel at once: 16 warps, launch bounds of 2 blocks an SM cap the
// registers at 64 (32 warps an SM; without them ptxas took 110).
using SpmmStreamConfig = SpmmStreamConfigT<16, 2, false>;
// Wide rows (session 12): two vectors a lane, 256-byte panel rows, so half
// the tiles and half the per-entry and per-row instructions per multiply-add
// (Nsight Compute found the 128-byte kernel issue-bound: 72-75% of issue
// slots busy, 1 FFMA in 6 instructions). The panel is twice as tall in bytes
// (k <= about 850), so one block an SM: 24 warps at 80 registers (32 warps
// at 64 spilled).
using SpmmStreamWideConfig = SpmmStreamConfigT<24, 1, false, 2, true>;
// Short rows (session 46): the wide panel, a row per 8-lane group. Nsight
// Compute on ResNet-50's 128 x 256 at 95% (13 entries a row, N = 802816)
// found the wide kernel issue-bound (68% of issue slots, DRAM 29%): 292 warp
// instructions a row and column tile, 32 of them FFMA. 16 warps: 64 groups,
// two rows each of a 128-row block (32 warps at 64 registers spilled 76-192
// bytes; 24 would leave a third of the groups idle half the time).
using SpmmStreamRowsConfig = SpmmStreamConfigT<16, 1, false, 2, true, true>;
// Panels taller than a block's shared memory (k above about 1700) in passes
// of rows, the rows' partial sums kept in shared memory between passes: one
// block an SM of 16 warps (104-119 registers; 32 warps at 64 spilled).
using SpmmStreamPassesConfig = SpmmStreamConfigT<16, 1, true>;
// Narrow rows (session 48; the heuristic's since session 49 where the 128-byte
// panel would need passes, n <= 512): 64-byte panel rows of 4-lane groups, so
// panels up to about 3500 rows need no passes (the transformer's 512 x 2048 at
// N = 256 ran 2 passes in 1 block an SM, its warps' instructions one after
// another: 7.4 cycles each), and each stage of 32 entries costs half the
// multiply-adds' instructions of a lane. Two random 64-byte rows share a bank
// half at random: about 1.5 shared-memory wavefronts a load, not 1. Measured
// 1.23x the passes there (float32; bfloat16 1.50x).
using SpmmStreamNarrowConfig = SpmmStreamConfigT<16, 1, false, 1, false, false, 4>;
// The wgmma tile (spmm_wgmma_kernel.cuh): a block computes 64 sparse rows (a row of the
// pattern's 64 x 64 tile index) x kCols dense columns, k in chunks of 64 through kStages stages,
// filled by a producer warpgroup for kConsumers warpgroups of wgmma.
struct SpmmWgmmaConfig {
  static constexpr int kRows = 64;   // sparse rows a block: wgmma's n; the tile index's edge
  static constexpr int kChunk = 64;  // k a stage: the tile index's edge
  static constexpr int kConsumers = 2;  // warpgroups of 64 dense columns (wgmma's m)
  static constexpr int kCols = 64 * kConsumers;
  // Stages of the ring: a 3xTF32 stage holds the tile twice (big and small); 16-bit stages are
  // half a TF32 stage (24 KB).
  static constexpr int kStagesSplit = 3, kStagesTf32 = 4, kStages16Bit = 6;
  static constexpr int kThreads = 128 * (kConsumers + 1);  // and the producer warpgroup
  // 3xTF32's registers a thread after the block's start (setmaxnreg; multiples of 8, 24-256):
  // the producer's warpgroup gives its registers to the consumers' pipelines (within 64 K a
  // block; in 168 a thread they spilled 168-200 bytes).
  static constexpr int kProducerRegisters = 40, kConsumerRegisters = 232;
  static_assert(128 * (kProducerRegisters + kConsumers * kConsumerRegisters) <= 65536,
                "the block's registers");
  // Its time on an H200 (session 32, call 1: the staged epilogue; fitted by
  // scripts/fit_wgmma_time.py to the 36 runs of
  // docs/gpu-runs/2026-12-04-h200-5ab00df-staged-epilogue on DLMC matrices in TF32, 3xTF32 and
  // bfloat16, within -14% and +11%, 30 of them within 10%): kStartNanos (the densify kernel,
  // launches), then for each wave of work items (num_sms of them) kWaveNanos (the first stages'
  // latency, the epilogue) and kChunkNanos a chunk (3xTF32, TF32 or 16-bit). 3xTF32's chunk
  // has been 1.03-1.15x faster at large N since session 40 (on an H100, where a refit made it
  // 3.8% cheaper, inside the model's error); kChunkNanosSplit is still the older chunk's.
  static constexpr double kStartNanos = 6730, kWaveNanos = 2310;
  static constexpr double kChunkNanosSplit = 1405, kChunkNanosTf32 = 655, kChunkNanos16Bit = 375;
  // Parts over k (session 33): a call of at most kKPartsMaxItems work items (less than half a
  // wave on an H100 / H200) may give each item's chunks to up to kMaxKParts blocks, at least
  // kMinKPartChunks chunks each; each part leaves its float32 sums in the workspace and the last
  // one of an item to finish adds the others' before the epilogue. Their cost, fitted to 27 runs
  // of 16 and 64 items in 2-8 parts (docs/gpu-runs/2026-12-04-h200-d836b85-k-parts, within
  // -3.6 and +3.1 us): kKPartsNanos once, kKPartItemNanos for each item's each further part.
  static constexpr int kMaxKParts = 8, kKPartsMaxItems = 64, kMinKPartChunks = 2;
  static constexpr double kKPartsNanos = 2190, kKPartItemNanos = 130;
  static constexpr int64_t kKPartSumFloats = int64_t{kMaxKParts} * kRows * kCols;  // an item
};

// The wgmma tile's work items: 64-row tiles of m x kCols-column tiles of n x batch items (its
// persistent grid takes them num_sms at a time).
inline int64_t SpmmWgmmaItems(int64_t m, int64_t n, int64_t batch) {
  using Config = SpmmWgmmaConfig;
  return (m + Config::kRows - 1) / Config::kRows * ((n + Config::kCols - 1) / Config::kCols) *
         batch;
}

// The wgmma tile's 64-wide chunks of k.
inline int64_t SpmmWgmmaChunks(int64_t k) {
  return (k + SpmmWgmmaConfig::kChunk - 1) / SpmmWgmmaConfig::kChunk;
}

// The workspace the wgmma tile's parts over k need after the densified tiles: for each work item
// kKPartSumFloats float32 sums (kMaxKParts x 64 x kCols; each consumer thread's 32 in a row),
// then a counter of finished parts a consumer warpgroup. 0 where parts are not allowed (more than
// kKPartsMaxItems items, or chunks for fewer than two parts). jax_sparse_dl/spmm.py sizes the same.
inline int64_t SpmmWgmmaKPartsBytes(int64_t items, int64_t chunks) {
  using Config = SpmmWgmmaConfig;
  if (items > Config::kKPartsMaxItems || chunks < 2 * Config::kMinKPartChunks) return 0;
  return items * (Config::kKPartSumFloats * 4 + Config::kConsumers * 4);
}

// The partial sums of a passes block take at most this much shared memory.
inline constexpr int64_t kStreamPartialBudget = 64 << 10;

}  // namespace jsdl
