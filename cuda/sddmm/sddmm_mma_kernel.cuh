// SDDMM on tensor cores: the tile kernel's design (a block computes a dense
// kBM x kBN tile of lhs @ rhs^T, then stores the tile's pattern entries) with
// the products on TF32 mma.sync instead of CUDA-core FMAs. For float32 that is
// TF32 rounding, allowed at precision DEFAULT and HIGH as in XLA's dot; for
// bfloat16 and float16 it is exact (their values are exact in TF32), so it
// serves them at every precision.
//
// Pieces: the operand tiles, the compute step (MmaStep: each warp a kWarpM x
// kWarpN block of 16 x 8 accumulator fragments), the output (StoreMmaTile,
// through StorePassEntries as in the SIMT tile kernel). Two ways to stage the
// operands: SddmmMmaKernel (any dtype) loads a slice into registers while the
// previous one multiplies, rounding to TF32 on its way into shared memory;
// SddmmMmaAsyncKernel (float32, d % 4 == 0) keeps kStages - 1 slices in flight
// with cp.async and rounds at the fragments. A slice's loads take about a
// microsecond from L2, far longer than its products, so only the second kind
// keeps the tensor cores fed (kernels.md, "SDDMM on tensor cores").
#pragma once

#include <algorithm>
#include <cstdint>

#include "../common/async_copy.cuh"
#include "../common/dtype.cuh"
#include "../common/mma.cuh"
#include "../common/warp.cuh"
#include "sddmm_config.h"
#include "sddmm_kernel.cuh"       // SddmmArgs, SddmmOperand
#include "sddmm_tile_kernel.cuh"  // SddmmOperandTile, StorePassEntries

namespace jsdl {

// kStages stages of both operand tiles as rows of 32-bit words, padded by 4
// words: an ldmatrix block's 8 rows of 4 words fall in 32 distinct banks, and
// rows stay 16-byte aligned (cp.async and ldmatrix need it).
template <typename Config, int kStages>
struct SddmmMmaStages {
  static constexpr int kStride = Config::kBK + 4;
  uint32_t lhs[kStages][Config::kBM][kStride];
  uint32_t rhs[kStages][Config::kBN][kStride];
};
// The stages' bytes, or the output pass's (kPassRows rows of the dense tile, in
// the same bytes after the last slice), whichever is larger.
template <typename Config, int kStages>
constexpr size_t kSddmmMmaSmemBytes =
    sizeof(SddmmMmaStages<Config, kStages>) > sizeof(float) * Config::kPassRows * (Config::kBN + 1)
        ? sizeof(SddmmMmaStages<Config, kStages>)
        : sizeof(float) * Config::kPassRows * (Config::kBN + 1);

template <typename Config>
using SddmmMmaAcc = float[Config::kFragsM][Config::kFragsN][4];

// One k-step of 8 for a warp's fragments, from row-major tiles of 32-bit words.
// One ldmatrix.x4 per A fragment (blocks: rows 0-7 and 8-15 at words kk..kk+3,
// then at kk+4..kk+7) and per pair of B fragments (fragment j's words kk.. and
// kk+4.., then fragment j+1's), lane l addressing row l % 8 of block l / 8.
// kRound: the words are float32 still to be rounded to TF32.
template <typename Config, bool kRound, int kStride>
__device__ __forceinline__ void MmaStep(SddmmMmaAcc<Config>& acc, const uint32_t (*lhs)[kStride],
                                        const uint32_t (*rhs)[kStride], int kk, int wm, int wn,
                                        int lane) {
  constexpr int kFragsM = Config::kFragsM, kFragsN = Config::kFragsN;
  static_assert(kFragsN % 2 == 0, "B fragments load in pairs");
  uint32_t fa[kFragsM][4], fb[kFragsN][2];
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
  if constexpr (kRound) {
#pragma unroll
    for (int i = 0; i < kFragsM; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) fa[i][e] = ToTf32(__uint_as_float(fa[i][e]));
#pragma unroll
    for (int j = 0; j < kFragsN; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) fb[j][e] = ToTf32(__uint_as_float(fb[j][e]));
  }
#pragma unroll
  for (int i = 0; i < kFragsM; ++i)
#pragma unroll
    for (int j = 0; j < kFragsN; ++j) MmaTf32(acc[i][j], fa[i], fb[j]);
}

// Output: the accumulators into shared memory (tile_out, the stages' bytes,
// free after the last barrier), kPassRows tile rows at a time, then the tile's
// entries.
template <typename T, typename Config>
__device__ __forceinline__ void StoreMmaTile(const SddmmArgs<T>& args, T* out,
                                             const SddmmMmaAcc<Config>& acc,
                                             float (*tile_out)[Config::kBN + 1],
                                             int32_t* pass_offsets, int64_t row0, int64_t col0,
                                             int wm, int wn, int lane, int tid) {
  const int g = lane / 4, t = lane % 4;  // fragment row group and column (mma.cuh)
#pragma unroll
  for (int pass = 0; pass < Config::kBM; pass += Config::kPassRows) {
#pragma unroll
    for (int i = 0; i < Config::kFragsM; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {  // fragment rows g and g + 8
        const int r = wm + i * 16 + half * 8 + g - pass;
        if (r < 0 || r >= Config::kPassRows) continue;
#pragma unroll
        for (int j = 0; j < Config::kFragsN; ++j) {
          tile_out[r][wn + j * 8 + 2 * t] = acc[i][j][2 * half];
          tile_out[r][wn + j * 8 + 2 * t + 1] = acc[i][j][2 * half + 1];
        }
      }
    StorePassEntries<T, Config>(args, out, tile_out, pass_offsets, row0 + pass, col0, tid);
  }
}

// Block kThreads (1-D); grid.x covers the row tiles of m, grid.y the column
// tiles of k, grid.z the batch (stride loop). kVec: elements per global load.
template <typename T, typename Config, int kVec>
__global__ void __launch_bounds__(Config::kThreads, Config::kMinBlocks)
    SddmmMmaKernel(const SddmmArgs<T> args, int64_t k) {
  constexpr int kBM = Config::kBM, kBN = Config::kBN, kBK = Config::kBK;
  static_assert(kBK % 8 == 0, "whole k-steps of the m16n8k8 shape");
  static_assert(kBM % Config::kPassRows == 0, "whole output passes");
  using Stages = SddmmMmaStages<Config, 2>;
  __shared__ __align__(16) unsigned char smem_bytes[kSddmmMmaSmemBytes<Config, 2>];
  auto& smem = *reinterpret_cast<Stages*>(smem_bytes);
  __shared__ int32_t pass_offsets[Config::kPassRows + 1];

  const int tid = threadIdx.x, warp = tid / kWarpSize, lane = tid % kWarpSize;
  const int wm = warp / Config::kWarpsN * Config::kWarpM;
  const int wn = warp % Config::kWarpsN * Config::kWarpN;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kBM;
  const int64_t col0 = static_cast<int64_t>(blockIdx.y) * kBN;
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[2];
    args.batch_map.Offsets(b, offset);
    const T* lhs = args.lhs + offset[kSddmmLhs];
    const T* rhs = args.rhs + offset[kSddmmRhs];

    SddmmMmaAcc<Config> acc = {};
    SddmmOperandTile<T, Config, kBM, kVec> a;
    SddmmOperandTile<T, Config, kBN, kVec> w;
    const auto store = [&](int stage) {
      a.StoreTf32Rows(smem.lhs[stage], tid);
      w.StoreTf32Rows(smem.rhs[stage], tid);
    };
    const auto multiply = [&](int stage) {
#pragma unroll
      for (int kk = 0; kk < kBK; kk += 8)
        MmaStep<Config, false>(acc, smem.lhs[stage], smem.rhs[stage], kk, wm, wn, lane);
    };
    RunSlices<kBK>(a, w, lhs, rhs, args.m, k, args.d, row0, col0, tid, store, multiply);
    StoreMmaTile<T, Config>(args, args.out + b * args.nnz, acc,
                            reinterpret_cast<float(*)[kBN + 1]>(smem_bytes), pass_offsets, row0,
                            col0, wm, wn, lane, tid);
  }
}

// Rows [row0, row0 + kRows) x d-slice [d0, d0 + kBK) of a row-major float32
// (rows, d) operand into shared-memory rows by 16-byte cp.async (d % 4 == 0:
// a copy never straddles a row's end), zeros outside the operand.
template <typename Config, int kRows, int kStride>
__device__ __forceinline__ void CopySliceAsync(uint32_t (*dst)[kStride], const float* base,
                                               int64_t rows, int64_t d, int64_t row0, int64_t d0,
                                               int tid) {
  constexpr int kPerRow = Config::kBK / 4;
  static_assert(kRows * kPerRow % Config::kThreads == 0, "whole copies per thread");
#pragma unroll
  for (int i = 0; i < kRows * kPerRow / Config::kThreads; ++i) {
    const int idx = tid + i * Config::kThreads;
    const int r = idx / kPerRow, c = idx % kPerRow * 4;
    const bool inside = row0 + r < rows && d0 + c < d;
    CopyAsync16(dst[r] + c, inside ? base + (row0 + r) * d + d0 + c : base, inside);
  }
}

// Blocks of the cp.async kernel an SM can hold, given its stages' bytes (of
// 228 KB of shared memory an SM; 1 KB a block is reserved): the registers
// a thread may use follow from it.
template <typename Config>
constexpr int kSddmmMmaAsyncBlocks =
    std::min<int>(Config::kMinBlocks,
                  228 * 1024 / (kSddmmMmaSmemBytes<Config, Config::kStages> + 1024));

// float32 with d % 4 == 0: the slices stream through Config::kStages stages of
// dynamic shared memory (kSddmmMmaSmemBytes<Config, Config::kStages> bytes);
// grid as SddmmMmaKernel's.
template <typename Config>
__global__ void __launch_bounds__(Config::kThreads, kSddmmMmaAsyncBlocks<Config>)
    SddmmMmaAsyncKernel(const SddmmArgs<float> args, int64_t k) {
  constexpr int kBM = Config::kBM, kBN = Config::kBN, kBK = Config::kBK;
  constexpr int kStages = Config::kStages;
  static_assert(kBK % 8 == 0 && kStages >= 2, "whole k-steps, a slice in flight");
  using Stages = SddmmMmaStages<Config, kStages>;
  extern __shared__ __align__(16) unsigned char sddmm_mma_stages[];
  auto& smem = *reinterpret_cast<Stages*>(sddmm_mma_stages);
  __shared__ int32_t pass_offsets[Config::kPassRows + 1];

  const int tid = threadIdx.x, warp = tid / kWarpSize, lane = tid % kWarpSize;
  const int wm = warp / Config::kWarpsN * Config::kWarpM;
  const int wn = warp % Config::kWarpsN * Config::kWarpN;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kBM;
  const int64_t col0 = static_cast<int64_t>(blockIdx.y) * kBN;
  const int64_t slices = (args.d + kBK - 1) / kBK;
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[2];
    args.batch_map.Offsets(b, offset);
    const float* lhs = args.lhs + offset[kSddmmLhs];
    const float* rhs = args.rhs + offset[kSddmmRhs];
    // Slice s goes to stage s % kStages; every thread commits one group per
    // slice (empty past the end), so the wait below counts alike everywhere.
    const auto issue = [&](int64_t s) {
      if (s < slices) {
        const int stage = static_cast<int>(s % kStages);
        CopySliceAsync<Config, kBM>(smem.lhs[stage], lhs, args.m, args.d, row0, s * kBK, tid);
        CopySliceAsync<Config, kBN>(smem.rhs[stage], rhs, k, args.d, col0, s * kBK, tid);
      }
      CopyAsyncCommit();
    };

    SddmmMmaAcc<Config> acc = {};
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) issue(s);
    for (int64_t s = 0; s < slices; ++s) {
      CopyAsyncWait<kStages - 2>();  // slice s has landed (this thread's part)
      __syncthreads();               // ... everyone's; and slice s - 1's stage is free
      issue(s + kStages - 1);
      const int stage = static_cast<int>(s % kStages);
#pragma unroll
      for (int kk = 0; kk < kBK; kk += 8)
        MmaStep<Config, true>(acc, smem.lhs[stage], smem.rhs[stage], kk, wm, wn, lane);
    }
    CopyAsyncWait<0>();  // only empty groups remain; the output pass reuses the bytes
    __syncthreads();
    StoreMmaTile<float, Config>(args, args.out + b * args.nnz, acc,
                                reinterpret_cast<float(*)[kBN + 1]>(sddmm_mma_stages),
                                pass_offsets, row0, col0, wm, wn, lane, tid);
  }
}

}  // namespace jsdl
