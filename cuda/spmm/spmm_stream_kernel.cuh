// SpMM stream kernel (session 11): a block keeps one column tile's dense panel
// (k rows x 128 bytes: 32 float32 or 64 16-bit columns) in shared memory and
// streams many sparse rows through it, so a dense row crosses L2 once per
// block and serves rows_per_block x density entries (the panel kernel's
// blocks of 16-64 rows re-used it about twice; docs/kernels.md).
//
// Per entry a group of 8 lanes (a quarter warp, one 16-byte vector a lane)
// reads one 128-byte panel row: every bank once, no conflicts whatever the
// row. The entries reach the groups through shared memory, two per 16-byte
// broadcast load, instead of two shuffles per entry; the warp loads its
// entries 32 at a time, two such stages ahead of the one it multiplies, and
// the metadata of its next 32 rows in one step.
#pragma once

#include <cstdint>

#include "spmm_config.h"
#include "spmm_tiles.cuh"

namespace jsdl {

// Groups of 8 lanes, each one 16-byte vector of a 128-byte panel row.
template <typename T>
struct SpmmStreamTile {
  static constexpr int kVec = kVec16<T>;
  static constexpr int kLanesPerGroup = 8;
  static constexpr int kGroups = kWarpSize / kLanesPerGroup;
  static constexpr int kTileCols = kLanesPerGroup * kVec;
  static constexpr int kRowBytes = kTileCols * static_cast<int>(sizeof(T));
  static_assert(kRowBytes == SpmmStreamConfig::kRowBytes, "a group reads one 128-byte panel row");
};

// A staged sparse entry: its value and the first vector of its dense row in
// the panel (column x 8, pre-scaled once per entry, not once per lane).
struct alignas(8) StagedEntry {
  float value;
  int32_t panel_vec;
};
struct alignas(16) StagedPair {
  StagedEntry e[2];
};
static_assert(sizeof(StagedEntry) == SpmmStreamConfig::kStagedEntryBytes, "staging size");

// acc += value * panel row (this lane's vector of it).
template <typename T>
__device__ __forceinline__ void StreamEntry(float (&acc)[kVec16<T>], const StagedEntry& e,
                                            const Vec<T, kVec16<T>>* panel, int lig) {
  const Vec<T, kVec16<T>> b = panel[e.panel_vec + lig];
#pragma unroll
  for (int i = 0; i < kVec16<T>; ++i) acc[i] += e.value * ToAcc(b.v[i]);
}

// Output: the 4 groups' partial sums reduced and scattered (each lane ends
// with a quarter of its group's vector: 3 shuffles for float32 instead of 8),
// then bias + ReLU (which keeps NaN) and a 128-byte coalesced store.
template <typename T>
__device__ __forceinline__ void StoreStreamRow(const float (&acc)[kVec16<T>], T* out_row,
                                               int64_t cols_left, int lane, float bias,
                                               bool relu) {
  constexpr int kVec = kVec16<T>, kHalf = kVec / 2, kQuarter = kVec / 4;
  const bool upper = lane & 16, odd = lane & 8;  // group bits: lanes 16-31, lanes 8-15 / 24-31
  float half[kHalf];
#pragma unroll
  for (int j = 0; j < kHalf; ++j) {
    const float give = upper ? acc[j] : acc[j + kHalf];
    half[j] = (upper ? acc[j + kHalf] : acc[j]) + __shfl_xor_sync(kFullMask, give, 16);
  }
  float quarter[kQuarter];
#pragma unroll
  for (int j = 0; j < kQuarter; ++j) {
    const float give = odd ? half[j] : half[j + kQuarter];
    float r = (odd ? half[j + kQuarter] : half[j]) + __shfl_xor_sync(kFullMask, give, 8);
    r += bias;
    quarter[j] = relu && r < 0.f ? 0.f : r;
  }
  const int vec_col = (lane % 8) * kVec;
  if (vec_col < cols_left)  // n % kVec == 0: the vector is whole or absent
    StoreVec<T, kQuarter>(out_row + vec_col + (upper ? kHalf : 0) + (odd ? kQuarter : 0),
                          quarter);
}

// Where a warp's loads stand among its rows (warp-uniform): row i of the
// warp's current 32, entries [e0, end) of it left.
struct StreamCursor {
  int i;
  int32_t e0, end;
};

// A stage: up to 32 entries of one row, one a lane, and where it belongs.
struct StreamStage {
  float value;
  int32_t column;
  int row_i;  // its row among the warp's 32; >= rows: past the last
  int count;  // entries in it
  bool last;  // its row's last stage
};

// Lanes past the stage's entries get (0, zero_row).
template <typename T>
__device__ __forceinline__ StreamStage LoadStreamStage(const StreamCursor& c, int rows,
                                                       const T* values,
                                                       const int32_t* column_indices,
                                                       int32_t zero_row, int lane) {
  StreamStage s{0.f, zero_row, c.i, 0, false};
  if (c.i < rows) {
    s.count = min(c.end - c.e0, kWarpSize);
    s.last = c.e0 + kWarpSize >= c.end;
    const int32_t e = c.e0 + lane;
    if (e < c.end) {
      s.value = LoadAcc(values + e);
      s.column = __ldg(column_indices + e);
    }
  }
  return s;
}

// The next stage: 32 entries further in the row, or the next row's first
// (lane j of my_start / my_end holds row j's entry range).
__device__ __forceinline__ void AdvanceStreamCursor(StreamCursor& c, int rows, int32_t my_start,
                                                    int32_t my_end) {
  if (c.i >= rows) return;
  if (c.e0 + kWarpSize < c.end) {
    c.e0 += kWarpSize;
  } else if (++c.i < rows) {
    c.e0 = __shfl_sync(kFullMask, my_start, c.i);
    c.end = __shfl_sync(kFullMask, my_end, c.i);
  }
}

// Block (32, Config::kWarps), dynamic shared memory Config::SharedBytes(k).
// grid.x = row_blocks: block x takes the row slots x, x + row_blocks, ...
// (rows are sorted by length, so every block gets long and short ones) and
// its warp w every kWarps-th of those; grid.y the column tiles and grid.z the
// batch (both with stride loops). 16-byte aligned rows (n % kVec == 0).
template <typename T, typename Config>
__global__ void __launch_bounds__(32 * Config::kWarps, Config::kMinBlocksPerSm)
    SpmmStreamKernel(const SpmmArgs<T> args, int row_blocks) {
  constexpr int kWarps = Config::kWarps;
  using Tile = SpmmStreamTile<T>;
  constexpr int kVec = Tile::kVec;
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  StagedEntry* stage = reinterpret_cast<StagedEntry*>(shared_bytes) + threadIdx.y * kWarpSize;
  const StagedPair* pairs = reinterpret_cast<const StagedPair*>(stage);
  auto* panel = reinterpret_cast<Vec<T, kVec>*>(shared_bytes + kWarps * kWarpSize *
                                                                 sizeof(StagedEntry));

  const int lane = threadIdx.x;
  const int group = lane / Tile::kLanesPerGroup;
  const int lig = lane % Tile::kLanesPerGroup;
  const int thread = threadIdx.y * kWarpSize + lane;
  const int copies = static_cast<int>(args.k) * Tile::kLanesPerGroup;
  const int32_t zero_row = static_cast<int32_t>(args.k);
  // 32-bit slots: the launcher keeps m * 32 * kWarps within int32.
  const int m = static_cast<int>(args.m);
  const int slot_stride = row_blocks * kWarps;
  const int first_slot = static_cast<int>(blockIdx.x) + row_blocks * threadIdx.y;

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const T* values = args.values + offset[kSpmmValues];
    const T* dense = args.dense + offset[kSpmmDense];

    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Tile::kTileCols;
      const int64_t cols_left = args.n - col0;
      __syncthreads();  // the previous panel is no longer read
      CopyPanelAsync<T, Tile::kLanesPerGroup>(panel, dense, args, col0, cols_left, thread,
                                               kWarps * kWarpSize);
      if (thread < Tile::kLanesPerGroup)  // the zero row (bytes: 16-bit types need no ctor)
        reinterpret_cast<uint4*>(panel)[copies + thread] = make_uint4(0, 0, 0, 0);
      CopyAsyncWaitAll();
      __syncthreads();

      // The warp's rows, 32 at a time: lane j holds the j-th one's metadata.
      for (int chunk = first_slot; chunk < m; chunk += kWarpSize * slot_stride) {
        const int my_slot = chunk + lane * slot_stride;
        int32_t my_row = 0, my_start = 0, my_end = 0;
        if (my_slot < m) {
          my_row = __ldg(args.row_indices + my_slot);
          my_start = __ldg(args.row_offsets + my_row);
          my_end = __ldg(args.row_offsets + my_row + 1);
        }
        const int rows = min((m - chunk + slot_stride - 1) / slot_stride, kWarpSize);

        // Stages of 32 entries in order (an empty row has one, with none),
        // loaded two stages ahead of the one being multiplied: one stage of
        // 8 warps an SM sub-partition is shorter than an L2 round trip.
        StreamCursor cursor{0, __shfl_sync(kFullMask, my_start, 0),
                            __shfl_sync(kFullMask, my_end, 0)};
        const int32_t* columns = args.column_indices;
        StreamStage now = LoadStreamStage(cursor, rows, values, columns, zero_row, lane);
        AdvanceStreamCursor(cursor, rows, my_start, my_end);
        StreamStage next = LoadStreamStage(cursor, rows, values, columns, zero_row, lane);
        AdvanceStreamCursor(cursor, rows, my_start, my_end);
        float acc[kVec];
#pragma unroll
        for (int j = 0; j < kVec; ++j) acc[j] = 0.f;
        while (now.row_i < rows) {
          const StreamStage after =
              LoadStreamStage(cursor, rows, values, columns, zero_row, lane);
          AdvanceStreamCursor(cursor, rows, my_start, my_end);
          __syncwarp();  // the previous stage is no longer read
          stage[lane] = {now.value, now.column * Tile::kLanesPerGroup};
          __syncwarp();
          if (now.count == kWarpSize) {
#pragma unroll
            for (int t = 0; t < kWarpSize / 8; ++t) {
              const StagedPair p = pairs[t * Tile::kGroups + group];
              StreamEntry<T>(acc, p.e[0], panel, lig);
              StreamEntry<T>(acc, p.e[1], panel, lig);
            }
          } else {
            // Pairs past the last entry are skipped, padding in the last
            // pair reads the zero row (never a dense inf of row 0).
#pragma unroll
            for (int t = 0; t < kWarpSize / 8; ++t) {
              if (t * 8 < now.count) {
                const StagedPair p = pairs[t * Tile::kGroups + group];
                StreamEntry<T>(acc, p.e[0], panel, lig);
                StreamEntry<T>(acc, p.e[1], panel, lig);
              }
            }
          }
          if (now.last) {
            const int32_t row = __shfl_sync(kFullMask, my_row, now.row_i);
            const float bias =
                args.has_bias ? LoadAcc(args.bias + offset[kSpmmBias] + row) : 0.f;
            StoreStreamRow<T>(acc, args.out + (b * args.m + row) * args.n + col0, cols_left,
                              lane, bias, args.relu);
#pragma unroll
            for (int j = 0; j < kVec; ++j) acc[j] = 0.f;
          }
          now = next;
          next = after;
        }
      }
    }
  }
}

}  // namespace jsdl
