// SpMM gather kernel: a warp computes a column tile of rows_per_warp sparse
// rows, one after the other. It stages 32 (value, column) pairs of a row, one
// per lane, and hands them out by shuffle; each group multiplies its entries
// against dense rows read straight from global memory. A block's warps share
// the column tile, so with a tile narrow enough for the tile's dense strip
// (k x tile columns) to stay in L1, dense rows are re-read from L1, not L2.
// Handles every dtype, every n and any column order.
#pragma once

#include <cstdint>

#include "spmm_config.h"
#include "spmm_tiles.cuh"

namespace jsdl {

// All column tiles (of this block's grid.y stride) and batch items of one row.
template <typename T, typename Config>
__device__ __forceinline__ void SpmmGatherRow(const SpmmArgs<T>& args, int64_t row) {
  const int lane = threadIdx.x;
  const int64_t start = __ldg(args.row_offsets + row);
  const int64_t end = __ldg(args.row_offsets + row + 1);

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const T* values = args.values + offset[kSpmmValues];
    const T* dense = args.dense + offset[kSpmmDense];
    const Acc<T> bias =
        args.has_bias ? LoadAcc(args.bias + offset[kSpmmBias] + row) : Acc<T>(0);

    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Config::kTileCols;
      const int64_t cols_left = args.n - col0;
      SpmmAcc<T, Config> acc;
      ZeroAcc<T, Config>(acc);
      AccumulateRow<T, Config, Config::kRowBatch>(acc, values, args.column_indices, start, end,
                                                  dense + col0, args.n, cols_left, lane);
      StoreOutputTile<T, Config>(acc, args.out + (b * args.m + row) * args.n + col0,
                                 cols_left, lane, bias, args.relu);
    }
  }
}

// Block (32, warps): the block height is a launch choice (taller blocks put
// more rows of one column tile on an SM, for L1 re-use of its dense strip),
// capped by the launcher at what the kernel's registers allow.
// grid.x covers the m row slots in blocks of warps * rows_per_warp, grid.y
// the column tiles and grid.z the batch (both with stride loops).
template <typename T, typename Config>
__global__ void SpmmGatherKernel(const SpmmArgs<T> args, int rows_per_warp) {
  const int64_t warps = blockDim.y;
  const int64_t slot0 = static_cast<int64_t>(blockIdx.x) * warps * rows_per_warp + threadIdx.y;
  for (int i = 0; i < rows_per_warp; ++i) {
    const int64_t slot = slot0 + static_cast<int64_t>(i) * warps;
    if (slot >= args.m) return;  // whole warp
    SpmmGatherRow<T, Config>(args, __ldg(args.row_indices + slot));
  }
}

}  // namespace jsdl
