// The wgmma tile's sparse operand, densified once per call (session 27): every non-empty 64 x 64
// tile of the pattern's tile index as the wgmma tile's stage holds it, so that its producer only
// copies (one bulk copy a tile) where in session 26 it scattered the entries itself and was
// latency-bound. A float32 tile is two k-major 128-byte swizzled atoms of 32 k (DensifiedWord):
// the float32 sums of its entries (duplicates add up), for 3xTF32 followed by x - TF32(x) of
// each. A 16-bit tile is one such atom of 64 k (Densified16BitK), the sums rounded to the type
// once. Empty tiles are not written (the wgmma tile skips them).
#pragma once

#include <cstdint>

#include "../common/dtype.cuh"  // LoadAcc, FromAcc
#include "../common/grid_dependency.cuh"
#include "../common/mma.cuh"    // Tf32Residue
#include "../common/phase_clock.cuh"  // the harness's phase points (kernel 1)
#include "../common/tile_index.h"
#include "../common/vec.cuh"    // StoreVec
#include "../common/wgmma.cuh"  // Swizzled128Word
#include "spmm_tiles.cuh"       // SpmmArgs

namespace jsdl {

inline constexpr int kDensifiedTileWords = kTileIndexEdge * kTileIndexEdge;

// 32-bit words of a densified tile of T (kSplit: float32 with the residues).
template <typename T, bool kSplit>
__host__ __device__ constexpr int DensifiedTileWords() {
  return kDensifiedTileWords * (kSplit ? 2 : 1) * static_cast<int>(sizeof(T)) / 4;
}

// Words of one values batch item's densified tiles.
template <typename T, bool kSplit>
inline int64_t DensifiedWords(int64_t m, int64_t k) {
  return TileIndexCount(m, k) * DensifiedTileWords<T, kSplit>();
}

// Bytes of the wgmma tile's workspace: the densified tiles of each values batch item
// (elem_bytes: the type's size; split: float32 at HIGHEST).
inline int64_t SpmmWgmmaWorkspaceBytes(int64_t m, int64_t k, int64_t values_batch, bool split,
                                       int elem_bytes = 4) {
  const int64_t words = elem_bytes == 2 ? DensifiedWords<uint16_t, false>(m, k)
                        : split         ? DensifiedWords<float, true>(m, k)
                                        : DensifiedWords<float, false>(m, k);
  return values_batch * words * 4;
}

// Word of (row r, k c) in a densified tile.
__host__ __device__ constexpr int DensifiedWord(int r, int c) {
  return (c / 32) * (kTileIndexEdge * 32) + Swizzled128Word(r, c % 32);
}

// 16-byte chunk j (0-511) of a 16-bit densified tile: row j / 8, k Densified16BitK(j).. (the
// 128-byte swizzle of 64-k rows).
__host__ __device__ constexpr int Densified16BitK(int j) { return 8 * ((j % 8) ^ (j / 8 % 8)); }

// Entries first, first + blockDim.x, .. (kBatch of them, -1 past end): their loads all in
// flight together (the entry, then its column and value: two global latencies a batch).
template <typename T, int kBatch>
__device__ __forceinline__ void DensifyLoadBatch(const SpmmArgs<T>& args, const T* values,
                                                 int first, int end, int k0, int (&e)[kBatch],
                                                 int (&col)[kBatch], float (&v)[kBatch]) {
#pragma unroll
  for (int j = 0; j < kBatch; ++j) {
    const int i = first + j * blockDim.x;
    e[j] = i < end ? __ldg(args.tile_entries + i) : -1;
  }
#pragma unroll
  for (int j = 0; j < kBatch; ++j)
    if (e[j] >= 0) {
      col[j] = __ldg(args.column_indices + e[j]) - k0;
      v[j] = LoadAcc(values + e[j]);
    }
}

// Grid: x the tiles of the index, y the values batch items (values (*bv, nnz) contiguous, their
// tiles DensifiedWords<T, kSplit> = item_words apart). Block (0, 0) also zeroes the wgmma tile's
// counters of parts over k (counter_count of them; SpmmWgmmaJoinParts).
template <typename T, bool kSplit>
__global__ void __launch_bounds__(256)
    SpmmDensifyKernel(const SpmmArgs<T> args, uint32_t* tiles, int64_t item_words, int* counters,
                      int counter_count) {
  __shared__ float4 tile4[kDensifiedTileWords / 4];
  __shared__ int offs[kTileIndexEdge + 1];  // row_offsets of the tile's rows (clamped at m)
  // The wgmma tile after it may launch now (its blocks wait for these tiles before they copy
  // them): its launch and prologue overlap this kernel.
  LaunchDependents();
  JSDL_PHASE_CLOCK_OF(1, 0);  // then its entries known, its tile summed, its stores issued
  if (blockIdx.x == 0 && blockIdx.y == 0)
    for (int i = threadIdx.x; i < counter_count; i += blockDim.x) counters[i] = 0;
  const int64_t t = blockIdx.x;
  const int begin = args.tile_offsets[t], end = args.tile_offsets[t + 1];
  if (begin == end) return;
  JSDL_PHASE_CLOCK_OF(1, 1);
  const int64_t chunks = (args.k + kTileIndexEdge - 1) / kTileIndexEdge;
  const int64_t row0 = t / chunks * kTileIndexEdge;
  const int k0 = static_cast<int>(t % chunks * kTileIndexEdge);
  const T* values = args.values + int64_t{blockIdx.y} * args.nnz;
  // kBatch entries a thread at a time; the first batch's loads are issued before the tile is
  // zeroed, so that their latency overlaps the zeroing and the row offsets' loads.
  constexpr int kBatch = 8;
  int e[kBatch], col[kBatch] = {};  // initialized: else ptxas spilled 8 bytes (16-bit types)
  float v[kBatch] = {};
  DensifyLoadBatch(args, values, begin + threadIdx.x, end, k0, e, col, v);
  for (int i = threadIdx.x; i < kDensifiedTileWords / 4; i += blockDim.x)
    tile4[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  for (int i = threadIdx.x; i <= kTileIndexEdge; i += blockDim.x)
    offs[i] = args.row_offsets[row0 + i < args.m ? row0 + i : args.m];
  __syncthreads();
  float* tile = reinterpret_cast<float*>(tile4);
  for (int first = begin + threadIdx.x; first < end;) {
#pragma unroll
    for (int j = 0; j < kBatch; ++j)
      if (e[j] >= 0) {
        int r = 0;  // the entry's row: the last r with offs[r] <= e
#pragma unroll
        for (int step = kTileIndexEdge / 2; step > 0; step /= 2)
          if (offs[r + step] <= e[j]) r += step;
        atomicAdd(&tile[DensifiedWord(r, col[j])], v[j]);
      }
    first += kBatch * blockDim.x;
    if (first < end) DensifyLoadBatch(args, values, first, end, k0, e, col, v);
  }
  __syncthreads();
  JSDL_PHASE_CLOCK_OF(1, 2);
  uint4* out = reinterpret_cast<uint4*>(tiles + blockIdx.y * item_words +
                                         t * DensifiedTileWords<T, kSplit>());
  if constexpr (sizeof(T) == 2) {  // 8 values a 16-byte chunk, each rounded once
    for (int j = threadIdx.x; j < kDensifiedTileWords / 8; j += blockDim.x) {
      const int r = j / 8, c = Densified16BitK(j);
      float x[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) x[i] = tile[DensifiedWord(r, c + i)];
      StoreVec<T, 8>(reinterpret_cast<T*>(out + j), x);
    }
    JSDL_PHASE_CLOCK_OF(1, 3);
    return;
  }
  const uint4* in = reinterpret_cast<const uint4*>(tile4);
  for (int i = threadIdx.x; i < kDensifiedTileWords / 4; i += blockDim.x) {
    const uint4 x = in[i];
    out[i] = x;
    if constexpr (kSplit)
      out[kDensifiedTileWords / 4 + i] = make_uint4(Tf32Residue(x.x), Tf32Residue(x.y),
                                                    Tf32Residue(x.z), Tf32Residue(x.w));
  }
  JSDL_PHASE_CLOCK_OF(1, 3);
}

}  // namespace jsdl
