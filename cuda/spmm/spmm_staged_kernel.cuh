// SpMM staged kernel: a block of kRowsPerBlock sparse rows (8 warps, each
// kRowsPerWarp rows) computes one column tile. The dense rows of the tile are
// copied to shared memory kChunkRows at a time; for each chunk every warp
// scans its rows, compacts the entries whose column falls in the chunk (ballot
// + prefix count, so any column order works) and multiplies them against the
// shared copy. Each dense element then crosses L2 once per block instead of
// once per sparse entry.
#pragma once

#include <cstdint>

#include "../common/async_copy.cuh"
#include "spmm_config.h"
#include "spmm_tiles.cuh"

namespace jsdl {

// Block (32, kWarpsPerBlock). grid.x covers m in blocks of kRowsPerBlock row
// slots, grid.y the column tiles, grid.z the batch (stride loops for y and z).
template <typename T, typename Config>
__global__ void __launch_bounds__(32 * Config::kWarpsPerBlock, 2)
    SpmmStagedKernel(const SpmmArgs<T> args) {
  constexpr int kWarps = Config::kWarpsPerBlock;
  constexpr int kRows = Config::kRowsPerWarp;
  constexpr int kGroups = Config::kGroups;
  constexpr int kChunkRows = Config::template kChunkRows<T>;
  constexpr int kCopyVec = kVec16<T>;  // elements per 16-byte copy
  constexpr int kCopiesPerRow = Config::kTileCols / kCopyVec;
  static_assert(Config::kTileCols % kCopyVec == 0, "tile must be whole 16-byte copies");

  __shared__ Vec<T, kCopyVec> chunk[kChunkRows * kCopiesPerRow];
  __shared__ Acc<T> staged_value[kWarps][Config::kSparseTile];
  __shared__ int32_t staged_row[kWarps][Config::kSparseTile];  // row in the chunk

  const int lane = threadIdx.x;
  const int warp = threadIdx.y;
  const int thread = warp * 32 + lane;
  const int group = lane / Config::kLanesPerGroup;
  const int lig = lane % Config::kLanesPerGroup;
  const unsigned lanes_below = (1u << lane) - 1u;

  // This warp's rows: slots slot0 + i * kWarps (interleaved so that the
  // warps, which take rows of similar length, finish together).
  const int64_t slot0 = static_cast<int64_t>(blockIdx.x) * Config::kRowsPerBlock + warp;
  int32_t start[kRows], end[kRows];
  int32_t max_len = 0;  // warp-uniform
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int64_t slot = slot0 + i * kWarps;
    start[i] = end[i] = 0;
    if (slot < args.m) {
      const int32_t row = __ldg(args.row_indices + slot);
      start[i] = __ldg(args.row_offsets + row);
      end[i] = __ldg(args.row_offsets + row + 1);
    }
    max_len = max(max_len, end[i] - start[i]);
  }

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const T* values = args.values + offset[kSpmmValues];
    const T* dense = args.dense + offset[kSpmmDense];

    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Config::kTileCols;
      const int64_t cols_left = args.n - col0;
      SpmmAcc<T, Config> acc[kRows];
#pragma unroll
      for (int i = 0; i < kRows; ++i) ZeroAcc<T, Config>(acc[i]);

      for (int64_t k0 = 0; k0 < args.k; k0 += kChunkRows) {
        const int rows_here =
            static_cast<int>(args.k - k0 < kChunkRows ? args.k - k0 : kChunkRows);
        __syncthreads();  // the previous chunk is no longer read
        for (int v = thread; v < rows_here * kCopiesPerRow; v += 32 * kWarps) {
          const int r = v / kCopiesPerRow;
          const int c = (v % kCopiesPerRow) * kCopyVec;
          const bool inside = c < cols_left;  // zero-fill past n
          const T* src = inside ? dense + (k0 + r) * args.n + col0 + c : dense;
          CopyAsync16(&chunk[v], src, inside);
        }
        CopyAsyncWaitAll();
        __syncthreads();
        const T* chunk_elems = reinterpret_cast<const T*>(chunk);

        // Tiles of 32 entries, all of the warp's rows at once: their loads are
        // independent, so kRows of them are in flight instead of one.
        for (int32_t t0 = 0; t0 < max_len; t0 += Config::kSparseTile) {
          int32_t r[kRows];
          Acc<T> v[kRows];
#pragma unroll
          for (int i = 0; i < kRows; ++i) {
            const int32_t e = start[i] + t0 + lane;
            r[i] = -1;
            v[i] = Acc<T>(0);
            if (e < end[i]) {
              r[i] = static_cast<int32_t>(__ldg(args.column_indices + e) - k0);
              v[i] = LoadAcc(values + e);
            }
          }
#pragma unroll
          for (int i = 0; i < kRows; ++i) {
            // Compact the entries that fall in the chunk.
            const bool in_chunk = static_cast<unsigned>(r[i]) < static_cast<unsigned>(rows_here);
            const unsigned mask = __ballot_sync(kFullMask, in_chunk);
            if (mask == 0u) continue;  // warp-uniform
            if (in_chunk) {
              const int pos = __popc(mask & lanes_below);
              staged_value[warp][pos] = v[i];
              staged_row[warp][pos] = r[i];
            }
            __syncwarp();
            const int count = __popc(mask);
#pragma unroll 4
            for (int s = group; s < count; s += kGroups)
              AccumulateEntry<T, Config>(acc[i], staged_value[warp][s],
                                         chunk_elems + staged_row[warp][s] * Config::kTileCols,
                                         cols_left, lig);
            __syncwarp();  // before the next tile overwrites the staging
          }
        }
      }

#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        const int64_t slot = slot0 + i * kWarps;
        if (slot >= args.m) continue;  // warp-uniform
        const int64_t row = __ldg(args.row_indices + slot);
        const Acc<T> bias =
            args.has_bias ? LoadAcc(args.bias + offset[kSpmmBias] + row) : Acc<T>(0);
        StoreOutputTile<T, Config>(acc[i], args.out + (b * args.m + row) * args.n + col0,
                                   cols_left, lane, bias, args.relu);
      }
    }
  }
}

}  // namespace jsdl
