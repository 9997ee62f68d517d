// SDDMM: out[b, e] = dot(lhs[b, i, :], rhs[b, col[e], :]) for each entry e of
// row i (A @ B^T sampled at the pattern).
#pragma once

#include <cstdint>

#include "../common/batch_map.cuh"
#include "../common/dtype.cuh"
#include "../common/vec.cuh"
#include "../common/warp.cuh"
#include "sddmm_config.h"

namespace jsdl {

enum SddmmOperand { kSddmmLhs = 0, kSddmmRhs = 1 };

// One batch item's operands and output.
template <typename T>
struct SddmmItem {
  const T* lhs;  // (m, d)
  const T* rhs;  // (k, d)
  T* out;        // (nnz,)
};

template <typename T>
struct SddmmArgs {
  const T* lhs;  // (*bl, m, d)
  const T* rhs;  // (*br, k, d)
  const int32_t* row_offsets;
  const int32_t* column_indices;
  const int32_t* row_indices;
  // The pattern's tile index (csr.py _tile_index), or null: tile t of the row-major
  // kTileIndexEdge-square tiles holds entries tile_entries[tile_offsets[t] ..
  // tile_offsets[t + 1]).
  const int32_t* tile_offsets;
  const int32_t* tile_entries;
  // The row of every entry (nnz): the flat kernel's and the tile outputs' rows.
  const int32_t* entry_rows;
  T* out;        // (*b, nnz)
  int64_t m, d, nnz;
  int64_t batch;
  BatchMap<2> batch_map;
  int64_t lhs_rows, rhs_rows;  // rows of d in the whole lhs / rhs buffers (the TMA maps' extent)

  // Batch item b (operands through their broadcast batch offsets).
  __device__ __forceinline__ SddmmItem<T> Item(int64_t b) const {
    int64_t offset[2];
    batch_map.Offsets(b, offset);
    return {lhs + offset[kSddmmLhs], rhs + offset[kSddmmRhs], out + b * nnz};
  }
};

// p[j] holds this lane's partial sum for entry j of its group (j < kLanes).
// Each step halves the values a lane keeps: the lane keeps the upper or lower
// half by its bit `width`, and receives its partner's partials of that half.
// At the end p[0] on lane `lig` is the full sum of entry `lig`.
template <int kLanes, typename A>
__device__ __forceinline__ A TransposeReduce(A (&p)[kLanes], int lig) {
#pragma unroll
  for (int width = kLanes / 2; width >= 1; width /= 2) {
    const bool upper = (lig & width) != 0;
#pragma unroll
    for (int j = 0; j < width; ++j) {
      const A send = upper ? p[j] : p[j + width];
      const A keep = upper ? p[j + width] : p[j];
      p[j] = keep + __shfl_xor_sync(kFullMask, send, width);
    }
  }
  return p[0];
}

// Block (32, kWarpsPerBlock); grid.x covers the row slots, grid.z the batch.
template <typename T, typename Config>
__global__ void SddmmKernel(const SddmmArgs<T> args) {
  using A = Acc<T>;
  constexpr int kLanes = Config::kLanesPerGroup;
  constexpr int kVec = Config::kVec;
  const int lane = threadIdx.x;
  const int group = lane / kLanes;
  const int lig = lane % kLanes;
  const int64_t slot =
      static_cast<int64_t>(blockIdx.x) * Config::kWarpsPerBlock + threadIdx.y;
  if (slot >= args.m) return;  // whole warp
  const int64_t row = __ldg(args.row_indices + slot);
  const int64_t start = __ldg(args.row_offsets + row);
  const int64_t end = __ldg(args.row_offsets + row + 1);
  const int64_t d = args.d;

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    const SddmmItem<T> item = args.Item(b);
    const T* lhs_row = item.lhs + row * d;
    const T* rhs = item.rhs;
    T* out = item.out;

    for (int64_t e0 = start; e0 < end; e0 += Config::kSparseTile) {
      // Lane l stages entry e0 + l's column; past the end, column 0 (valid
      // memory since nnz > 0 implies k > 0; its result is never stored).
      const int32_t staged_column =
          e0 + lane < end ? __ldg(args.column_indices + e0 + lane) : 0;
      A p[kLanes];
#pragma unroll
      for (int j = 0; j < kLanes; ++j) p[j] = A(0);

      for (int64_t c0 = 0; c0 < d; c0 += Config::kChunk) {
        // This lane's slice of the lhs row for this pass (zeros past d).
        A x[Config::kVecsPerLane][kVec];
        bool inside[Config::kVecsPerLane];
#pragma unroll
        for (int v = 0; v < Config::kVecsPerLane; ++v) {
          const int64_t idx = c0 + (v * kLanes + lig) * kVec;
          inside[v] = idx < d;  // kVec > 1 only when d % kVec == 0
          if (inside[v]) {
            LoadVec<T, kVec>(lhs_row + idx, x[v]);
          } else {
#pragma unroll
            for (int i = 0; i < kVec; ++i) x[v][i] = A(0);
          }
        }
#pragma unroll
        for (int j = 0; j < kLanes; ++j) {
          const int32_t column = __shfl_sync(kFullMask, staged_column, group * kLanes + j);
          const T* rhs_row = rhs + static_cast<int64_t>(column) * d + c0;
#pragma unroll
          for (int v = 0; v < Config::kVecsPerLane; ++v) {
            if (!inside[v]) continue;
            A y[kVec];
            LoadVec<T, kVec>(rhs_row + (v * kLanes + lig) * kVec, y);
#pragma unroll
            for (int i = 0; i < kVec; ++i) p[j] += x[v][i] * y[i];
          }
        }
      }
      const A dot = TransposeReduce<kLanes>(p, lig);
      const int64_t e = e0 + group * kLanes + lig;
      if (e < end) out[e] = FromAcc<T>(dot);
    }
  }
}

}  // namespace jsdl
