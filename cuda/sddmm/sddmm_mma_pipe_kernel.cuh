// SDDMM on tensor cores for long d in float32: the tensor-core tile kernel
// (sddmm_mma_kernel.cuh) with its operand slices copied by cp.async, several in
// flight, and (at TF32) a larger tile; TF32 at precision DEFAULT or HIGH, or
// 3xTF32 at HIGHEST (kSplit).
//
// Why (docs/kernels.md, "SDDMM: pipelined tensor-core tiles"): with 64 x 64
// tiles every product's two operand elements come from L2 once per 64 uses,
// and the register-staged loop keeps one 32-deep slice in flight; at d = 2048
// the 64 x 64 kernel moves about 4.3 TB/s out of L2 and waits on it. A 128 x
// 128 tile halves the bytes per product, and kStages - 1 slices in flight
// keep more bytes on the way. Float32 bits land in shared memory as they are
// and round to TF32 (cvt.rna, as the other kernel rounds on its stores) or
// split (3xTF32) when a fragment is loaded, so both kernels multiply the same
// values in the same order.
#pragma once

#include <cstdint>

#include "../common/async_copy.cuh"
#include "../common/mma.cuh"
#include "../common/warp.cuh"
#include "sddmm_config.h"
#include "sddmm_kernel.cuh"       // SddmmArgs
#include "sddmm_mma_kernel.cuh"   // SddmmMmaWarp, SddmmMmaSums
#include "sddmm_tile_kernel.cuh"  // TileBlock, StoreTileEntries

namespace jsdl {

// Dynamic shared memory: kStages stages of lhs rows then rhs rows, rows of kBK
// words padded by 4 (16-byte aligned, ldmatrix conflict-free as in
// SddmmMmaShared); after the d-loop the same bytes hold the output tile.
template <typename Config>
struct SddmmMmaPipeLayout {
  static constexpr int kStride = Config::kBK + 4;
  static constexpr int kStageWords = (Config::kBM + Config::kBN) * kStride;
  static constexpr size_t kStageBytes = sizeof(uint32_t) * Config::kStages * kStageWords;
  static constexpr size_t kOutBytes = sizeof(float) * Config::kPassRows * (Config::kBN + 1);
  static constexpr size_t kBytes = kStageBytes > kOutBytes ? kStageBytes : kOutBytes;
};

// Rows [row0, row0 + kRows) x d-slice [d0, d0 + kBK) of a row-major (rows, d)
// float32 operand into dst, 16 bytes a copy (d % 4 == 0, so no copy straddles
// a row's end); zeros outside the operand. Consecutive threads copy
// consecutive 16-byte pieces of a row.
template <typename Config, int kRows>
__device__ __forceinline__ void CopySliceAsync(uint32_t (*dst)[SddmmMmaPipeLayout<Config>::kStride],
                                               const float* base, int64_t rows, int64_t d,
                                               int64_t row0, int64_t d0, int tid) {
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

// Block kThreads (1-D), grid as SddmmMmaKernel's (kParts > 1: d split over a
// cluster). Needs d % 4 == 0 and 16-byte aligned operands (the launcher's
// check).
template <typename Config, int kParts, bool kSplit>
__global__ void __launch_bounds__(Config::kThreads, Config::kMinBlocks)
    SddmmMmaPipeKernel(const SddmmArgs<float> args, int64_t k, int parts) {
  using Layout = SddmmMmaPipeLayout<Config>;
  constexpr int kBM = Config::kBM, kBN = Config::kBN, kBK = Config::kBK;
  constexpr int kStages = Config::kStages, kStride = Layout::kStride;
  static_assert(kBK % 8 == 0, "whole k-steps of the m16n8k8 shape");
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  auto* stages = reinterpret_cast<uint32_t(*)[kStride]>(smem_bytes);  // stage s: rows s * (kBM + kBN)..
  auto* tile_out = reinterpret_cast<float(*)[kBN + 1]>(smem_bytes);
  __shared__ int32_t pass_offsets[Config::kPassRows + 1];

  const int tid = threadIdx.x;
  const SddmmMmaWarp<Config> warp(tid);
  const TileBlock block = TileBlock::Here(parts);  // == kParts
  const int64_t row0 = block.row_tile * kBM, col0 = block.col_tile * kBN;
  const int64_t slices = (args.d + kBK - 1) / kBK;
  const int64_t first = block.FirstSlice(slices), end = block.EndSlice(slices);
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    const SddmmItem<float> item = args.Item(b);
    const auto copy = [&](int64_t s, int stage) {
      auto* lhs = stages + stage * (kBM + kBN);
      CopySliceAsync<Config, kBM>(lhs, item.lhs, args.m, args.d, row0, s * kBK, tid);
      CopySliceAsync<Config, kBN>(lhs + kBM, item.rhs, k, args.d, col0, s * kBK, tid);
    };
    // Slices first.. go to stages 0.. in turn; one commit group a slice (empty
    // past the end), so that waiting for all but kStages - 2 groups means the
    // slice about to be multiplied has landed.
#pragma unroll
    for (int i = 0; i < kStages - 1; ++i) {
      if (first + i < end) copy(first + i, i);
      CopyAsyncCommit();
    }
    SddmmMmaSums<Config, kSplit> sums;
    for (int64_t s = first; s < end; ++s) {
      const int stage = static_cast<int>((s - first) % kStages);
      CopyAsyncWait<kStages - 2>();
      __syncthreads();  // slice s visible to all; slice s - 1's stage free to refill
      if (s + kStages - 1 < end) copy(s + kStages - 1, (stage + kStages - 1) % kStages);
      CopyAsyncCommit();
      const auto* lhs = stages + stage * (kBM + kBN);
      warp.template MultiplySlice<!kSplit>(sums, lhs, lhs + kBM);
    }
    CopyAsyncWait<0>();  // only empty groups remain, but none may land in tile_out
    __syncthreads();     // every warp's last fragments read before tile_out reuses the stages

    const auto put = [&](float (*dst)[kBN + 1], int pass, bool add) {
      warp.Put(sums.acc, dst, pass, add);
    };
    StoreTileEntries<float, Config, kParts>(args, item.out, tile_out, pass_offsets, block, k,
                                            row0, col0, tid, put);
  }
}

}  // namespace jsdl
