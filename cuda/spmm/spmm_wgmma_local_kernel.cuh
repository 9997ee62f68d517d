// SpMM on wgmma for short k (at most 256), the sparse tile densified in the block itself
// (session 56). The wgmma tile (spmm_wgmma_kernel.cuh) densifies every tile in a kernel of its
// own and reads them back: on one-wave calls such as ResNet-50's 128 x 256 layer at 70%,
// N = 3136, that start alone cost 6.7 us of its 14.5 (sessions 48 and 50), where dense fp32 takes
// 10. Here a block takes one work item, out[64 sparse rows, 64 dense columns]: its first thread
// copies the item's dense rows (all of k, TMA, as the wgmma tile's stages), while all its threads
// add the 64 rows' entries into the stages' tiles (a warp's 8 rows are one range of the CSR
// arrays, read in batches), then take TF32(x)'s residues. Each of the two warpgroups then runs
// the wgmma tile's sums (SpmmWgmmaSums: TF32, or 3xTF32 at HIGHEST) over half of the chunks; the
// second's sums join the first's through shared memory, and the first stores the outputs
// (SpmmWgmmaEpilogue: non-finite outputs again from the entries, bias, ReLU). No workspace, no
// tile index, no second kernel.
#pragma once

#include <cstdint>

#include "../common/dtype.cuh"  // LoadAcc
#include "../common/mma.cuh"    // Tf32Residue
#include "../common/phase_clock.cuh"  // the harness's phase points (-DJSDL_PHASE_CLOCK)
#include "../common/tma.cuh"
#include "../common/warp.cuh"
#include "../common/wgmma.cuh"
#include "spmm_config.h"
#include "spmm_densify_kernel.cuh"  // DensifiedWord, kDensifiedTileWords
#include "spmm_tiles.cuh"           // SpmmArgs
#include "spmm_wgmma_kernel.cuh"    // SpmmWgmmaStage, SpmmWgmmaSums, SpmmWgmmaEpilogue

namespace jsdl {

// Shared memory of a block for `chunks` chunks: their stages, the epilogue's staging, the second
// warpgroup's sums (kThreads / 2 x 32 floats, thread-major columns: conflict-free), for TF32 the
// tiles' owners (3xTF32's are in the small tiles), alignment.
template <bool kSplit>
inline size_t SpmmWgmmaLocalSmemBytes(int chunks) {
  using Config = SpmmWgmmaLocalConfig;
  return chunks * sizeof(SpmmWgmmaStage<Config, float, kSplit>) +
         sizeof(SpmmWgmmaStaging<Config>) + 128 * 32 * sizeof(float) +
         (kSplit ? 0 : chunks * kDensifiedTileWords * sizeof(int)) + 1024;
}

// A warp's 8 rows (tile rows r0..r0 + 7) are one range [offs[0], offs[8]) of the CSR arrays.
// Visits each of its entries as f(e, word, chunk), kBatch a lane at a time with their columns
// loaded first (one memory latency a batch); the row of each is found among the 8 offsets.
struct SpmmWgmmaLocalRows {
  int offs[9];
  int r0;

  template <typename T>
  __device__ __forceinline__ SpmmWgmmaLocalRows(const SpmmArgs<T>& args, int64_t row0, int r0_)
      : r0(r0_) {
    const int lane = threadIdx.x % 32;
    const int64_t my_row = row0 + r0 + min(lane, 8);
    const int mine = args.row_offsets[my_row < args.m ? my_row : args.m];
#pragma unroll
    for (int j = 0; j < 9; ++j) offs[j] = __shfl_sync(0xffffffffu, mine, j);
  }

  // f(e, word, chunk, value); kValues: the values loaded with the columns (else 0).
  template <bool kValues, typename T, typename F>
  __device__ __forceinline__ void ForEach(const SpmmArgs<T>& args, const T* values, F&& f) const {
    constexpr int kBatch = 8;
    for (int first = offs[0] + threadIdx.x % 32; first < offs[8]; first += 32 * kBatch) {
      int col[kBatch];
      float v[kBatch];
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        const int e = first + 32 * j;
        col[j] = e < offs[8] ? __ldg(args.column_indices + e) : -1;
        v[j] = kValues && e < offs[8] ? LoadAcc(values + e) : 0.0f;
      }
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        if (col[j] < 0) continue;
        const int e = first + 32 * j;
        int r = 0;  // the last of the 8 rows whose range starts at or before e
#pragma unroll
        for (int i = 1; i < 8; ++i) r += offs[i] <= e;
        f(e, DensifiedWord(r0 + r, col[j] % 64), col[j] / 64, v[j]);
      }
    }
  }
};

// Grid: one block a work item (64-row tiles of m fastest, then 64-column tiles of n, then batch
// items), kThreads threads; `chunks` = ceil(k / 64) <= kMaxChunks stages in dynamic shared memory
// (SpmmWgmmaLocalSmemBytes). dense_map: the whole dense buffer as rows of n (as the wgmma tile's).
template <bool kSplit>
__global__ void __launch_bounds__(SpmmWgmmaLocalConfig::kThreads, 1)
    SpmmWgmmaLocalKernel(const SpmmArgs<float> args, const __grid_constant__ CUtensorMap dense_map,
                         int chunks) {
  using Config = SpmmWgmmaLocalConfig;
  using Stage = SpmmWgmmaStage<Config, float, kSplit>;
  extern __shared__ unsigned char smem_raw[];
  __shared__ uint64_t full[Config::kMaxChunks];  // a chunk's dense rows landed
  Stage* stages = AlignedStages<Stage>(smem_raw);
  auto* staging = reinterpret_cast<SpmmWgmmaStaging<Config>*>(stages + chunks);
  auto* joined = reinterpret_cast<float(*)[128]>(staging + 1);  // [32][128]
  uint32_t* owners = reinterpret_cast<uint32_t*>(joined + 32);  // TF32's
  JSDL_PHASE_CLOCK_AT(0);

  const int tid = threadIdx.x, group = tid / 128;
  const int64_t row_tiles = (args.m + Config::kRows - 1) / Config::kRows;
  const int64_t col_tiles = (args.n + Config::kCols - 1) / Config::kCols;
  // 32-bit: the grid has fewer than 2^31 items (LaunchWgmmaLocal); 64-bit divisions are calls.
  const uint32_t item = blockIdx.x, tiles = static_cast<uint32_t>(row_tiles * col_tiles);
  const int64_t b = item / tiles;
  const int64_t row0 = int64_t{item % static_cast<uint32_t>(row_tiles)} * Config::kRows;
  const int64_t col0 =
      int64_t{item / static_cast<uint32_t>(row_tiles) % static_cast<uint32_t>(col_tiles)} *
      Config::kCols;
  int64_t offset[3];
  args.batch_map.Offsets(b, offset);  // values, dense, bias
  const float* values = args.values + offset[0];
  const float* dense = args.dense + offset[1];

  if (tid == 0) {  // the dense rows first: their copies overlap the densify
    const int dense_row0 = static_cast<int>(offset[1] / args.n);
    for (int c = 0; c < chunks; ++c) {
      BarrierInit(&full[c], 1);
      BarrierExpectBytes(&full[c], sizeof(Stage::dense));
#pragma unroll
      for (int box = 0; box < Stage::kDenseBoxes; ++box)
        TmaLoad2d(stages[c].dense[box], &dense_map,
                  static_cast<int>(col0) + Stage::kBoxColumns * box,
                  dense_row0 + c * Config::kChunk, &full[c]);
    }
  }
  // The big tiles zeroed, then the entries written without atomics (a float32 atomic add on
  // shared memory is a compare-and-swap loop: 2.5 us of 17.7 on ResNet-50's 128 x 256 at 70%,
  // session 56): each entry's index into its word's owner (the small tile, or TF32's owner
  // tiles), the owners' values stored, and only where a column repeats in a row the others'
  // added after. Then (3xTF32) the residues over the owners.
  for (int i = tid; i < chunks * kDensifiedTileWords / 4; i += Config::kThreads)
    reinterpret_cast<uint4*>(stages[i / (kDensifiedTileWords / 4)].tile)
        [i % (kDensifiedTileWords / 4)] = make_uint4(0, 0, 0, 0);
  const auto big = [&](int chunk) { return reinterpret_cast<float*>(stages[chunk].tile); };
  const auto owner = [&](int chunk) {
    return reinterpret_cast<int*>(kSplit ? stages[chunk].tile + kDensifiedTileWords
                                         : owners + chunk * kDensifiedTileWords);
  };
  const SpmmWgmmaLocalRows rows(args, row0, 8 * (tid / 32));
  rows.ForEach<false>(args, values, [&](int e, int word, int chunk, float) {
    owner(chunk)[word] = e;
  });
  __syncthreads();
  JSDL_PHASE_CLOCK_AT(1);
  bool repeats = false;
  rows.ForEach<true>(args, values, [&](int e, int word, int chunk, float v) {
    if (owner(chunk)[word] == e)
      big(chunk)[word] = v;
    else
      repeats = true;
  });
  if (__syncthreads_or(repeats)) {
    rows.ForEach<true>(args, values, [&](int e, int word, int chunk, float v) {
      if (owner(chunk)[word] != e) atomicAdd(big(chunk) + word, v);
    });
    __syncthreads();
  }
  if constexpr (kSplit) {
    for (int i = tid; i < chunks * kDensifiedTileWords / 4; i += Config::kThreads) {
      uint4* tile = reinterpret_cast<uint4*>(stages[i / (kDensifiedTileWords / 4)].tile);
      const int w = i % (kDensifiedTileWords / 4);
      const uint4 x = tile[w];
      tile[kDensifiedTileWords / 4 + w] = make_uint4(Tf32Residue(x.x), Tf32Residue(x.y),
                                                     Tf32Residue(x.z), Tf32Residue(x.w));
    }
  }
  FenceSharedForWgmma();  // the tiles' ordinary stores, read next by wgmma
  __syncthreads();
  JSDL_PHASE_CLOCK_AT(2);

  // Each warpgroup's chunks: the first half (rounded up) for group 0, the rest for group 1.
  const int half = (chunks + 1) / 2;
  const int c_begin = group == 0 ? 0 : half, c_end = group == 0 ? half : chunks;
  SpmmWgmmaSums<kSplit> sums;
  if (c_begin < c_end) {
    if constexpr (kSplit) {
      BarrierWait(&full[c_begin], 0);
      sums.template First<Config>(stages[c_begin], 0);
      for (int c = c_begin + 1; c < c_end; ++c) {
        BarrierWait(&full[c], 0);
        sums.template Next<Config>(stages[c], 0);
      }
    } else {
      for (int c = c_begin; c < c_end; ++c) {
        BarrierWait(&full[c], 0);
        sums.template Chunk<Config>(stages[c], 0);
      }
    }
    sums.Finish();
  }
  if (chunks > 1) {  // group 1's sums join group 0's
    if (group == 1)
#pragma unroll
      for (int i = 0; i < 32; ++i) joined[i][tid - 128] = sums.acc[i];
    __syncthreads();
    if (group == 1) return;
#pragma unroll
    for (int i = 0; i < 32; ++i) sums.acc[i] += joined[i][tid];
  } else if (group == 1) {
    return;
  }
  JSDL_PHASE_CLOCK_AT(3);
  SpmmWgmmaEpilogue<Config>(args, sums, staging->sums[0], values, dense, offset[2], b, row0,
                            col0);
  JSDL_PHASE_CLOCK_AT(4);
}

}  // namespace jsdl
