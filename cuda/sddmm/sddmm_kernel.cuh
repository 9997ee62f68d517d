// SDDMM: out[b, e] = dot(lhs[b, i, :], rhs[b, col[e], :]) for each entry e of
// row i (A @ B^T sampled at the pattern).
#pragma once

#include <cstdint>

#include "../common/batch_map.cuh"
#include "../common/dtype.cuh"
#include "../common/warp.cuh"
#include "sddmm_config.h"

namespace jsdl {

enum SddmmOperand { kSddmmLhs = 0, kSddmmRhs = 1 };

template <typename T>
struct SddmmArgs {
  const T* lhs;  // (*bl, m, d)
  const T* rhs;  // (*br, k, d)
  const int32_t* row_offsets;
  const int32_t* column_indices;
  const int32_t* row_indices;
  T* out;        // (*b, nnz)
  int64_t m, d, nnz;
  int64_t batch;
  BatchMap<2> batch_map;
};

// Partial dot product of this lane's slice of d (lanes of a group stride by
// kGroupWidth). The lhs slice comes from registers when it fits.
template <typename T, typename Config>
__device__ __forceinline__ Acc<T> PartialDot(const Acc<T> (&lhs_regs)[Config::kLhsRegs],
                                             bool lhs_in_regs, const T* lhs_row,
                                             const T* rhs_row, int64_t d,
                                             int group_lane) {
  Acc<T> acc = Acc<T>(0);
  if (lhs_in_regs) {
#pragma unroll
    for (int j = 0; j < Config::kLhsRegs; ++j) {
      const int64_t idx = group_lane + Config::kGroupWidth * j;
      if (idx < d) acc += lhs_regs[j] * LoadAcc(rhs_row + idx);
    }
  } else {
#pragma unroll 4
    for (int64_t idx = group_lane; idx < d; idx += Config::kGroupWidth)
      acc += LoadAcc(lhs_row + idx) * LoadAcc(rhs_row + idx);
  }
  return acc;
}

// Block (32, kWarpsPerBlock); grid.x covers the row slots, grid.z the batch.
template <typename T, typename Config>
__global__ void SddmmKernel(const SddmmArgs<T> args) {
  const int lane = threadIdx.x;
  const int group = lane / Config::kGroupWidth;
  const int group_lane = lane % Config::kGroupWidth;
  const int64_t slot =
      static_cast<int64_t>(blockIdx.x) * Config::kWarpsPerBlock + threadIdx.y;
  if (slot >= args.m) return;  // whole warp
  const int64_t row = __ldg(args.row_indices + slot);
  const int64_t start = __ldg(args.row_offsets + row);
  const int64_t end = __ldg(args.row_offsets + row + 1);
  if (start == end) return;  // no outputs for an empty row
  const bool lhs_in_regs = args.d <= Config::kGroupWidth * Config::kLhsRegs;

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[2];
    args.batch_map.Offsets(b, offset);
    const T* lhs_row = args.lhs + offset[kSddmmLhs] + row * args.d;
    const T* rhs = args.rhs + offset[kSddmmRhs];
    T* out = args.out + b * args.nnz;

    Acc<T> lhs_regs[Config::kLhsRegs];
#pragma unroll
    for (int j = 0; j < Config::kLhsRegs; ++j) {
      const int64_t idx = group_lane + Config::kGroupWidth * j;
      lhs_regs[j] = lhs_in_regs && idx < args.d ? LoadAcc(lhs_row + idx) : Acc<T>(0);
    }

    for (int64_t e0 = start; e0 < end; e0 += Config::kSparseTile) {
      // Stage up to 32 column indices, one per lane.
      const int32_t staged_column =
          e0 + lane < end ? __ldg(args.column_indices + e0 + lane) : 0;
      const int count = static_cast<int>(
          end - e0 < Config::kSparseTile ? end - e0 : Config::kSparseTile);
      // Uniform trip count: every lane joins each shuffle and reduction.
      for (int t0 = 0; t0 < count; t0 += Config::kGroups) {
        const int t = t0 + group;  // < 32 because 32 % kGroups == 0
        const bool valid = t < count;
        const int32_t column = __shfl_sync(kFullMask, staged_column, t);
        Acc<T> acc = Acc<T>(0);
        if (valid)
          acc = PartialDot<T, Config>(lhs_regs, lhs_in_regs, lhs_row,
                                      rhs + static_cast<int64_t>(column) * args.d,
                                      args.d, group_lane);
        acc = GroupSum<Config::kGroupWidth>(acc);
        if (valid && group_lane == 0) out[e0 + t] = FromAcc<T>(acc);
      }
    }
  }
}

}  // namespace jsdl
