// Launch configuration of the SDDMM kernel: one warp per sparse row, split
// into kGroups groups of kLanesPerGroup lanes. A group takes kLanesPerGroup
// entries of the row at once: each lane forms partial dot products of its
// slice of d (kVecsPerLane accesses of kVec elements, consecutive across the
// group's lanes so that loads coalesce) for all of them, then one transposing
// reduction (kLanesPerGroup - 1 shuffles) leaves entry j's dot product on
// lane j, and the group's stores are consecutive.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../common/tile_index.h"

namespace jsdl {

template <int kVec_, int kLanesPerGroup_, int kVecsPerLane_>
struct SddmmConfig {
  static constexpr int kVec = kVec_;
  static constexpr int kLanesPerGroup = kLanesPerGroup_;
  static constexpr int kVecsPerLane = kVecsPerLane_;
  static constexpr int kGroups = 32 / kLanesPerGroup;
  // Elements of d covered per pass; longer rows take several passes.
  static constexpr int kChunk = kLanesPerGroup * kVec * kVecsPerLane;
  static constexpr int kWarpsPerBlock = 4;  // rows per block
  static constexpr int kSparseTile = 32;    // entries per warp step
};


// Row kernel group shape: lanes per group and accesses of kVec elements per
// lane and pass.
struct SddmmShape {
  int lanes;
  int vecs_per_lane;
};

// The flat kernel (sddmm_flat_kernel.cuh): kEntries = 32 / kLanes entries a
// warp-tile in CSR order, kLanes lanes an entry; kDSplit warps of a block share
// a tile and split d (1, 4, 8 or 16: a split of 16 takes blocks of 16 warps,
// one tile each).
template <int kVec_, int kDSplit_, int kLanes_ = 1>
struct SddmmFlatConfig {
  static constexpr int kVec = kVec_;
  static constexpr int kDSplit = kDSplit_;
  static constexpr int kLanes = kLanes_;
  static constexpr int kEntries = 32 / kLanes;
  static constexpr int kUnroll = 4;          // vectors per lane in flight
  static constexpr int kWarpsPerBlock = kDSplit > 8 ? kDSplit : 8;
  static constexpr int kTilesPerBlock = kWarpsPerBlock / kDSplit;
  static_assert(kWarpsPerBlock % kDSplit == 0, "whole tiles a block");
  static_assert(kLanes >= 1 && 32 % kLanes == 0, "whole groups a warp");
};

// What both dense-tile kernels share: a block computes a kBM x kBN tile of
// lhs @ rhs^T densely, kBK elements of d at a time, then stores the tile's
// pattern entries, kPassRows tile rows at a time through shared memory (a
// 128 x 128 tile whole would not fit in 48 KB of static shared memory).
template <int kBM_, int kBN_, int kBK_, int kMinBlocks_>
struct SddmmTileShape {
  static constexpr int kMinBlocks = kMinBlocks_;  // per SM: caps the registers a thread
  static constexpr int kBM = kBM_;
  static constexpr int kBN = kBN_;
  static constexpr int kBK = kBK_;
  static constexpr int kPassRows = kBM < 64 ? kBM : 64;
};

// The tile kernel (sddmm_tile_kernel.cuh) on CUDA cores: each thread a kTM x kTN
// micro-tile (4 x 4: 2 float4 reads for 16 FMAs; 8 x 8: 4 for 64, the classic
// SGEMM balance of shared-memory reads and FMAs).
template <int kBM_, int kBN_, int kBK_, int kTM_, int kTN_, int kMinBlocks_>
struct SddmmTileConfig : SddmmTileShape<kBM_, kBN_, kBK_, kMinBlocks_> {
  static constexpr int kTM = kTM_;
  static constexpr int kTN = kTN_;
  static constexpr int kThreads = (kBM_ / kTM) * (kBN_ / kTN);
};

// The tensor-core tile kernel (sddmm_mma_kernel.cuh): kWarpsK groups of kWarpsM x kWarpsN warps,
// each warp a (kBM / kWarpsM) x (kBN / kWarpsN) block of 16 x 8 fragments over its group's
// share of each slice of d (kWarpsK = 2: twice the warps a tile, to hide latency where the tiles
// are few; the groups' sums meet in shared memory after the d-loop).
template <int kBM_, int kBN_, int kBK_, int kWarpsM_, int kWarpsN_, int kMinBlocks_,
          int kWarpsK_ = 1>
struct SddmmMmaConfig : SddmmTileShape<kBM_, kBN_, kBK_, kMinBlocks_> {
  static constexpr int kWarpsM = kWarpsM_;
  static constexpr int kWarpsN = kWarpsN_;
  static constexpr int kWarpsK = kWarpsK_;
  static constexpr int kWarpM = kBM_ / kWarpsM;
  static constexpr int kWarpN = kBN_ / kWarpsN;
  static constexpr int kFragsM = kWarpM / 16;
  static constexpr int kFragsN = kWarpN / 8;
  static constexpr int kThreads = 32 * kWarpsM * kWarpsN * kWarpsK;
  static_assert(kWarpM % 16 == 0 && kWarpN % 8 == 0, "whole fragments per warp");
};

// The wgmma tile kernel (sddmm_wgmma_kernel.cuh, sm_90a): one warpgroup a 64 x 64 tile, slices
// of d 128 bytes deep (kBK: 32 float32 or 64 16-bit values) brought by TMA into a ring of kStages.
// ptxas gives 3xTF32 178 registers (2 blocks an SM); capped at 168 for 3 blocks it ran 1-3%
// slower (session 25, harness at 7d72e1c).
template <int kBK_, int kStages_>
struct SddmmWgmmaConfig : SddmmTileShape<64, 64, kBK_, 1> {
  static constexpr int kThreads = 128;
  static constexpr int kStages = kStages_;
};

enum class SddmmKernelKind { kRow, kFlat, kTile, kMma, kWgmma };

struct SddmmChoice {
  SddmmKernelKind kind;
  int d_split;         // flat kernel: warps per tile (1, 4, 8, 16); tile kernels: blocks per tile
                       // (1 or 2, a cluster: AddPartnerSums in sddmm_tile_kernel.cuh)
  SddmmShape row = {};  // row kernel: group shape; lanes == 0: ChooseSddmmShape's
  int tile_edge = 64;   // tile and mma kernels: 32, 64 or 128 rows and columns a block
  int lanes = 1;        // flat kernel: lanes an entry (1, 4 or 8)
  int warp_groups = 2;  // mma kernel, TF32 and 16-bit: k-groups of 4 warps (1 or 2)
  int shares = 1;       // tile, mma and wgmma kernels without a d split: blocks a tile, each
                        // storing a share of its entries (1, 2 or 4; TileBlock in
                        // sddmm_tile_kernel.cuh)
  int warps = 4;        // mma:64 in 3xTF32: warps a tile (4 of 32 x 32, or 8 of 32 x 16)
};

// The flat kernel's shape (session 21, tune at 472ae80: ResNet-50 at 50-90%, transformer at
// 90-98%): lanes an entry read rows of d coalesced, 1.3-2.8x one lane an entry from d = 256,
// 1.1-1.4x at d = 64. 8 lanes for long d, and for few entries (more warps); 4 lanes for many
// entries at d <= 512 (fewer shuffles). d split over 4 warps only where 4-entry tiles leave the
// GPU short of warps: up to 16 a SM at d > 512 (512 x 512 at 98%, d = 2048: 10.8 against
// 11.7 us), 4 a SM at d = 256; never at d <= 128. Also the tile kernels' fallback where their
// grid would not fit (sddmm_ffi.cu, TileGrid).
inline SddmmChoice ChooseSddmmFlat(int64_t nnz, int64_t d, int64_t batch, int num_sms) {
  const int64_t entries = nnz * batch;
  const int lanes = d > 512 || entries < (d <= 128 ? 64 : 192) * int64_t{num_sms} ? 8 : 4;
  const int64_t quads = entries / 4;  // warp tiles at 8 lanes an entry
  const bool split = d > 512 ? quads <= int64_t{16} * num_sms
                             : d > 128 && quads <= int64_t{4} * num_sms;
  return {SddmmKernelKind::kFlat, split ? 4 : 1, {}, 64, lanes};
}

// Measured on the DLMC sample and on attention-like patterns (H200,
// scripts/tune_sddmm.py, docs/kernels.md). Dense tiles (the tile and mma
// kernels) win where the pattern is dense enough that most of a tile's products
// are kept, given d (long rows of d amortize a tile's output pass), and where
// there are tiles enough to fill the GPU (a tile's d-loop is serial). Else the
// row kernel wins with many rows (a full GPU of warps) long enough to fill its
// 32-entry steps, and the flat kernel elsewhere, with 4 or 8 lanes an entry; it
// splits d over four warps only when its tiles alone leave the GPU short of
// warps (a split costs a shared-memory reduction). `mma_passes`: mmas
// a product on tensor cores (1: 16-bit inputs, or float32 with TF32; 3:
// float32 at HIGHEST, 3xTF32; 0: none, float64); `can_split`: the tile
// kernels may split d over two blocks a tile (thread-block clusters, sm_90); `can_wgmma`: the
// wgmma tile kernel can run (a 9.0 device, a build with sm_90a, rows of d 16-byte aligned);
// `element_bytes`: the inputs' (2: bfloat16 or float16, 4: float32, 8: float64).
// JSDL_SDDMM_VARIANT = "row" | "row:<lanes>:<vecs>" | "flat:<split>[:<lanes>]" |
// "tile:32" | "tile:64" | "tile:128" | "mma:64" | "mma:128", the tile kernels optionally
// ":2" (d split over 2 blocks a tile where `can_split`), mma then ":1" for one k-group of
// warps, and then (tile after the split, mma after the groups) ":2" or ":4", the output's shares
// (blocks a tile, each storing a share of its entries; with a d split, one), mma:64 then ":8"
// for 8 warps of 32 x 16 in 3xTF32 (float32 at HIGHEST), overrides it for tuning (row shapes
// 4:1, 4:4, 8:1, 8:2, 16:1, 32:1, 32:2; any other runs as 32:4; flat splits 1, 4, 8, 16 with
// 1 lane an entry, 1, 4, 8 with 4 or 8; mma without tensor cores (float64), or mma:32, runs as
// the tile kernel), or "wgmma[:<parts>[:<shares>]]" (d split over 2 blocks where `can_split`,
// and the output's shares as for the tile kernels; where tensor cores are allowed and `can_wgmma`,
// else the heuristic's choice).
inline SddmmChoice ChooseSddmm(int64_t m, int64_t k, int64_t nnz, int64_t d, int64_t batch,
                               int num_sms, int mma_passes, bool can_split,
                               bool can_wgmma = false, int element_bytes = 4) {
  const bool mma = mma_passes > 0;
  if (const char* v = std::getenv("JSDL_SDDMM_VARIANT")) {
    if (std::strncmp(v, "wgmma", 5) == 0 && mma && can_wgmma) {
      int parts = 1, shares = 1;
      std::sscanf(v, "wgmma:%d:%d", &parts, &shares);
      const bool split = parts == 2 && can_split;
      return {SddmmKernelKind::kWgmma, split ? 2 : 1, {}, 64, 1, 1,
              !split && (shares == 2 || shares == 4) ? shares : 1};
    }
    if (std::strcmp(v, "row") == 0) return {SddmmKernelKind::kRow, 1};
    SddmmShape shape{};
    if (std::sscanf(v, "row:%d:%d", &shape.lanes, &shape.vecs_per_lane) == 2)
      return {SddmmKernelKind::kRow, 1, shape};
    int split = 0, lanes = 1;
    if (std::sscanf(v, "flat:%d:%d", &split, &lanes) >= 1 &&
        (split == 1 || split == 4 || split == 8 || split == 16))
      return {SddmmKernelKind::kFlat, split, {}, 64, lanes == 4 || lanes == 8 ? lanes : 1};
    int edge = 0, parts = 1, groups = 2, shares = 1, warps = 4;
    const bool named =
        std::sscanf(v, "tile:%d:%d:%d", &edge, &parts, &shares) >= 1 ||
        std::sscanf(v, "mma:%d:%d:%d:%d:%d", &edge, &parts, &groups, &shares, &warps) >= 1;
    if (named && (edge == 32 || edge == 64 || edge == 128)) {
      // mma:64 / mma:128 where tensor cores are allowed, else the tile kernel of that edge
      const bool tensor = mma && v[0] == 'm' && edge != 32;
      const bool split = parts == 2 && can_split;
      return {tensor ? SddmmKernelKind::kMma : SddmmKernelKind::kTile, split ? 2 : 1, {}, edge,
              1, groups == 1 ? 1 : 2, !split && (shares == 2 || shares == 4) ? shares : 1,
              warps == 8 ? 8 : 4};
    }
  }
  // Thresholds from the transformer matrices at 50-98% with the patterns' tile index
  // (tune-sddmm, sessions 9, 10 and 14). Tensor cores pay from d = 256: from 1.5% density with
  // 128+ tiles, 8% with fewer (their d-loop is serial, so few tiles leave SMs idle); for d > 512
  // from 1.5% when d is split, else 4%; from d = 64 with 128+ tiles. With fewer than 48 tiles
  // (ResNet-50's small layers) the flat kernel wins at any d. With fewer than 128 tiles and
  // d <= 128 the SIMT tile matches them and stays exact. The SIMT tile needs 6-15%, more with
  // fewer tiles or longer d (where the flat kernel's loads stream well), 8% at long d split.
  const int64_t tiles = TileIndexCount(m, k) * batch;
  const double density = static_cast<double>(nnz) / (static_cast<double>(m) * k);
  const bool many = tiles >= 128;
  // Splitting d over two blocks a tile adds blocks where the tiles alone leave SMs short of
  // warps: the tensor-core tile of 8 warps (session 20, tune-sddmm at b4f862d) 1.4-1.5x faster
  // at d = 2048 on 64 tiles, but 0.74-0.83x on 256, and slower at d = 256 (0.85-0.9x on 64
  // tiles); the SIMT tile (1 block an SM) 1.2-1.9x from d = 256 on 64 tiles, no faster on 256.
  const bool mma_split = can_split && d >= 512 && tiles < num_sms;
  const bool simt_split = can_split && d >= 256 && tiles < num_sms;
  // Session 21: the flat kernel with lanes an entry (below) beats the tensor-core tile on 2%
  // patterns (2048 x 512 at d = 2048: 22.5 against about 45 us; 512 x 512, split: 10.8
  // against 21.4) and on 512 x 512 at 10%, d = 256 (7.0 against 8.9), not on 10% at d = 2048 nor
  // 20% at d = 256; the floors sit between those points.
  const double mma_min = d > 512 ? (tiles < num_sms ? 0.06 : 0.04) : many ? 0.04 : 0.15;
  // Many long rows (attention patterns): the row kernel's case, which beats the tiles there.
  const bool long_rows = m * batch >= int64_t{16} * num_sms && nnz >= 160 * m;
  // d = 64-128 (session 14, device clock): tensor cores beat the SIMT tile and the flat kernel
  // by 1.0-1.5x with 128+ tiles, unless the rows are long (there mma:64 takes twice the row
  // kernel's time). With fewer tiles they did not until session 22's output pass: on 512 x 512
  // at d = 64 (64 tiles) mma:64 now takes 7.1 us at 50% (SIMT tile 7.9) and 6.1 at 20% (flat
  // kernel 6.7), from mma_min's 15%.
  const bool short_d_mma = d >= 64 && !long_rows;
  // float32 at HIGHEST on 3xTF32 tiles (session 18, device clock, tune-sddmm-highest at 4ee2053
  // and 0658db5): three mmas a product beat the SIMT tile from d = 256 with 128+ tiles (1.1-1.45x
  // at 5-50% density) and from d = 1024 with 16+ tiles, split over a cluster where the tiles
  // leave SMs idle (64 tiles: 1.1-1.35x at 5-50% by mma:64:2; 16: 1.1-1.9x from 20%); not at 2%
  // (the CUDA-core kernels 1.5-1.8x faster), nor with 4 tiles, nor with 64 at d = 256 (0.8-1.1x).
  // Session 21: from 7% (12% under one tile an SM), since the flat kernel with lanes an entry
  // beats 3xTF32 at 5% (by estimate from 2% and 10%) and on 64 tiles at 10% (29.7 against 32.7 us
  // at d = 2048), not on 256 tiles at 10% (93 against 85); and never under 48 tiles (ResNet-50's
  // 128 x 512 at 20-50%, d = 2048: 15-33 against 32-36 us).
  // Session 22 (harness at 806c738, after the output's fixes): split over a cluster they also win
  // at d = 256 on 64 tiles (512 x 512 at 50% and 80%: 11.5 and 10.2 us against 12.5 and 11.5 for
  // the SIMT tile split, 11.8 for the flat kernel), and unsplit at d = 64 on 256 tiles at 40%
  // (512 x 2048: 9.4 against 10.2 for the SIMT tile), and at 10% and 20% (8.4 and 8.5 against
  // 9.6 and 9.8; harness-highest at 6693fb0); not at d = 64 on 64 tiles (512 x 512 at 50%: 8.5,
  // split 9.1, against 8.3).
  // Session 24 (harness at deec124): 8 warps of 32 x 16 beat 4 of 32 x 32 only split at d = 256
  // (512 x 512 at 50% and 80%: 10.17 and 9.09 us against 10.77 and 9.47); at d = 2048 split
  // (31.1 against 30.2) and unsplit on 256 tiles (84.8 against 82.0; d = 256: 16.1 against 15.8)
  // they lose: more warps a scheduler do not lift the 3xTF32 tile.
  const double split_tf32_min = tiles < num_sms ? 0.12 : 0.07;
  // Session 25 (harness at 3f0c4ea and b36f247, the transformer's 256-tile 2048 x 512 and
  // 512 x 2048 at 70% and 90%, 64-tile 512 x 512 at 50% and 80%): where the mma.sync tile would
  // run, the wgmma tile fed by TMA beats it
  // - with tiles for every SM: 3xTF32 from d = 512 (1.09x / 1.19x / 1.25x at d = 512 / 1024 /
  //   2048: 82.0 -> 65.5 us; 0.98x at 256), TF32 from d = 256 (1.13x, then 1.43x / 1.68x / 1.79x:
  //   51.8 -> 29.0 us; 0.95x at 64), 16-bit from d = 256 (1.3x, then 1.72x / 2.33x / 2.97x:
  //   52.9 -> 17.8 us; 1.0x at 64);
  // - on 64 tiles, against the mma.sync tile split over a cluster: 16-bit from d = 512 (1.0-1.22x),
  //   split too from d = 1024 (1.18-1.79x: 23.8 -> 13.3 us at 2048); TF32 split at d = 2048
  //   (1.08x / 1.18x; at 1024 0.94x / 1.04x); 3xTF32 never (0.6-0.98x; session 57 below).
  const bool sixteen_bit = element_bytes == 2;
  // Session 57 (harness at 5762ecd and feb3d55 in turn, H100, two rounds; session 56's LDS stages
  // had made the wgmma tile's 3xTF32 1.25x faster): 3xTF32 now pays
  // - on 256 tiles from d = 256: 1.14-1.20x (512 x 2048 at 60% and 90%, 2048 x 512 at 70%:
  //   15.3-15.9 -> 12.8-13.6 us); at d = 64 it loses (0.83-0.96x);
  // - on 256 tiles at 5% from d = 1024, under split_tf32_min (2048 x 512 at 95%, against the flat
  //   kernel: 31.6 -> 28.0 us at 1024, 56.7 -> 47.9 at 2048); at d = 256 the flat kernel holds;
  // - on 64 tiles split over a cluster at d = 2048: 1.28-1.29x (512 x 512 at 50% and 80%: 30.5 /
  //   29.1 -> 23.9 / 22.6 us against the mma.sync tile split); at d = 256 no (0.93-1.02x, also in
  //   2 output shares).
  const bool wgmma = can_wgmma && tiles >= num_sms && d >= 256;
  const bool wgmma_sparse = wgmma && d >= 1024 && density >= 0.045;
  const bool wgmma_split = can_split && (sixteen_bit ? d >= 1024 : d > 1024);
  const bool wgmma_few = can_wgmma && tiles < num_sms && mma_passes > 0 &&
                         (sixteen_bit ? d >= 512 : wgmma_split);
  const SddmmChoice wgmma_tile = {SddmmKernelKind::kWgmma, 1, {}, 64, 1, 1, 1};
  const SddmmChoice wgmma_few_tile = {SddmmKernelKind::kWgmma, wgmma_split ? 2 : 1, {}, 64, 1, 1};
  // The output's shares over 2 blocks a tile (TileBlock) where the tiles fill at most half the
  // SMs, hold many entries and d is short (session 23, harness at d545901, 512 x 512 = 64 tiles):
  // at 50%, d = 64, 1.09x (SIMT tile), 1.11x (TF32) and 1.13x (bfloat16), at d = 256 1.09x and
  // 1.06x on tensor cores; at 80% 0.97-1.01x; 4 shares slower everywhere (the d-loop four times).
  const int shares = tiles * 2 <= num_sms && d <= 256 && density >= 0.35 ? 2 : 1;
  // Session 44 (harness at 2363c3c, H100): at d = 64 on 64 tiles, 3xTF32 in 8 warps of 32 x 16
  // (with the shares above) beats the CUDA cores from 20% density: 512 x 512 at 50% 6.37-6.42 us
  // against 7.10-7.26 for the SIMT tile in 2 shares, at 30% 6.27-6.37 against 7.03, DLMC's 80%
  // pattern 6.13-6.18 against 6.75-6.89 for the flat kernel; at 15% the flat kernel wins (5.23
  // against 6.14), at 10% (4.81 against 6.05). 4 warps unshared took 8.17 at 50%. Session 45
  // (H200, the old and new harness in turn): 1.10-1.30x at d = 64, 1.15-1.32x at d = 128, on 64
  // and 96 tiles.
  const bool short_d_few_tiles = d >= 64 && d <= 128 && !many && density >= 0.18;
  if (mma_passes == 3 && tiles >= 48 && (density >= split_tf32_min || wgmma_sparse) &&
      (d >= 256 || (d >= 64 && many) || short_d_few_tiles)) {
    if (wgmma) return wgmma_tile;
    if (wgmma_few) return wgmma_few_tile;
    if (short_d_few_tiles) return {SddmmKernelKind::kMma, 1, {}, 64, 1, 2, shares, 8};
    const bool split = can_split && d >= 256 && tiles < num_sms;
    return {SddmmKernelKind::kMma, split ? 2 : 1, {}, 64, 1, 2, 1, split && d <= 256 ? 8 : 4};
  }
  // One k-group of 4 warps a tile with 128+ tiles at d <= 256, else two (session 22, harness at
  // b3da097, TF32, once the output's row search stopped serializing): one group 1.04-1.12x faster
  // on 512 x 2048 at 60% and 90%, d = 64 and 256; two 1.05-1.09x on 64 tiles (512 x 512 at 50%).
  const int mma_groups = many && d <= 256 ? 1 : 2;
  if (mma_passes == 1 && (d > 128 || short_d_mma) && tiles >= 48 && density >= mma_min)
    return wgmma       ? wgmma_tile
           : wgmma_few ? wgmma_few_tile
                       : SddmmChoice{SddmmKernelKind::kMma, mma_split ? 2 : 1, {}, 64, 1,
                                     mma_groups, mma_split ? 1 : shares};
  // d <= 256 on fewer than 128 tiles (session 21): the flat kernel with 4 lanes an entry beats the
  // SIMT tile on 512 x 512 at 10% and 20% (d = 64: 4.5 and 6.6 against 7.1 and 7.4 us; d = 256
  // at 20%: 11.4 against 14.5, tune-floors at 6507845), not at 50% (d = 64: 11.1 against 9.6).
  // For d > 256 on fewer than 128 tiles the split's 8% floor is gone: from 12% 3xTF32 comes
  // first, and under it the flat kernel beat them both (512 x 512 at 10%, d = 2048).
  const double simt_min = d <= 128   ? (many ? 0.09 : 0.3)
                          : d <= 256 ? (many ? 0.06 : 0.3)
                                     : (many ? 0.07 : 0.15);
  if (tiles >= 48 && density >= simt_min)
    return {SddmmKernelKind::kTile, simt_split ? 2 : 1, {}, 64, 1, 2, simt_split ? 1 : shares};
  if (long_rows) return {SddmmKernelKind::kRow, 1};
  return ChooseSddmmFlat(nnz, d, batch, num_sms);
}

// The default row-kernel shape for rows of d elements read kVec at a time: as
// narrow as d allows, up to 4 accesses (16 registers of lhs) a lane.
inline SddmmShape ChooseSddmmShape(int64_t d, int vec) {
  const int64_t accesses = (d + vec - 1) / vec;
  // 9-16 accesses (d = 64 in float32): 8 lanes x 2 beat 16 x 1 by 1.25-1.3x on
  // attention patterns (tune-sddmm, 8 heads): half the reduction shuffles.
  if (accesses > 8 && accesses <= 16) return {8, 2};
  for (int lanes = 4; lanes < 32; lanes *= 2)
    if (accesses <= lanes) return {lanes, 1};
  if (accesses <= 32) return {32, 1};
  if (accesses <= 64) return {32, 2};
  return {32, 4};
}

}  // namespace jsdl
