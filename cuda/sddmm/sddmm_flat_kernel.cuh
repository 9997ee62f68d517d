// SDDMM in CSR order: warp-tile t of the grid takes the kEntries = 32 / kLanes
// consecutive entries [kEntries t, kEntries t + kEntries) of the CSR order,
// whatever rows they belong to, and each group of kLanes lanes forms one
// entry's dot product.
//
// Why: the row kernel (sddmm_kernel.cuh) spends most of its instructions on
// shuffles, transposing reductions and per-entry address set-up, and idles
// lanes on short rows. Here every lane is busy on any row-length mix and empty
// rows cost nothing. With one lane an entry (kLanes = 1) a warp instruction
// advances 32 entries, but each lane reads its own rhs row: 32 cache lines a
// load. With kLanes > 1 a group reads kLanes consecutive vectors of one row
// (coalesced) and sums them with log2(kLanes) shuffles: fewer lines a load for
// long d. With kDSplit > 1 the block's warps share tiles and split d between
// them (long rows of d with few entries would leave most of the GPU idle),
// summing their partials through shared memory in a fixed order.
#pragma once

#include <cstdint>

#include "../common/dtype.cuh"
#include "../common/vec.cuh"
#include "../common/warp.cuh"
#include "sddmm_config.h"
#include "sddmm_kernel.cuh"

namespace jsdl {

// Block (32, kWarpsPerBlock); grid.x covers ceil(nnz / kEntries) / kTilesPerBlock
// blocks, grid.z the batch. d % kVec == 0 (the dispatch picks kVec = 1 else).
template <typename T, typename Config>
__global__ void __launch_bounds__(32 * Config::kWarpsPerBlock)
    SddmmFlatKernel(const SddmmArgs<T> args) {
  using A = Acc<T>;
  constexpr int kVec = Config::kVec;
  constexpr int kUnroll = Config::kUnroll;
  constexpr int kSplit = Config::kDSplit;
  constexpr int kLanes = Config::kLanes;
  const int lane = threadIdx.x;
  const int warp = threadIdx.y;
  const int split = warp % kSplit;
  const int sub = lane % kLanes;  // this lane's place in its entry's group
  const int64_t first =
      (static_cast<int64_t>(blockIdx.x) * Config::kTilesPerBlock + warp / kSplit) *
      Config::kEntries;
  const int64_t e = first + lane / kLanes;
  const bool active = e < args.nnz;  // the last block may hold tiles past nnz: all inactive
  const int64_t column = active ? __ldg(args.column_indices + e) : 0;
  // The row loads beside the column (clamped: any values keep the lhs read in bounds). Before
  // (session 59), a warp searched row_offsets for it: two dependent loads more for m <= 1024.
  const int64_t row =
      active ? min(max(int64_t{__ldg(args.entry_rows + e)}, int64_t{0}), args.m - 1) : 0;
  const int64_t d = args.d;
  const int64_t vecs = d / kVec;
  // A step: kLanes consecutive vectors, one a lane of the group. Chunks of
  // kUnroll steps are dealt round-robin to the splits; what is left after the
  // last whole chunk (at most kUnroll vectors a lane) goes to the next split.
  const int64_t chunks = vecs / kLanes / kUnroll;
  const int64_t rest = chunks * kUnroll * kLanes;
  const int rest_split = static_cast<int>(chunks % kSplit);
  __shared__ A partial[kSplit > 1 ? Config::kWarpsPerBlock : 1][32];

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[2];
    args.batch_map.Offsets(b, offset);
    const T* x = args.lhs + offset[kSddmmLhs] + row * d + sub * kVec;
    const T* y = args.rhs + offset[kSddmmRhs] + column * d + sub * kVec;
    A acc[kVec];
#pragma unroll
    for (int i = 0; i < kVec; ++i) acc[i] = A(0);
    if (active) {
      for (int64_t c = split; c < chunks; c += kSplit) {
        A xs[kUnroll][kVec], ys[kUnroll][kVec];
        const int64_t v0 = c * kUnroll * kLanes;
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {  // all loads in flight before any use
          LoadVec<T, kVec>(x + (v0 + u * kLanes) * kVec, xs[u]);
          LoadVec<T, kVec>(y + (v0 + u * kLanes) * kVec, ys[u]);
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
#pragma unroll
          for (int i = 0; i < kVec; ++i) acc[i] += xs[u][i] * ys[u][i];
      }
      if (split == rest_split) {
        A xs[kUnroll][kVec], ys[kUnroll][kVec];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int64_t v = rest + u * kLanes;
          const bool in = v + sub < vecs;
#pragma unroll
          for (int i = 0; i < kVec; ++i) xs[u][i] = ys[u][i] = A(0);
          if (in) {
            LoadVec<T, kVec>(x + v * kVec, xs[u]);
            LoadVec<T, kVec>(y + v * kVec, ys[u]);
          }
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
#pragma unroll
          for (int i = 0; i < kVec; ++i) acc[i] += xs[u][i] * ys[u][i];
      }
    }
    A dot = acc[0];
#pragma unroll
    for (int i = 1; i < kVec; ++i) dot += acc[i];
    dot = GroupSum<kLanes>(dot);
    if constexpr (kSplit > 1) {
      partial[warp][lane] = dot;
      __syncthreads();
      if (split == 0) {
#pragma unroll
        for (int s = 1; s < kSplit; ++s) dot += partial[warp + s][lane];
      }
      __syncthreads();  // partial is rewritten for the next batch member
    }
    if (active && split == 0 && sub == 0) args.out[b * args.nnz + e] = FromAcc<T>(dot);
  }
}

}  // namespace jsdl
