// SpMM stream kernel (session 11): a block keeps one column tile's dense panel
// (k rows x 128 bytes: 32 float32 or 64 16-bit columns; or 256 bytes with two
// vectors a lane, Config::kVecs, session 12) in shared memory and streams many
// sparse rows through it, so a dense row crosses L2 once per block and serves
// rows_per_block x density entries (the panel kernel's blocks of 16-64 rows
// re-used it about twice; docs/kernels.md).
//
// Per entry a group of 8 lanes (a quarter warp, kVecs 16-byte vectors a lane)
// reads one panel row, 128 bytes a load: every bank once, no conflicts
// whatever the row. The entries reach the groups through shared memory, two
// per 16-byte broadcast load, instead of two shuffles per entry; the warp
// loads its entries 32 at a time, two such stages ahead of the one it
// multiplies, and the metadata of its next 32 rows in one step.
#pragma once

#include <cstdint>

#include "spmm_config.h"
#include "spmm_row_slots.h"
#include "spmm_tiles.cuh"

namespace jsdl {

// Groups of kLanes lanes (8, or 4 for narrow rows), each kVecs 16-byte vectors
// of a panel row: vector j of lane l is the row's vector kLanes j + l, so each
// load of a group is kLanes x 16 contiguous bytes. kAcc: a lane's accumulators.
template <typename T, int kVecs, int kLanes = 8>
struct SpmmStreamTile {
  static constexpr int kVec = kVec16<T>;
  static constexpr int kLanesPerGroup = kLanes;
  static constexpr int kGroups = kWarpSize / kLanesPerGroup;
  static constexpr int kVecsPerRow = kLanesPerGroup * kVecs;
  static constexpr int kTileCols = kVecsPerRow * kVec;
  static constexpr int kRowBytes = kTileCols * static_cast<int>(sizeof(T));
  static constexpr int kAcc = kVecs * kVec;
  // What a lane stores after the reduction across groups: kAcc / kGroups, or
  // with 8 groups and 4 accumulators (float32 narrow rows) one, which lanes 4
  // apart both hold (kEcho: the second stores nothing).
  static constexpr int kShare = kAcc / kGroups > 0 ? kAcc / kGroups : 1;
  static constexpr bool kEcho = kAcc < kGroups;
  static_assert(kGroups == 4 || kGroups == 8, "4 or 8 groups a warp");
};

// A staged sparse entry: its value and the first vector of its dense row in
// the panel (column x vectors a row, pre-scaled once per entry, not once per
// lane).
struct alignas(8) StagedEntry {
  float value;
  int32_t panel_vec;
};
struct alignas(16) StagedPair {
  StagedEntry e[2];
};
static_assert(sizeof(StagedEntry) == SpmmStreamConfig::kStagedEntryBytes, "staging size");

// acc += value * panel row (this lane's vectors of it).
template <typename T, typename Tile>
__device__ __forceinline__ void StreamEntry(float (&acc)[Tile::kAcc], const StagedEntry& e,
                                            const Vec<T, Tile::kVec>* panel, int lig) {
  const Vec<T, Tile::kVec>* row = panel + e.panel_vec + lig;
#pragma unroll
  for (int j = 0; j < Tile::kAcc / Tile::kVec; ++j) {
    const Vec<T, Tile::kVec> b = row[j * Tile::kLanesPerGroup];
#pragma unroll
    for (int i = 0; i < Tile::kVec; ++i) acc[j * Tile::kVec + i] += e.value * ToAcc(b.v[i]);
  }
}

// Output, 1: the groups' partial sums reduced and scattered: each lane ends
// with kShare of its accumulators (3 shuffles for float32 with one vector and
// 4 groups, not 8): acc indices [ShareStart(lane), + kShare).
template <typename Tile>
__device__ __forceinline__ int ShareStart(int lane) {
  int start = (lane & 16 ? Tile::kAcc / 2 : 0) + (lane & 8 ? Tile::kAcc / 4 : 0);
  if constexpr (Tile::kGroups == 8 && !Tile::kEcho) start += lane & 4 ? Tile::kAcc / 8 : 0;
  return start;
}

// One level of that reduction: lanes `bit` apart (other groups, the same lane
// in a group) each keep one half of v, adding the other's.
template <int kN>
__device__ __forceinline__ void SplitAcross(const float (&v)[kN], float (&kept)[kN / 2], int lane,
                                            int bit) {
  const bool upper = lane & bit;
#pragma unroll
  for (int j = 0; j < kN / 2; ++j) {
    const float give = upper ? v[j] : v[j + kN / 2];
    kept[j] = (upper ? v[j + kN / 2] : v[j]) + __shfl_xor_sync(kFullMask, give, bit);
  }
}

template <typename Tile>
__device__ __forceinline__ void ReduceStreamRow(const float (&acc)[Tile::kAcc], int lane,
                                                float (&share)[Tile::kShare]) {
  constexpr int kAcc = Tile::kAcc;
  float half[kAcc / 2];
  SplitAcross<kAcc>(acc, half, lane, 16);
  if constexpr (Tile::kGroups == 4) {
    SplitAcross<kAcc / 2>(half, share, lane, 8);
  } else {
    float quarter[kAcc / 4];
    SplitAcross<kAcc / 2>(half, quarter, lane, 8);
    if constexpr (Tile::kEcho)
      share[0] = quarter[0] + __shfl_xor_sync(kFullMask, quarter[0], 4);
    else
      SplitAcross<kAcc / 4>(quarter, share, lane, 4);
  }
}

// Output, 2: bias + ReLU (which keeps NaN) and coalesced stores (a share
// lies within one of the lane's vectors).
template <typename T, typename Tile>
__device__ __forceinline__ void StoreStreamShare(float (&share)[Tile::kShare], T* out_row,
                                                 int64_t cols_left, int lane, float bias,
                                                 bool relu) {
  constexpr int kVec = Tile::kVec, kLanes = Tile::kLanesPerGroup;
  if (Tile::kEcho && (lane & 4)) return;  // its partner lane stores the same
#pragma unroll
  for (int j = 0; j < Tile::kShare; ++j) {
    const float r = share[j] + bias;
    share[j] = relu && r < 0.f ? 0.f : r;
  }
  const int start = ShareStart<Tile>(lane);
  const int vec_col = ((start / kVec) * kLanes + lane % kLanes) * kVec;
  if (vec_col < cols_left)  // n % kVec == 0: the vector is whole or absent
    StoreVec<T, Tile::kShare>(out_row + vec_col + start % kVec, share);
}

// Up to 32 rows of a warp, lane j the j-th: its row and entry range.
struct StreamRowSlot {
  int32_t row = 0, start = 0, end = 0;
};

template <typename T>
__device__ __forceinline__ StreamRowSlot LoadStreamRowSlot(const SpmmArgs<T>& args, int slot,
                                                           int m) {
  StreamRowSlot r;
  if (slot < m) {
    r.row = __ldg(args.row_indices + slot);
    r.start = __ldg(args.row_offsets + r.row);
    r.end = __ldg(args.row_offsets + r.row + 1);
  }
  return r;
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

// Stages one 32-entry stage into the warp's staging slots. With passes, only
// the entries whose column lies in this pass's panel rows [k0, k0 + rows)
// count: a ballot packs them first, and the rest (and lanes past the stage's
// entries) point at the zero row. Returns the entries that count.
template <bool kPasses, int32_t kVecsPerRow>
__device__ __forceinline__ int StageEntries(const StreamStage& now, StagedEntry* stage,
                                            int32_t k0, int32_t rows, int lane) {
  if constexpr (!kPasses) {
    stage[lane] = {now.value, now.column * kVecsPerRow};
    return now.count;
  } else {
    const bool in = lane < now.count && now.column >= k0 && now.column < k0 + rows;
    const unsigned mask = __ballot_sync(kFullMask, in);
    const unsigned below = (1u << lane) - 1;
    const int count = __popc(mask);
    const int slot = in ? __popc(mask & below) : count + __popc(~mask & below);
    stage[slot] = in ? StagedEntry{now.value, (now.column - k0) * kVecsPerRow}
                     : StagedEntry{0.f, rows * kVecsPerRow};
    return count;
  }
}

// Config::kGroupRows: the 8-lane group's rows (SnakeSlot of first_slot) through one panel, 8
// at a time: lane lig of the group holds the metadata of the chunk's lig-th row (`kept` where
// the group has at most 8, over all column tiles). A row's entries go 8 at a time
// through the group's 8 staging slots, two per 16-byte broadcast load; pairs past the row's end
// are skipped and padding in the last pair reads the zero row. The group then stores its row's
// tile itself: no shuffles across groups, and each of the warp's per-row instructions (metadata,
// bias, stores, loop) serves four rows.
template <typename T, typename Tile>
__device__ __forceinline__ void StreamGroupRows(const SpmmArgs<T>& args, const T* values,
                                                const Vec<T, Tile::kVec>* panel,
                                                StagedEntry* stage, int32_t zero_row,
                                                int first_slot, int slot_stride, int m,
                                                bool one_chunk, const StreamRowSlot& kept,
                                                T* out_tile, const T* bias, int64_t cols_left,
                                                int group, int lig) {
  constexpr int kLanes = Tile::kLanesPerGroup, kVec = Tile::kVec;
  const unsigned mask = ((1u << kLanes) - 1) << (group * kLanes);
  StagedEntry* mine = stage + group * kLanes;
  const StagedPair* pairs = reinterpret_cast<const StagedPair*>(mine);
  for (int i0 = 0; SnakeSlot(first_slot, slot_stride, i0) < m; i0 += kLanes) {
    const int own = SnakeSlot(first_slot, slot_stride, i0 + lig);
    const StreamRowSlot slot = one_chunk ? kept : LoadStreamRowSlot(args, own, m);
    const int rows = __popc(__ballot_sync(mask, own < m));
    for (int i = 0; i < rows; ++i) {
      const int32_t row = __shfl_sync(mask, slot.row, i, kLanes);
      const int32_t start = __shfl_sync(mask, slot.start, i, kLanes);
      const int32_t end = __shfl_sync(mask, slot.end, i, kLanes);
      float acc[Tile::kAcc];
#pragma unroll
      for (int j = 0; j < Tile::kAcc; ++j) acc[j] = 0.f;
      for (int32_t e0 = start; e0 < end; e0 += kLanes) {
        StagedEntry entry{0.f, zero_row * Tile::kVecsPerRow};
        if (e0 + lig < end)
          entry = {LoadAcc(values + e0 + lig),
                   __ldg(args.column_indices + e0 + lig) * Tile::kVecsPerRow};
        __syncwarp(mask);  // the previous entries are no longer read
        mine[lig] = entry;
        __syncwarp(mask);
        const int left = end - e0;
#pragma unroll
        for (int t = 0; t < kLanes / 2; ++t) {
          if (2 * t < left) {
            const StagedPair p = pairs[t];
            StreamEntry<T, Tile>(acc, p.e[0], panel, lig);
            StreamEntry<T, Tile>(acc, p.e[1], panel, lig);
          }
        }
      }
      // Vector j of lane lig holds the tile's columns (8 j + lig) x kVec, as in StreamEntry.
      const float b = bias != nullptr ? LoadAcc(bias + row) : 0.f;
#pragma unroll
      for (int j = 0; j < Tile::kAcc / kVec; ++j) {
        float out[kVec];
#pragma unroll
        for (int i = 0; i < kVec; ++i) {
          const float r = acc[j * kVec + i] + b;
          out[i] = args.relu && r < 0.f ? 0.f : r;  // keeps NaN
        }
        const int col = (j * kLanes + lig) * kVec;
        if (col < cols_left)  // n % kVec == 0: the vector is whole or absent
          StoreVec<T, kVec>(out_tile + int64_t{row} * args.n + col, out);
      }
    }
  }
}

// Block (32, Config::kWarps); dynamic shared memory Config::SharedBytes(pass_rows,
// rows_cap, sizeof(T)) with rows_cap = ceil(m / row_blocks), the most rows a
// block has. grid.x = row_blocks: block x takes the row slots x, x +
// row_blocks, ... (rows are sorted by length, so every block gets long and
// short ones) and its warp w every kWarps-th of those, each round of slots
// backwards in odd rounds (SnakeSlot); grid.y the column tiles
// and grid.z the batch (both with stride loops). 16-byte aligned rows (n %
// kVec == 0). Without passes pass_rows = k; with them the panel comes in
// passes of pass_rows rows, each over all of the block's rows, whose float32
// partial sums wait in shared memory (a lane reads back only what it wrote).
// panels = 2 (Config::kPrefetch, no passes): two panel buffers, the next
// column tile's copied while this one's rows stream.
template <typename T, typename Config>
__global__ void __launch_bounds__(32 * Config::kWarps, Config::kMinBlocksPerSm)
    SpmmStreamKernel(const SpmmArgs<T> args, int row_blocks, int pass_rows, int panels) {
  constexpr int kWarps = Config::kWarps;
  using Tile = SpmmStreamTile<T, Config::kVecs, Config::kLanes>;
  static_assert(Tile::kRowBytes == Config::kRowBytes, "a group reads one panel row");
  constexpr int kVec = Tile::kVec, kShare = Tile::kShare;
  constexpr int kPairSteps = kWarpSize / (2 * Tile::kGroups);  // a group's pairs a stage
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  StagedEntry* stage = reinterpret_cast<StagedEntry*>(shared_bytes) + threadIdx.y * kWarpSize;
  const StagedPair* pairs = reinterpret_cast<const StagedPair*>(stage);
  const int m = static_cast<int>(args.m);  // 32-bit slots: see the heuristic
  const int rows_cap = (m + row_blocks - 1) / row_blocks;
  float* partials = reinterpret_cast<float*>(shared_bytes + Config::kStagingBytes);
  // Config::PartialBytes(rows_cap, sizeof(T)) (a host function):
  const int partial_bytes = Config::kPasses ? rows_cap * Tile::kTileCols * 4 : 0;
  auto* const panel0 =
      reinterpret_cast<Vec<T, kVec>*>(shared_bytes + Config::kStagingBytes + partial_bytes);
  const int panel_vecs = (pass_rows + 1) * Tile::kVecsPerRow;  // a buffer and its zero row

  const int lane = threadIdx.x;
  const int group = lane / Tile::kLanesPerGroup;
  const int lig = lane % Tile::kLanesPerGroup;
  const int thread = threadIdx.y * kWarpSize + lane;
  // Who owns rows: a warp, or with kGroupRows each of its groups (warp-major, so a warp's four
  // groups take neighbouring slots: rows of about one length).
  constexpr bool kGroupRows = Config::kGroupRows;
  constexpr int kOwnerSlots = kGroupRows ? Tile::kLanesPerGroup : kWarpSize;  // a chunk's rows
  const int owner = kGroupRows ? threadIdx.y * Tile::kGroups + group : threadIdx.y;
  const int slot_stride = row_blocks * kWarps * (kGroupRows ? Tile::kGroups : 1);
  const int first_slot = static_cast<int>(blockIdx.x) + row_blocks * owner;
  const int k = static_cast<int>(args.k);
  // An owner whose rows make one chunk (the usual case) keeps their metadata over all its
  // column tiles.
  const bool one_chunk = Config::kPrefetch && first_slot + kOwnerSlots * slot_stride >= m;
  const StreamRowSlot kept =
      one_chunk
          ? LoadStreamRowSlot(args, SnakeSlot(first_slot, slot_stride, kGroupRows ? lig : lane), m)
          : StreamRowSlot{};

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const T* values = args.values + offset[kSpmmValues];
    const T* dense = args.dense + offset[kSpmmDense];

    int buffer = 0;
    bool copied = false;  // this tile's panel was prefetched
    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Tile::kTileCols;
      const int64_t cols_left = args.n - col0;
      Vec<T, kVec>* const panel = panel0 + buffer * panel_vecs;
      for (int k0 = 0; k0 < k; k0 += pass_rows) {  // one pass without kPasses
        const int rows_here = min(pass_rows, k - k0);
        const bool first_pass = k0 == 0, last_pass = k0 + pass_rows >= k;
        __syncthreads();  // the previous panel (and the other buffer) is no longer read
        if (!copied)
          CopyPanelAsync<T, Tile::kVecsPerRow>(panel, dense + int64_t{k0} * args.n, args,
                                                  rows_here, col0, cols_left, thread,
                                                  kWarps * kWarpSize);
        if (thread < Tile::kVecsPerRow)  // the zero row (bytes: 16-bit types need no ctor)
          reinterpret_cast<uint4*>(panel)[rows_here * Tile::kVecsPerRow + thread] =
              make_uint4(0, 0, 0, 0);
        const int64_t next_col0 = col0 + int64_t{gridDim.y} * Tile::kTileCols;
        copied = Config::kPrefetch && panels == 2 && next_col0 < args.n;
        if (copied) {  // one pass: the whole next panel into the other buffer
          CopyAsyncCommit();
          CopyPanelAsync<T, Tile::kVecsPerRow>(panel0 + (buffer ^ 1) * panel_vecs, dense, args,
                                                  k, next_col0, args.n - next_col0, thread,
                                                  kWarps * kWarpSize);
          CopyAsyncCommit();
          CopyAsyncWaitAllButNewest();
        } else {
          CopyAsyncWaitAll();
        }
        __syncthreads();

        if constexpr (kGroupRows) {
          StreamGroupRows<T, Tile>(args, values, panel, stage, rows_here, first_slot,
                                   slot_stride, m, one_chunk, kept,
                                   args.out + b * args.m * args.n + col0,
                                   args.has_bias ? args.bias + offset[kSpmmBias] : nullptr,
                                   cols_left, group, lig);
          continue;
        }
        // The warp's rows, 32 at a time (SnakeSlot): lane j holds the j-th one's metadata.
        for (int i0 = 0; SnakeSlot(first_slot, slot_stride, i0) < m; i0 += kWarpSize) {
          const int own = SnakeSlot(first_slot, slot_stride, i0 + lane);
          const StreamRowSlot slot = one_chunk ? kept : LoadStreamRowSlot(args, own, m);
          const int32_t my_row = slot.row, my_start = slot.start, my_end = slot.end;
          const int rows = __popc(__ballot_sync(kFullMask, own < m));

          // Stages of 32 entries in order (an empty row has one, with none),
          // loaded two stages ahead of the one being multiplied.
          StreamCursor cursor{0, __shfl_sync(kFullMask, my_start, 0),
                              __shfl_sync(kFullMask, my_end, 0)};
          const int32_t* columns = args.column_indices;
          const int32_t pad = Config::kPasses ? -1 : rows_here;  // a column of no pass
          StreamStage now = LoadStreamStage(cursor, rows, values, columns, pad, lane);
          AdvanceStreamCursor(cursor, rows, my_start, my_end);
          StreamStage next = LoadStreamStage(cursor, rows, values, columns, pad, lane);
          AdvanceStreamCursor(cursor, rows, my_start, my_end);
          float acc[Tile::kAcc];
#pragma unroll
          for (int j = 0; j < Tile::kAcc; ++j) acc[j] = 0.f;
          while (now.row_i < rows) {
            const StreamStage after = LoadStreamStage(cursor, rows, values, columns, pad, lane);
            AdvanceStreamCursor(cursor, rows, my_start, my_end);
            __syncwarp();  // the previous stage is no longer read
            const int count = StageEntries<Config::kPasses, Tile::kVecsPerRow>(
                now, stage, k0, rows_here, lane);
            __syncwarp();
            if (count == kWarpSize) {
#pragma unroll
              for (int t = 0; t < kPairSteps; ++t) {
                const StagedPair p = pairs[t * Tile::kGroups + group];
                StreamEntry<T, Tile>(acc, p.e[0], panel, lig);
                StreamEntry<T, Tile>(acc, p.e[1], panel, lig);
              }
            } else {
              // Pairs past the last entry are skipped, padding in the last
              // pair reads the zero row (never a dense inf of row 0).
#pragma unroll
              for (int t = 0; t < kPairSteps; ++t) {
                if (t * 2 * Tile::kGroups < count) {
                  const StagedPair p = pairs[t * Tile::kGroups + group];
                  StreamEntry<T, Tile>(acc, p.e[0], panel, lig);
                  StreamEntry<T, Tile>(acc, p.e[1], panel, lig);
                }
              }
            }
            if (now.last) {
              float share[kShare];
              ReduceStreamRow<Tile>(acc, lane, share);
              if constexpr (Config::kPasses) {
                const int local = SnakeLocal(threadIdx.y, kWarps, i0 + now.row_i);  // < rows_cap
                float* mine = partials + (local * kWarpSize + lane) * kShare;
#pragma unroll
                for (int j = 0; j < kShare; ++j) {
                  if (!first_pass) share[j] += mine[j];
                  if (!last_pass) mine[j] = share[j];
                }
              }
              if (last_pass) {
                const int32_t row = __shfl_sync(kFullMask, my_row, now.row_i);
                const float bias =
                    args.has_bias ? LoadAcc(args.bias + offset[kSpmmBias] + row) : 0.f;
                StoreStreamShare<T, Tile>(share, args.out + (b * args.m + row) * args.n + col0,
                                          cols_left, lane, bias, args.relu);
              }
#pragma unroll
              for (int j = 0; j < Tile::kAcc; ++j) acc[j] = 0.f;
            }
            now = next;
            next = after;
          }
        }
      }
      if (copied) buffer ^= 1;
    }
  }
}

}  // namespace jsdl
