// SpMM chunk kernel: a block of kGroups x kRows sparse rows computes one column
// tile while it walks the dense operand in chunks of chunk_rows rows, copied
// into shared memory two stages deep (cp.async: chunk c + 1 is in flight while
// chunk c is used). A group of kLanesPerGroup lanes owns kRows rows and keeps a
// cursor in each: in chunk c it takes the row's next entries while their
// columns lie before the chunk's end. Each fetched dense row thus serves every
// entry of the block's rows that names it (reuse = rows per block x density),
// for any k: unlike the panel kernel the tile need not hold all k rows.
//
// Columns sorted within rows (what every constructor but from_parts gives) put
// every entry in its chunk. Any other order is still exact: an entry whose
// column lies before the current chunk reads global memory, and entries after
// the last chunk are taken after the loop. Chunks cover only the block's column
// range (first to last column of its rows), so banded patterns such as causal
// attention copy only the dense rows up to their band.
#pragma once

#include <climits>
#include <cstdint>

#include "../common/async_copy.cuh"
#include "spmm_config.h"
#include "spmm_tiles.cuh"

namespace jsdl {

// Entries of a row looked at per step: their loads are in flight together.
inline constexpr int kChunkEntriesPerStep = 4;

// Compute: acc += value * dense row `column` (this lane's kVec columns), from
// the shared stage when the column lies in [stage_first, ...), else from global
// memory. Lanes past n compute on zeros or skip and are never stored.
template <typename T, typename Config>
__device__ __forceinline__ void ChunkEntry(Acc<T> (&acc)[Config::kVec], Acc<T> value,
                                           int32_t column, const T* stage, int64_t stage_first,
                                           const T* dense_tile, int64_t n, int lane_col,
                                           int64_t cols_left) {
  Acc<T> b[Config::kVec];
  if (column >= stage_first) {
    LoadVec<T, Config::kVec>(stage + (column - stage_first) * Config::kTileCols + lane_col, b);
  } else if (lane_col < cols_left) {
    LoadVec<T, Config::kVec>(dense_tile + column * n + lane_col, b);
  } else {
    return;
  }
#pragma unroll
  for (int i = 0; i < Config::kVec; ++i) acc[i] += value * b[i];
}

// Sparse tile: the row's entries from `cursor` on while their columns lie
// before `stop_column`, kChunkEntriesPerStep at a time; returns the new cursor.
template <typename T, typename Config>
__device__ __forceinline__ int32_t TakeEntries(Acc<T> (&acc)[Config::kVec], const T* values,
                                               const int32_t* column_indices, int32_t cursor,
                                               int32_t end, int64_t stop_column, const T* stage,
                                               int64_t stage_first, const T* dense_tile,
                                               int64_t n, int lane_col, int64_t cols_left) {
  constexpr int kStep = kChunkEntriesPerStep;
  while (cursor < end) {
    int32_t column[kStep];
    Acc<T> value[kStep];
#pragma unroll
    for (int u = 0; u < kStep; ++u) {
      const bool inside = static_cast<int64_t>(cursor) + u < end;
      column[u] = inside ? __ldg(column_indices + cursor + u) : INT_MAX;
      value[u] = inside ? LoadAcc(values + cursor + u) : Acc<T>(0);
    }
    // Entries are taken in order: a prefix of the step, up to the first
    // column at or after the stop.
    int taken = 0;
    bool take = true;
#pragma unroll
    for (int u = 0; u < kStep; ++u) {
      take = take && column[u] < stop_column;
      if (take) {
        ChunkEntry<T, Config>(acc, value[u], column[u], stage, stage_first, dense_tile, n,
                              lane_col, cols_left);
        ++taken;
      }
    }
    cursor += taken;
    if (taken < kStep) break;
  }
  return cursor;
}

// Copies dense rows [first, first + rows) of the tile into a stage (rows past k
// and columns past n are zero-filled without reading global memory).
template <typename T, typename Config>
__device__ __forceinline__ void CopyChunk(T* stage, const T* dense_tile, int64_t first,
                                          int rows, int64_t k, int64_t n, int64_t cols_left,
                                          int thread) {
  constexpr int kLanes = Config::kLanesPerGroup;
  for (int v = thread; v < rows * kLanes; v += Config::kThreads) {
    const int r = v / kLanes;
    const int c = (v % kLanes) * Config::kVec;
    const bool inside = first + r < k && c < cols_left;
    CopyAsync16(stage + r * Config::kTileCols + c,
                inside ? dense_tile + (first + r) * n + c : dense_tile, inside);
  }
  CopyAsyncCommit();
}

// Block (kThreads), dynamic shared memory stages x chunk_rows x kTileCols
// elements (stages = 1 when one chunk covers k). grid.x covers the m row slots
// in blocks of kGroups x kRows, grid.y the column tiles and grid.z the batch
// (both with stride loops).
template <typename T, typename Config>
__global__ void __launch_bounds__(Config::kThreads)
    SpmmChunkKernel(const SpmmArgs<T> args, int chunk_rows) {
  constexpr int kRows = Config::kRowsPerGroup;
  constexpr int kGroups = Config::kGroupsPerBlock;
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* stages = reinterpret_cast<T*>(shared_bytes);
  const int64_t stage_elems = static_cast<int64_t>(chunk_rows) * Config::kTileCols;
  __shared__ int32_t range[2];  // the block's first and last column

  const int thread = threadIdx.x;
  const int group = thread / Config::kLanesPerGroup;
  const int lane_col = (thread % Config::kLanesPerGroup) * Config::kVec;

  // This group's rows: slots interleaved over the groups, so each group gets
  // rows of every length the block holds (the slots are sorted by length).
  int32_t row[kRows];  // -1: past m
  int32_t start[kRows], end[kRows];
  int32_t first_col = INT_MAX, last_col = -1;
#pragma unroll
  for (int j = 0; j < kRows; ++j) {
    const int64_t slot = static_cast<int64_t>(blockIdx.x) * kGroups * kRows +
                         static_cast<int64_t>(j) * kGroups + group;
    row[j] = slot < args.m ? __ldg(args.row_indices + slot) : -1;  // m fits int32
    start[j] = row[j] >= 0 ? __ldg(args.row_offsets + row[j]) : 0;
    end[j] = row[j] >= 0 ? __ldg(args.row_offsets + row[j] + 1) : 0;
    if (start[j] < end[j]) {
      first_col = min(first_col, __ldg(args.column_indices + start[j]));
      last_col = max(last_col, __ldg(args.column_indices + end[j] - 1));
    }
  }
  if (thread == 0) {
    range[0] = INT_MAX;
    range[1] = -1;
  }
  __syncthreads();
  if (thread % Config::kLanesPerGroup == 0 && last_col >= 0) {
    atomicMin(&range[0], first_col);
    atomicMax(&range[1], last_col);
  }
  __syncthreads();
  const int64_t first_chunk = range[1] >= 0 ? range[0] / chunk_rows : 0;
  const int64_t last_chunk = range[1] >= 0 ? range[1] / chunk_rows : -1;  // -1: no entries

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const T* values = args.values + offset[kSpmmValues];
    const T* dense = args.dense + offset[kSpmmDense];

    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Config::kTileCols;
      const int64_t cols_left = args.n - col0;
      const T* dense_tile = dense + col0;
      Acc<T> acc[kRows][Config::kVec];
      int32_t cursor[kRows];
#pragma unroll
      for (int j = 0; j < kRows; ++j) {
        cursor[j] = start[j];
#pragma unroll
        for (int i = 0; i < Config::kVec; ++i) acc[j][i] = Acc<T>(0);
      }

      if (last_chunk >= first_chunk) {
        __syncthreads();  // the stages are no longer read (previous tile or batch item)
        CopyChunk<T, Config>(stages, dense_tile, first_chunk * chunk_rows, chunk_rows, args.k,
                             args.n, cols_left, thread);
      }
      for (int64_t c = first_chunk; c <= last_chunk; ++c) {
        const int64_t parity = (c - first_chunk) & 1;
        if (c < last_chunk) {
          CopyChunk<T, Config>(stages + (1 - parity) * stage_elems, dense_tile,
                               (c + 1) * chunk_rows, chunk_rows, args.k, args.n, cols_left,
                               thread);
          CopyAsyncWait<1>();  // chunk c has landed; c + 1 may still be in flight
        } else {
          CopyAsyncWait<0>();
        }
        __syncthreads();
        const T* stage = stages + parity * stage_elems;
        const int64_t stage_first = c * chunk_rows;
#pragma unroll
        for (int j = 0; j < kRows; ++j)
          cursor[j] = TakeEntries<T, Config>(acc[j], values, args.column_indices, cursor[j],
                                             end[j], stage_first + chunk_rows, stage, stage_first,
                                             dense_tile, args.n, lane_col, cols_left);
        __syncthreads();  // the stage is refilled by the next step's copy
      }
      // Entries after the last chunk (rows not sorted by column): global memory.
#pragma unroll
      for (int j = 0; j < kRows; ++j)
        TakeEntries<T, Config>(acc[j], values, args.column_indices, cursor[j], end[j], INT64_MAX,
                               nullptr, INT64_MAX, dense_tile, args.n, lane_col, cols_left);

#pragma unroll
      for (int j = 0; j < kRows; ++j) {
        if (row[j] < 0 || lane_col >= cols_left) continue;
        const Acc<T> bias =
            args.has_bias ? LoadAcc(args.bias + offset[kSpmmBias] + row[j]) : Acc<T>(0);
        StoreWithEpilogue<T, Config::kVec>(
            args.out + (b * args.m + row[j]) * args.n + col0 + lane_col, acc[j], bias, args.relu);
      }
    }
  }
}

}  // namespace jsdl
