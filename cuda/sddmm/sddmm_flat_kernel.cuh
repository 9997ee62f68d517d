// SDDMM, one lane per entry: warp-tile t of the grid takes the 32 consecutive
// entries [32 t, 32 t + 32) of the CSR order, whatever rows they belong to,
// and each lane forms its own entry's whole dot product.
//
// Why: the row kernel (sddmm_kernel.cuh) spends most of its instructions on
// shuffles, transposing reductions and per-entry address set-up, and idles
// lanes on short rows. Here a warp instruction advances 32 entries at once,
// there is nothing to reduce, every lane is busy on any row-length mix, and
// empty rows cost nothing. The lhs row is re-read per lane, but lanes of one
// row read the same address (one broadcast request, L1 hits after the first).
// With kDSplit > 1 the block's warps share tiles and split d between them
// (long rows of d with few entries would leave most of the GPU idle),
// summing their partials through shared memory in a fixed order.
#pragma once

#include <cstdint>

#include "../common/dtype.cuh"
#include "../common/vec.cuh"
#include "sddmm_config.h"
#include "sddmm_kernel.cuh"

namespace jsdl {

// The row holding entry e: the last r with row_offsets[r] <= e (skips empty
// rows). The result lies in [0, m - 1] whatever the offsets hold, so the lhs
// row read from it stays in bounds even for an unvalidated pattern.
__device__ __forceinline__ int64_t RowOfEntry(const int32_t* row_offsets, int64_t m,
                                              int64_t e) {
  int64_t lo = 0, hi = m - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) >> 1;
    if (__ldg(row_offsets + mid) <= e) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// Block (32, kWarpsPerBlock); grid.x covers ceil(nnz / 32) / kTilesPerBlock
// blocks, grid.z the batch. d % kVec == 0 (the dispatch picks kVec = 1 else).
template <typename T, typename Config>
__global__ void __launch_bounds__(32 * Config::kWarpsPerBlock)
    SddmmFlatKernel(const SddmmArgs<T> args) {
  using A = Acc<T>;
  constexpr int kVec = Config::kVec;
  constexpr int kUnroll = Config::kUnroll;
  constexpr int kSplit = Config::kDSplit;
  const int lane = threadIdx.x;
  const int warp = threadIdx.y;
  const int split = warp % kSplit;
  const int64_t e =
      (static_cast<int64_t>(blockIdx.x) * Config::kTilesPerBlock + warp / kSplit) * 32 + lane;
  const bool active = e < args.nnz;
  const int64_t row = active ? RowOfEntry(args.row_offsets, args.m, e) : 0;
  const int64_t column = active ? __ldg(args.column_indices + e) : 0;
  const int64_t d = args.d;
  const int64_t vecs = d / kVec;
  // Chunks of kUnroll vectors are dealt round-robin to the splits; the last
  // vecs % kUnroll vectors go to split 0.
  const int64_t full_end = vecs - vecs % kUnroll;
  __shared__ A partial[kSplit > 1 ? Config::kWarpsPerBlock : 1][32];

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[2];
    args.batch_map.Offsets(b, offset);
    const T* x = args.lhs + offset[kSddmmLhs] + row * d;
    const T* y = args.rhs + offset[kSddmmRhs] + column * d;
    A acc[kVec];
#pragma unroll
    for (int i = 0; i < kVec; ++i) acc[i] = A(0);
    if (active) {
      for (int64_t v = split * kUnroll; v < full_end; v += kSplit * kUnroll) {
        A xs[kUnroll][kVec], ys[kUnroll][kVec];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {  // all loads in flight before any use
          LoadVec<T, kVec>(x + (v + u) * kVec, xs[u]);
          LoadVec<T, kVec>(y + (v + u) * kVec, ys[u]);
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
#pragma unroll
          for (int i = 0; i < kVec; ++i) acc[i] += xs[u][i] * ys[u][i];
      }
      if (split == 0) {
        for (int64_t v = full_end; v < vecs; ++v) {
          A xs[kVec], ys[kVec];
          LoadVec<T, kVec>(x + v * kVec, xs);
          LoadVec<T, kVec>(y + v * kVec, ys);
#pragma unroll
          for (int i = 0; i < kVec; ++i) acc[i] += xs[i] * ys[i];
        }
      }
    }
    A dot = acc[0];
#pragma unroll
    for (int i = 1; i < kVec; ++i) dot += acc[i];
    if constexpr (kSplit > 1) {
      partial[warp][lane] = dot;
      __syncthreads();
      if (split == 0) {
#pragma unroll
        for (int s = 1; s < kSplit; ++s) dot += partial[warp + s][lane];
      }
      __syncthreads();  // partial is rewritten for the next batch member
    }
    if (active && split == 0) args.out[b * args.nnz + e] = FromAcc<T>(dot);
  }
}

}  // namespace jsdl
