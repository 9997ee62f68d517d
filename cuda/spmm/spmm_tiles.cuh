// Device-side pieces shared by the SpMM kernels, one per role as in Sputnik:
// the arguments, the dense tile (a group's columns of one dense row), the
// compute step (one sparse entry against it) and the output tile (group
// reduction, bias + ReLU epilogue, vector stores).
#pragma once

#include <cstdint>

#include "../common/async_copy.cuh"
#include "../common/batch_map.cuh"
#include "../common/dtype.cuh"
#include "../common/vec.cuh"
#include "../common/warp.cuh"

namespace jsdl {

// out[b, i, :] = relu?(sum_e values[b, e] * dense[b, col[e], :] + bias[b, i])
// over the entries e of row i.
enum SpmmOperand { kSpmmValues = 0, kSpmmDense = 1, kSpmmBias = 2 };

template <typename T>
struct SpmmArgs {
  const T* values;      // (*bv, nnz)
  const T* dense;       // (*bd, k, n)
  const T* bias;        // (*bb, m); unused unless has_bias
  const int32_t* row_offsets;
  const int32_t* column_indices;
  const int32_t* row_indices;  // rows by decreasing length
  // The pattern's tile index (common/tile_index.h; the wgmma tile's), or null.
  const int32_t* tile_offsets;
  const int32_t* tile_entries;
  T* out;               // (*b, m, n)
  // Work buffer of the wgmma tile (its densified tiles: SpmmWgmmaWorkspaceBytes), or null.
  void* workspace;
  int64_t workspace_bytes;
  int64_t m, k, n;
  int64_t dense_rows;   // rows of n in the dense buffer: k times its batch items
  int64_t nnz;          // entries of one pattern (per batch item)
  int64_t batch;        // product of the output batch dims
  int64_t values_batch;  // product of the values' batch dims
  int64_t column_tiles;
  bool has_bias, relu;
  BatchMap<3> batch_map;
};

// Dense tile in shared memory (panel and stream kernels): `rows` dense rows
// from `dense` on, kCopiesPerRow 16-byte vectors each of the column tile at
// col0 (cols_left = n - col0), copied by cp.async and zero-filled past n. The
// caller waits (CopyAsyncWaitAll) and syncs. `threads` is a multiple of 32, so
// a thread keeps one column of vectors and steps down rows by a pointer
// increment (session 47: the division and 64-bit bounds of each copy were a
// fifth of rows-stream's instructions).
template <typename T, int kCopiesPerRow>
__device__ __forceinline__ void CopyPanelAsync(Vec<T, kVec16<T>>* panel, const T* dense,
                                               const SpmmArgs<T>& args, int64_t rows,
                                               int64_t col0, int64_t cols_left, int thread,
                                               int threads) {
  static_assert(kWarpSize % kCopiesPerRow == 0, "a thread keeps its column of vectors");
  const int c = (thread % kCopiesPerRow) * kVec16<T>;
  const bool inside = c < cols_left;  // zero-fill past n
  const int row_step = threads / kCopiesPerRow;
  const int64_t src_step = int64_t{row_step} * args.n;
  const T* src = dense + int64_t{thread / kCopiesPerRow} * args.n + col0 + c;
  Vec<T, kVec16<T>>* dst = panel + thread;
  for (int r = thread / kCopiesPerRow; r < rows; r += row_step) {
    CopyAsync16(dst, inside ? src : dense, inside);
    src += src_step;
    dst += threads;
  }
}

// Accumulators of one lane: kVecsPerLane accesses of kVec columns.
template <typename T, typename Layout>
using SpmmAcc = Acc<T>[Layout::kVecsPerLane][Layout::kVec];

template <typename T, typename Layout>
__device__ __forceinline__ void ZeroAcc(SpmmAcc<T, Layout>& acc) {
#pragma unroll
  for (int j = 0; j < Layout::kVecsPerLane; ++j)
#pragma unroll
    for (int i = 0; i < Layout::kVec; ++i) acc[j][i] = Acc<T>(0);
}

// Column (relative to the tile) of access j of lane `lig` in its group:
// the group's lanes cover consecutive vectors, so each access coalesces.
template <typename Layout>
__device__ __forceinline__ int LaneColumn(int j, int lig) {
  return (j * Layout::kLanesPerGroup + lig) * Layout::kVec;
}

// Compute: acc += value * row[tile columns of this lane]. `row` points at the
// tile's first column; `cols_left` = n - first column of the tile. With
// kVec > 1, n is a multiple of kVec, so a vector is either whole or absent.
template <typename T, typename Layout>
__device__ __forceinline__ void AccumulateEntry(SpmmAcc<T, Layout>& acc,
                                                Acc<T> value, const T* row,
                                                int64_t cols_left, int lig) {
#pragma unroll
  for (int j = 0; j < Layout::kVecsPerLane; ++j) {
    const int c = LaneColumn<Layout>(j, lig);
    if (c < cols_left) {
      Acc<T> b[Layout::kVec];
      LoadVec<T, Layout::kVec>(row + c, b);
#pragma unroll
      for (int i = 0; i < Layout::kVec; ++i) acc[j][i] += value * b[i];
    }
  }
}

// Steps of one sparse tile that the batched loop (kBatch > 1) takes at once: every dense row loaded
// before the first multiply-add. Written as one loop of load-then-multiply, the compiler keeps
// one load in flight per warp (each load reuses the registers the previous entry's multiply-adds
// wait on; session 42, in the SASS), so a row costs a memory latency an entry. At most 128 bytes
// of loaded rows a lane and 8 steps. The registers this takes (float32 32 x 1: 52 -> 88) cost
// resident warps, so only calls of one wave take it (ChooseSpmm).
template <typename T, typename Layout>
inline constexpr int kRowBatch = [] {
  constexpr int kBytes = Layout::kVecsPerLane * Layout::kVec * static_cast<int>(sizeof(T));
  constexpr int kSteps = kWarpSize / Layout::kGroups;
  const int batch = 128 / kBytes < 8 ? 128 / kBytes : 8;
  return batch < 1 ? 1 : batch < kSteps ? batch : kSteps;
}();

// kBatch steps of the staged tile from step s0 (entry s * kGroups + group): their pairs by
// shuffle, every dense row loaded, then the multiply-adds, as selects (in a branch the compiler
// sinks each load back to its multiply-adds). Entries past `count` are neither loaded nor
// multiplied (never a padding zero times a dense inf); each accumulator takes its entries in the
// same order as the one-entry loop, so the sums are the same.
template <typename T, typename Layout, int kBatch>
__device__ __forceinline__ void AccumulateBatch(SpmmAcc<T, Layout>& acc, Acc<T> staged_value,
                                                int32_t staged_column, int s0, int count,
                                                const T* dense_tile, int64_t row_stride,
                                                int64_t cols_left, int group, int lig) {
  Acc<T> value[kBatch];
  const T* row[kBatch];
  bool live[kBatch];
#pragma unroll
  for (int b = 0; b < kBatch; ++b) {
    const int idx = (s0 + b) * Layout::kGroups + group;
    value[b] = __shfl_sync(kFullMask, staged_value, idx % kWarpSize);
    const int32_t column = __shfl_sync(kFullMask, staged_column, idx % kWarpSize);
    live[b] = idx < count;
    row[b] = dense_tile + column * row_stride;
  }
  Vec<T, Layout::kVec> x[kBatch][Layout::kVecsPerLane];
#pragma unroll
  for (int b = 0; b < kBatch; ++b)
#pragma unroll
    for (int j = 0; j < Layout::kVecsPerLane; ++j) {
      const int c = LaneColumn<Layout>(j, lig);
      x[b][j] = live[b] && c < cols_left
                    ? *reinterpret_cast<const Vec<T, Layout::kVec>*>(row[b] + c)
                    : Vec<T, Layout::kVec>{};
    }
#pragma unroll
  for (int b = 0; b < kBatch; ++b)
#pragma unroll
    for (int j = 0; j < Layout::kVecsPerLane; ++j)
#pragma unroll
      for (int i = 0; i < Layout::kVec; ++i) {
        const Acc<T> sum = acc[j][i] + value[b] * ToAcc(x[b][j].v[i]);
        acc[j][i] = live[b] ? sum : acc[j][i];
      }
}

// Sparse tile loop of one row: acc += values[e] * dense row col[e] over the
// entries e in [start, end). Lane l stages entry e0 + l of each 32-entry tile
// and shuffles hand the pairs out, kGroups entries a step (kBatch > 1: that
// many steps at a time, AccumulateBatch). Dense row c starts at
// dense_tile + c * row_stride (global memory, or a shared-memory panel).
template <typename T, typename Layout, int kBatch = 1>
__device__ __forceinline__ void AccumulateRow(SpmmAcc<T, Layout>& acc, const T* values,
                                              const int32_t* column_indices, int64_t start,
                                              int64_t end, const T* dense_tile,
                                              int64_t row_stride, int64_t cols_left, int lane) {
  constexpr int kGroups = Layout::kGroups;
  const int group = lane / Layout::kLanesPerGroup;
  const int lig = lane % Layout::kLanesPerGroup;
  for (int64_t e0 = start; e0 < end; e0 += kWarpSize) {
    const int64_t e = e0 + lane;
    const Acc<T> staged_value = e < end ? LoadAcc(values + e) : Acc<T>(0);
    const int32_t staged_column = e < end ? __ldg(column_indices + e) : 0;
    const int count = static_cast<int>(end - e0 < kWarpSize ? end - e0 : kWarpSize);
    if constexpr (kBatch > 1) {
      for (int s0 = 0; s0 * kGroups < count; s0 += kBatch)  // uniform trip count
        AccumulateBatch<T, Layout, kBatch>(acc, staged_value, staged_column, s0, count,
                                           dense_tile, row_stride, cols_left, group, lig);
    } else if (count == kWarpSize) {
      // Full tile: no predicate (yet one load in flight a warp: kRowBatch).
#pragma unroll 8
      for (int s = 0; s < kWarpSize / kGroups; ++s) {
        const int idx = s * kGroups + group;
        const Acc<T> value = __shfl_sync(kFullMask, staged_value, idx);
        const int32_t column = __shfl_sync(kFullMask, staged_column, idx);
        AccumulateEntry<T, Layout>(acc, value, dense_tile + column * row_stride, cols_left, lig);
      }
    } else {
      // Last tile of the row: uniform trip count, guarded entries (never
      // multiply a padding zero by a dense inf).
#pragma unroll 4
      for (int s = 0; s * kGroups < count; ++s) {
        const int idx = s * kGroups + group;
        const Acc<T> value = __shfl_sync(kFullMask, staged_value, idx);
        const int32_t column = __shfl_sync(kFullMask, staged_column, idx);
        if (idx < count)
          AccumulateEntry<T, Layout>(acc, value, dense_tile + column * row_stride, cols_left,
                                     lig);
      }
    }
  }
}

// Output: add the groups' partial sums (every lane gets the total), then the
// first group stores with the epilogue (bias, ReLU that keeps NaN, convert).
template <typename T, typename Layout>
__device__ __forceinline__ void StoreOutputTile(SpmmAcc<T, Layout>& acc, T* out,
                                                int64_t cols_left, int lane,
                                                Acc<T> bias, bool relu) {
#pragma unroll
  for (int j = 0; j < Layout::kVecsPerLane; ++j)
#pragma unroll
    for (int i = 0; i < Layout::kVec; ++i)
#pragma unroll
      for (int mask = Layout::kLanesPerGroup; mask < kWarpSize; mask <<= 1)
        acc[j][i] += __shfl_xor_sync(kFullMask, acc[j][i], mask);
  if (lane >= Layout::kLanesPerGroup) return;
#pragma unroll
  for (int j = 0; j < Layout::kVecsPerLane; ++j) {
    const int c = LaneColumn<Layout>(j, lane);
    if (c < cols_left) {
      Acc<T> r[Layout::kVec];
#pragma unroll
      for (int i = 0; i < Layout::kVec; ++i) {
        r[i] = acc[j][i] + bias;
        if (relu && r[i] < Acc<T>(0)) r[i] = Acc<T>(0);
      }
      StoreVec<T, Layout::kVec>(out + c, r);
    }
  }
}

}  // namespace jsdl
