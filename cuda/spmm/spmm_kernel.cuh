// SpMM: out[b, i, :] = relu?(sum_e values[b, e] * dense[b, col[e], :] + bias[b, i])
// over the entries e of row i. Structured as in Sputnik: stage a tile of the
// sparse row, multiply it against dense rows held in registers, store.
#pragma once

#include <cstdint>

#include "../common/batch_map.cuh"
#include "../common/dtype.cuh"
#include "../common/warp.cuh"
#include "spmm_config.h"

namespace jsdl {

// Operand order of the batch map.
enum SpmmOperand { kSpmmValues = 0, kSpmmDense = 1, kSpmmBias = 2 };

template <typename T>
struct SpmmArgs {
  const T* values;      // (*bv, nnz)
  const T* dense;       // (*bd, k, n)
  const T* bias;        // (*bb, m); unused unless has_bias
  const int32_t* row_offsets;
  const int32_t* column_indices;
  const int32_t* row_indices;
  T* out;               // (*b, m, n)
  int64_t m, n;
  int64_t batch;        // product of the output batch dims
  int64_t column_tiles;
  bool has_bias, relu;
  BatchMap<3> batch_map;
};

// Lane `lane` loads entry e0 + lane of the row (or a zero pair past its end).
template <typename T>
__device__ __forceinline__ void LoadSparseTile(const T* values,
                                               const int32_t* column_indices,
                                               int64_t e0, int64_t end, int lane,
                                               Acc<T>& value, int32_t& column) {
  const int64_t e = e0 + lane;
  value = e < end ? LoadAcc(values + e) : Acc<T>(0);
  column = e < end ? __ldg(column_indices + e) : 0;
}

// acc[j] += sum over the `count` staged pairs of value * dense[column, col0 + 32 j].
// count is warp-uniform, so every lane takes part in each shuffle.
template <typename T, typename Config>
__device__ __forceinline__ void AccumulateDense(Acc<T> (&acc)[Config::kColsPerLane],
                                                Acc<T> staged_value,
                                                int32_t staged_column, int count,
                                                const T* dense, int64_t n,
                                                int64_t col0) {
#pragma unroll 4
  for (int t = 0; t < count; ++t) {
    const Acc<T> value = __shfl_sync(kFullMask, staged_value, t);
    const int32_t column = __shfl_sync(kFullMask, staged_column, t);
    const T* dense_row = dense + static_cast<int64_t>(column) * n;
#pragma unroll
    for (int j = 0; j < Config::kColsPerLane; ++j) {
      const int64_t col = col0 + 32 * j;
      if (col < n) acc[j] += value * LoadAcc(dense_row + col);
    }
  }
}

// Epilogue: bias, relu (NaN stays NaN, like jnp.maximum), convert, store.
template <typename T, typename Config>
__device__ __forceinline__ void StoreOutput(T* out_row,
                                            const Acc<T> (&acc)[Config::kColsPerLane],
                                            Acc<T> bias, bool relu, int64_t n,
                                            int64_t col0) {
#pragma unroll
  for (int j = 0; j < Config::kColsPerLane; ++j) {
    const int64_t col = col0 + 32 * j;
    if (col < n) {
      Acc<T> r = acc[j] + bias;
      if (relu && r < Acc<T>(0)) r = Acc<T>(0);
      out_row[col] = FromAcc<T>(r);
    }
  }
}

// Block (32, kWarpsPerBlock). grid.x covers the m row slots, grid.y the
// column tiles and grid.z the batch (both with stride loops).
template <typename T, typename Config>
__global__ void SpmmKernel(const SpmmArgs<T> args) {
  const int lane = threadIdx.x;
  const int64_t slot =
      static_cast<int64_t>(blockIdx.x) * Config::kWarpsPerBlock + threadIdx.y;
  if (slot >= args.m) return;  // whole warp
  // Rows in order of decreasing length: long rows start first.
  const int64_t row = __ldg(args.row_indices + slot);
  const int64_t start = __ldg(args.row_offsets + row);
  const int64_t end = __ldg(args.row_offsets + row + 1);

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const T* values = args.values + offset[kSpmmValues];
    const T* dense = args.dense + offset[kSpmmDense];
    const Acc<T> bias =
        args.has_bias ? LoadAcc(args.bias + offset[kSpmmBias] + row) : Acc<T>(0);
    T* out_row = args.out + (b * args.m + row) * args.n;

    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Config::kTileCols + lane;
      Acc<T> acc[Config::kColsPerLane];
#pragma unroll
      for (int j = 0; j < Config::kColsPerLane; ++j) acc[j] = Acc<T>(0);

      for (int64_t e0 = start; e0 < end; e0 += Config::kSparseTile) {
        Acc<T> value;
        int32_t column;
        LoadSparseTile(values, args.column_indices, e0, end, lane, value, column);
        const int count = static_cast<int>(
            end - e0 < Config::kSparseTile ? end - e0 : Config::kSparseTile);
        AccumulateDense<T, Config>(acc, value, column, count, dense, args.n, col0);
      }
      StoreOutput<T, Config>(out_row, acc, bias, args.relu, args.n, col0);
    }
  }
}

}  // namespace jsdl
