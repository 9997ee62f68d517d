// SpMM panel kernel: a block of kWarpsPerBlock x rows_per_warp sparse rows
// computes one column tile. The tile's whole dense panel (k rows x kTileCols
// columns) is copied into shared memory once (cp.async, 16-byte), then every
// row of the block multiplies against the shared copy. A dense element thus
// crosses L2 once per block instead of once per sparse entry. Unlike the
// removed staged kernel (docs/kernels.md) there are no k chunks: one barrier,
// no rescans of the rows, any column order. The launcher sizes the tile so the
// panel fits in shared memory; rows must be 16-byte aligned (n % kVec == 0).
#pragma once

#include <cstdint>

#include "spmm_config.h"
#include "spmm_tiles.cuh"

namespace jsdl {

// Block (32, kWarpsPerBlock), dynamic shared memory k * kTileCols elements.
// grid.x covers the m row slots in blocks of kWarpsPerBlock * rows_per_warp,
// grid.y the column tiles and grid.z the batch (both with stride loops).
template <typename T, typename Config>
__global__ void __launch_bounds__(32 * Config::kWarpsPerBlock)
    SpmmPanelKernel(const SpmmArgs<T> args, int rows_per_warp) {
  constexpr int kWarps = Config::kWarpsPerBlock;
  constexpr int kCopyVec = kVec16<T>;
  constexpr int kCopiesPerRow = Config::kTileCols / kCopyVec;
  static_assert(Config::kTileCols % kCopyVec == 0, "tile must be whole 16-byte copies");
  // One untyped declaration for every instantiation (typed extern shared
  // arrays of different types would clash).
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  auto* panel = reinterpret_cast<Vec<T, kCopyVec>*>(shared_bytes);
  const T* panel_elems = reinterpret_cast<const T*>(shared_bytes);

  const int lane = threadIdx.x;
  const int thread = threadIdx.y * kWarpSize + lane;
  // Rows interleaved over the warps, which take rows of similar length (the
  // slots are sorted by length), so the warps finish together.
  const int64_t slot0 = static_cast<int64_t>(blockIdx.x) * kWarps * rows_per_warp + threadIdx.y;

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const T* values = args.values + offset[kSpmmValues];
    const T* dense = args.dense + offset[kSpmmDense];

    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Config::kTileCols;
      const int64_t cols_left = args.n - col0;
      __syncthreads();  // the previous panel is no longer read
      CopyPanelAsync<T, kCopiesPerRow>(panel, dense, args, args.k, col0, cols_left, thread,
                                        kWarps * kWarpSize);
      CopyAsyncWaitAll();
      __syncthreads();

      for (int i = 0; i < rows_per_warp; ++i) {
        const int64_t slot = slot0 + static_cast<int64_t>(i) * kWarps;
        if (slot >= args.m) break;  // warp-uniform; the barriers are outside this loop
        const int64_t row = __ldg(args.row_indices + slot);
        SpmmAcc<T, Config> acc;
        ZeroAcc<T, Config>(acc);
        AccumulateRow<T, Config>(acc, values, args.column_indices, __ldg(args.row_offsets + row),
                                 __ldg(args.row_offsets + row + 1), panel_elems,
                                 Config::kTileCols, cols_left, lane);
        const Acc<T> bias =
            args.has_bias ? LoadAcc(args.bias + offset[kSpmmBias] + row) : Acc<T>(0);
        StoreOutputTile<T, Config>(acc, args.out + (b * args.m + row) * args.n + col0,
                                   cols_left, lane, bias, args.relu);
      }
    }
  }
}

}  // namespace jsdl
