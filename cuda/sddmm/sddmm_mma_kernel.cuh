// SDDMM on tensor cores: the tile kernel's design (a block computes a dense
// kBM x kBN tile of lhs @ rhs^T, then stores the tile's pattern entries) with
// the products on TF32 mma.sync instead of CUDA-core FMAs. For float32 that is
// TF32 rounding, allowed at precision DEFAULT and HIGH as in XLA's dot, or,
// at HIGHEST, 3xTF32 (kSplit: SplitTf32 in mma.cuh, three mmas a product, for
// float32's precision); for bfloat16 and float16 one mma is exact (their
// values are exact in TF32), so it serves them at every precision.
//
// Pieces: the operand tiles (SddmmOperandTile, rows kept as rows, rounded to
// TF32 on their way into shared memory, or kept whole for 3xTF32), the compute step (each warp a
// kWarpM x kWarpN block of 16 x 8 accumulator fragments), the output
// (StorePassEntries, as in the SIMT tile kernel).
#pragma once

#include <cstdint>
#include <type_traits>

#include "../common/dtype.cuh"
#include "../common/mma.cuh"
#include "../common/phase_clock.cuh"
#include "../common/warp.cuh"
#include "sddmm_config.h"
#include "sddmm_kernel.cuh"       // SddmmArgs, SddmmOperand
#include "sddmm_tile_kernel.cuh"  // SddmmOperandTile, StorePassEntries

namespace jsdl {

// Two stages of both operand tiles as TF32 bit patterns, rows padded by 4
// words: an ldmatrix block's 8 rows of 4 words fall in 32 distinct banks, and
// rows stay 16-byte aligned.
template <typename Config>
struct SddmmMmaShared {
  static constexpr int kStride = Config::kBK + 4;
  uint32_t lhs[2][Config::kBM][kStride];
  uint32_t rhs[2][Config::kBN][kStride];
};
template <typename Config>
constexpr size_t kSddmmMmaSmemBytes =
    sizeof(SddmmMmaShared<Config>) > sizeof(float) * Config::kPassRows * (Config::kBN + 1)
        ? sizeof(SddmmMmaShared<Config>)
        : sizeof(float) * Config::kPassRows * (Config::kBN + 1);

// One warp's share of a tile: a kWarpM x kWarpN block at (wm, wn) of kFragsM
// x kFragsN accumulator fragments of 16 x 8, over k-group wk's share of each
// slice (kBK / kWarpsK elements of d).
template <typename Config>
struct SddmmMmaWarp {
  static constexpr int kFragsM = Config::kFragsM, kFragsN = Config::kFragsN;
  static constexpr int kGroupWarps = Config::kWarpsM * Config::kWarpsN;
  static constexpr int kGroupK = Config::kBK / Config::kWarpsK;  // d elements a slice
  static_assert(kFragsN % 2 == 0, "B fragments load in pairs");
  static_assert(kGroupK % 8 == 0, "whole k-steps a group");
  int wm, wn, wk, lane;

  __device__ explicit SddmmMmaWarp(int tid)
      : wm(tid / kWarpSize % kGroupWarps / Config::kWarpsN * Config::kWarpM),
        wn(tid / kWarpSize % Config::kWarpsN * Config::kWarpN),
        wk(tid / kWarpSize / kGroupWarps),
        lane(tid % kWarpSize) {}

  // The fragments of k-step kk from operand rows of kStride words in shared
  // memory: one ldmatrix.x4 per A fragment (blocks: rows 0-7 and 8-15 at words
  // kk..kk+3, then at kk+4..kk+7) and per pair of B fragments (fragment j's
  // words kk.. and kk+4.., then fragment j+1's), lane l addressing row l % 8 of
  // block l / 8.
  template <int kStride>
  __device__ __forceinline__ void Load(uint32_t (&fa)[kFragsM][4], uint32_t (&fb)[kFragsN][2],
                                       const uint32_t (*lhs)[kStride],
                                       const uint32_t (*rhs)[kStride], int kk) const {
    const int q = lane / 8, r = lane % 8;
#pragma unroll
    for (int i = 0; i < kFragsM; ++i)
      LoadBlocksX4(fa[i], lhs[wm + i * 16 + (q & 1) * 8 + r] + kk + (q >> 1) * 4);
#pragma unroll
    for (int j = 0; j < kFragsN; j += 2) {
      uint32_t pair[4];
      LoadBlocksX4(pair, rhs[wn + (j + (q >> 1)) * 8 + r] + kk + (q & 1) * 4);
      fb[j][0] = pair[0], fb[j][1] = pair[1], fb[j + 1][0] = pair[2], fb[j + 1][1] = pair[3];
    }
  }

  // One kBK-deep slice of d from operand rows in shared memory into `sums`:
  // rows of TF32 bit patterns, or of float32 bits for 3xTF32 (Sums splits them).
  template <typename Sums, int kStride>
  __device__ __forceinline__ void MultiplySlice(Sums& sums, const uint32_t (*lhs)[kStride],
                                                const uint32_t (*rhs)[kStride]) const {
#pragma unroll
    for (int kk = 0; kk < kGroupK; kk += 8) {
      uint32_t fa[kFragsM][4], fb[kFragsN][2];
      Load(fa, fb, lhs, rhs, wk * kGroupK + kk);
      sums.Step(fa, fb);
    }
    sums.EndSlice();
  }

  // Sums the k-groups' accumulators into group 0's, through tile (the stages' bytes, free after
  // the d-loop's last barrier): group 1 puts its own, group 0 adds them. A no-op for one group.
  __device__ __forceinline__ void FoldGroups(float (&acc)[kFragsM][kFragsN][4],
                                             float (*tile)[Config::kBN + 1]) const {
    if constexpr (Config::kWarpsK > 1) {
      static_assert(Config::kWarpsK == 2 && Config::kPassRows == Config::kBM,
                    "two groups, one output pass");
      if (wk == 1) Put(acc, tile, 0);
      __syncthreads();
      if (wk == 0) Take(acc, tile);
      __syncthreads();  // tile is the output's next
    }
  }

  // acc += the tile's values at this warp's fragment positions.
  __device__ __forceinline__ void Take(float (&acc)[kFragsM][kFragsN][4],
                                       const float (*tile)[Config::kBN + 1]) const {
    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int i = 0; i < kFragsM; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int j = 0; j < kFragsN; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e)
            acc[i][j][2 * half + e] += tile[wm + i * 16 + half * 8 + g][wn + j * 8 + 2 * t + e];
  }

  // Writes the accumulators of tile rows [pass, pass + kPassRows) into dst, the output pass's
  // rows (StoreTileEntries).
  __device__ __forceinline__ void Put(const float (&acc)[kFragsM][kFragsN][4],
                                      float (*dst)[Config::kBN + 1], int pass) const {
    const int g = lane / 4, t = lane % 4;  // fragment row group and column (mma.cuh)
#pragma unroll
    for (int i = 0; i < kFragsM; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {  // fragment rows g and g + 8
        const int r = wm + i * 16 + half * 8 + g - pass;
        if (r < 0 || r >= Config::kPassRows) continue;
#pragma unroll
        for (int j = 0; j < kFragsN; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) dst[r][wn + j * 8 + 2 * t + e] = acc[i][j][2 * half + e];
      }
  }
};

// A warp's accumulator fragments. kSplit (float32 at HIGHEST): 3xTF32. The
// tensor cores' float32 accumulation truncates (measured: 6x SIMT's error
// over d = 2048), so a slice's big x big products accumulate in `part` and
// join `acc` by rounded float32 adds after each slice. The cross terms, about
// 2^-11 of them, accumulate in `cross` over the whole d (their truncation is
// far below float32's rounding) and join once, in Finish(), where finite: an
// infinite input (whose small part is NaN) must give big x big's +-inf or NaN,
// as float32 arithmetic does, not NaN always, and only an infinite or NaN
// product in the same output makes its cross terms non-finite. Joining the
// cross terms every slice too (sessions 18-22) cost 4 instructions an
// accumulator a slice, about 128 of the tiles' 546 (SASS).
template <typename Config, bool kSplit>
struct SddmmMmaSums {
  static constexpr int kFragsM = Config::kFragsM, kFragsN = Config::kFragsN;
  static constexpr int kSplitM = kSplit ? kFragsM : 1, kSplitN = kSplit ? kFragsN : 1;
  float acc[kFragsM][kFragsN][4] = {};
  float part[kSplitM][kSplitN][4] = {}, cross[kSplitM][kSplitN][4] = {};

  // One k-step: TF32 fragments, or float32 bits to split (kSplit).
  __device__ __forceinline__ void Step(uint32_t (&fa)[kFragsM][4], uint32_t (&fb)[kFragsN][2]) {
    if constexpr (kSplit) {
      uint32_t sa[kFragsM][4], sb[kFragsN][2];
#pragma unroll
      for (int i = 0; i < kFragsM; ++i) SplitTf32(fa[i], fa[i], sa[i]);
#pragma unroll
      for (int j = 0; j < kFragsN; ++j) SplitTf32(fb[j], fb[j], sb[j]);
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
#pragma unroll
        for (int j = 0; j < kFragsN; ++j) {
          MmaTf32(cross[i][j], sa[i], fb[j]);
          MmaTf32(cross[i][j], fa[i], sb[j]);
          MmaTf32(part[i][j], fa[i], fb[j]);
        }
    } else {
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
#pragma unroll
        for (int j = 0; j < kFragsN; ++j) MmaTf32(acc[i][j], fa[i], fb[j]);
    }
  }

  __device__ __forceinline__ void EndSlice() {
    if constexpr (kSplit) {
      EachSum([&](int i, int j, int e) {
        acc[i][j][e] += part[i][j][e];
        part[i][j][e] = 0.0f;
      });
    }
  }

  // After the d-loop: acc is the sums.
  __device__ __forceinline__ void Finish() {
    if constexpr (kSplit) {
      EachSum([&](int i, int j, int e) {
        if (isfinite(cross[i][j][e])) acc[i][j][e] += cross[i][j][e];
      });
    }
  }

 private:
  // f(i, j, e) for every accumulator.
  template <typename F>
  __device__ __forceinline__ static void EachSum(F f) {
#pragma unroll
    for (int i = 0; i < kFragsM; ++i)
#pragma unroll
      for (int j = 0; j < kFragsN; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) f(i, j, e);
  }
};

// Block kThreads (1-D); grid.x covers the row tiles of m, grid.y the column
// tiles of k times kParts times the shares (as in SddmmTileKernel), grid.z the batch (stride
// loop). kVec: elements per global load. kSplit (float32 at HIGHEST): 3xTF32
// (SddmmMmaSums), operands kept as float32 bits in shared memory.
template <typename T, typename Config, int kVec, int kParts, bool kSplit>
__global__ void __launch_bounds__(Config::kThreads, Config::kMinBlocks)
    SddmmMmaKernel(const SddmmArgs<T> args, int64_t k, int parts, int shares) {
  constexpr int kBM = Config::kBM, kBN = Config::kBN, kBK = Config::kBK;
  static_assert(kBK % 8 == 0, "whole k-steps of the m16n8k8 shape");
  static_assert(kBM % Config::kPassRows == 0, "whole output passes");
  static_assert(kParts == 1 || Config::kPassRows == kBM, "split tiles meet in one pass");
  __shared__ __align__(16) unsigned char smem_bytes[kSddmmMmaSmemBytes<Config>];
  auto& smem = *reinterpret_cast<SddmmMmaShared<Config>*>(smem_bytes);
  auto* tile_out = reinterpret_cast<float(*)[kBN + 1]>(smem_bytes);
  __shared__ TileEntryIndex<Config> entry_index;

  const int tid = threadIdx.x;
  const SddmmMmaWarp<Config> warp(tid);
  const TileBlock block = TileBlock::Here(parts, shares);  // parts == kParts
  const int64_t row0 = block.row_tile * kBM, col0 = block.col_tile * kBN;
  const int64_t slices = (args.d + kBK - 1) / kBK;
  JSDL_PHASE_CLOCK_AT(0);
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    const SddmmItem<T> item = args.Item(b);

    SddmmMmaSums<Config, kSplit> sums;
    SddmmOperandTile<T, Config, kBM, kVec> a;
    SddmmOperandTile<T, Config, kBN, kVec> w;
    // Rounded to TF32 for float32 at TF32 only: 16-bit values are exact in TF32 already.
    constexpr bool kRound = !kSplit && std::is_same_v<T, float>;
    const auto store = [&](int stage) {
      a.template StoreMmaRows<kRound>(smem.lhs[stage], tid);
      w.template StoreMmaRows<kRound>(smem.rhs[stage], tid);
    };
    const auto multiply = [&](int stage) {
      warp.MultiplySlice(sums, smem.lhs[stage], smem.rhs[stage]);
    };
    RunSlices<kBK>(a, w, item.lhs, item.rhs, args.m, k, args.d, row0, col0,
                   block.FirstSlice(slices), block.EndSlice(slices), tid, store, multiply,
                   [&] { entry_index.Load(args, k, row0, col0, b, tid); });
    JSDL_PHASE_CLOCK_AT(1);

    sums.Finish();
    warp.FoldGroups(sums.acc, tile_out);
    if constexpr (kParts > 1) {  // d split over a cluster: part 0 adds part 1's sums, stores
      constexpr int kGroupThreads = kWarpSize * SddmmMmaWarp<Config>::kGroupWarps;  // group 0's
      if (!AddPartnerSums<kGroupThreads>(block, sums.acc, smem_bytes, tid, warp.wk == 0)) continue;
    }
    const auto put = [&](float (*dst)[kBN + 1], int pass) {
      if (warp.wk == 0) warp.Put(sums.acc, dst, pass);
    };
    StoreTileEntries<T, Config>(args, item.out, tile_out, entry_index, k, row0, col0, block, tid,
                                put);
    JSDL_PHASE_CLOCK_AT(2);
  }
}

}  // namespace jsdl
