// SpMM on mma.sync over the sparse rows densified in shared memory (session 51; float32). The
// CUDA-core kernels need one dense element from shared memory a multiply-add; on the tensor
// cores a dense element read feeds 16 rows. The wgmma tile does that over tiles densified by a
// kernel before it, whose launch and pass cost more than a short call takes (kStartNanos); this
// tile densifies its own rows, so a call is one launch and needs no work buffer.
//
// A block (SpmmMmaConfig): kRows sparse rows x kCols dense columns. It zeroes a kRows x k float32
// tile in shared memory and adds its rows' entries into it (atomics: duplicate entries add up,
// columns may come in any order), then for each column tile (grid.y stride) streams the dense
// rows in kChunk-row chunks through kStages cp.async stages into four warps of m16n8k8 TF32
// mmas. At HIGHEST (kSplit) each product is 3xTF32 (mma.cuh): big x big into `part`, added to
// `acc` after each chunk, big x small and small x big into `cross`, added at the end; at DEFAULT
// operands are rounded to TF32 (as XLA's dot).
// Sparse semantics: the tensor cores multiply the densified zeros too, and 0 x inf is NaN, so an
// output that is not finite is computed again from its row's entries on CUDA cores.
#pragma once

#include <cstdint>

#include "../common/async_copy.cuh"
#include "../common/mma.cuh"
#include "spmm_config.h"
#include "spmm_tiles.cuh"  // SpmmArgs

namespace jsdl {

// Zeroes the block's A tile, then adds its rows' entries (kThreads / kRows threads a row).
__device__ __forceinline__ void DensifyMmaRows(float* a_tile, int a_pitch,
                                               const SpmmArgs<float>& args, const float* values,
                                               int64_t row0, int thread) {
  using Config = SpmmMmaConfig;
  auto* a4 = reinterpret_cast<float4*>(a_tile);
  for (int i = thread; i < Config::kRows * a_pitch / 4; i += Config::kThreads)
    a4[i] = make_float4(0.f, 0.f, 0.f, 0.f);
  __syncthreads();
  constexpr int kPerRow = Config::kThreads / Config::kRows;
  const int r = thread / kPerRow;
  const int64_t row = row0 + r;
  if (row >= args.m) return;
  const int32_t end = __ldg(args.row_offsets + row + 1);
  for (int32_t e = __ldg(args.row_offsets + row) + thread % kPerRow; e < end; e += kPerRow) {
    const uint32_t col = static_cast<uint32_t>(__ldg(args.column_indices + e));
    if (col < static_cast<uint32_t>(args.k)) atomicAdd(a_tile + r * a_pitch + col, __ldg(values + e));
  }
}

// Chunk `chunk` of the dense rows (kChunk rows x kCols columns from col0) into a stage; zeros past
// k and past n (n % 4 == 0: a 16-byte piece is whole or absent).
__device__ __forceinline__ void CopyMmaChunk(float* stage, const float* dense, int64_t n, int64_t k,
                                             int64_t chunk, int64_t col0, int thread) {
  using Config = SpmmMmaConfig;
  constexpr int kPieces = Config::kCols / 4;  // 16-byte pieces a row
  constexpr int kRowStep = Config::kThreads / kPieces;
  const int piece = thread % kPieces;
  const bool col_inside = col0 + 4 * piece < n;
#pragma unroll
  for (int i = 0; i < Config::kChunk / kRowStep; ++i) {
    const int r = thread / kPieces + i * kRowStep;
    const int64_t kr = chunk * Config::kChunk + r;
    const bool inside = col_inside && kr < k;
    CopyAsync16(stage + r * Config::kStagePitch + 4 * piece,
                inside ? dense + kr * n + col0 + 4 * piece : dense, inside);
  }
}

// x rounded to TF32 in place (DEFAULT: as XLA's dot; the tensor cores would truncate).
template <int kN>
__device__ __forceinline__ void RoundTf32(uint32_t (&x)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) x[i] = ToTf32(__uint_as_float(x[i]));
}

// One output computed again from its row's entries (exact float32 products, CUDA cores). Not
// inlined: rare, and it keeps the kernel's registers for the mmas.
__device__ __noinline__ float SpmmMmaEntrySum(const int32_t* row_offsets,
                                              const int32_t* column_indices, const float* values,
                                              const float* dense, int64_t n, int64_t row,
                                              int64_t col) {
  float sum = 0.f;
  const int32_t end = __ldg(row_offsets + row + 1);
  for (int32_t e = __ldg(row_offsets + row); e < end; ++e)
    sum += __ldg(values + e) * __ldg(dense + int64_t{__ldg(column_indices + e)} * n + col);
  return sum;
}

// Grid: (ceil(m / kRows), column tiles, batch), the last two with stride loops; a_pitch:
// SpmmMmaConfig::APitch(k).
template <bool kSplit>
__global__ void __launch_bounds__(SpmmMmaConfig::kThreads)
    SpmmMmaKernel(const SpmmArgs<float> args, int a_pitch) {
  using Config = SpmmMmaConfig;
  constexpr int kFragsN = Config::kCols / Config::kWarpsN / 8;  // n8 fragments a warp
  extern __shared__ __align__(16) float smem[];
  float* const a_tile = smem;
  float* const stages = smem + Config::kRows * a_pitch;
  const int thread = threadIdx.x, warp = thread / 32, lane = thread % 32;
  const int g = lane / 4, t = lane % 4;
  const int warp_row = warp / Config::kWarpsN * 16;
  const int warp_col = warp % Config::kWarpsN * (kFragsN * 8);
  const int64_t row0 = int64_t{blockIdx.x} * Config::kRows;
  const int64_t chunks = (args.k + Config::kChunk - 1) / Config::kChunk;
  // ldmatrix: lanes 8q..8q+7 address the rows of block q = (rows 8 (q % 2).., k 4 (q / 2)..).
  const float* const a_lane =
      a_tile + (warp_row + lane % 8 + 8 * (lane / 8 % 2)) * a_pitch + 4 * (lane / 16);

  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[3];
    args.batch_map.Offsets(b, offset);
    const float* values = args.values + offset[kSpmmValues];
    const float* dense = args.dense + offset[kSpmmDense];
    __syncthreads();  // the previous batch item's tile is no longer read
    DensifyMmaRows(a_tile, a_pitch, args, values, row0, thread);

    for (int64_t tile = blockIdx.y; tile < args.column_tiles; tile += gridDim.y) {
      const int64_t col0 = tile * Config::kCols;
      __syncthreads();  // the previous tile's stages are no longer read
#pragma unroll
      for (int s = 0; s < Config::kStages - 1; ++s) {
        if (s < chunks)
          CopyMmaChunk(stages + s * Config::kChunk * Config::kStagePitch, dense, args.n, args.k,
                       s, col0, thread);
        CopyAsyncCommit();
      }
      float acc[kFragsN][4] = {}, part[kFragsN][4] = {}, cross[kFragsN][4] = {};
      for (int64_t c = 0; c < chunks; ++c) {
        CopyAsyncWaitAllBut<Config::kStages - 2>();  // chunk c's group is done
        __syncthreads();  // chunk c (and at c = 0 the A tile) for all; stage c - 1 free
        const int64_t next = c + Config::kStages - 1;
        if (next < chunks)
          CopyMmaChunk(stages + next % Config::kStages * Config::kChunk * Config::kStagePitch,
                       dense, args.n, args.k, next, col0, thread);
        CopyAsyncCommit();
        const float* stage = stages + c % Config::kStages * Config::kChunk * Config::kStagePitch +
                             t * Config::kStagePitch + warp_col + g;
#pragma unroll
        for (int ks = 0; ks < Config::kChunk / 8; ++ks) {
          uint32_t a[4], b[kFragsN][2];
          LoadBlocksX4(a, reinterpret_cast<const uint32_t*>(a_lane + c * Config::kChunk + 8 * ks));
#pragma unroll
          for (int j = 0; j < kFragsN; ++j) {
            const float* p = stage + 8 * ks * Config::kStagePitch + 8 * j;
            b[j][0] = __float_as_uint(p[0]);
            b[j][1] = __float_as_uint(p[4 * Config::kStagePitch]);
          }
          if constexpr (kSplit) {
            uint32_t a_small[4], b_small[kFragsN][2];
            SplitTf32(a, a, a_small);
#pragma unroll
            for (int j = 0; j < kFragsN; ++j) {
              SplitTf32(b[j], b[j], b_small[j]);
              MmaTf32(cross[j], a_small, b[j]);
              MmaTf32(cross[j], a, b_small[j]);
              MmaTf32(part[j], a, b[j]);
            }
          } else {
            RoundTf32(a);
#pragma unroll
            for (int j = 0; j < kFragsN; ++j) {
              RoundTf32(b[j]);
              MmaTf32(acc[j], a, b[j]);
            }
          }
        }
        if constexpr (kSplit) {  // float32 adds between chunks
#pragma unroll
          for (int j = 0; j < kFragsN; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[j][i] += part[j][i], part[j][i] = 0.f;
        }
      }
      // Epilogue: c = {(g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1)} of each fragment.
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int64_t row = row0 + warp_row + g + 8 * h;
        if (row >= args.m) continue;
        const float bias = args.has_bias ? __ldg(args.bias + offset[kSpmmBias] + row) : 0.f;
        float* out_row = args.out + (b * args.m + row) * args.n;
#pragma unroll
        for (int j = 0; j < kFragsN; ++j) {
          const int64_t col = col0 + warp_col + 8 * j + 2 * t;
          if (col >= args.n) continue;  // n % 4 == 0: the pair is whole or absent
          float v[2];
#pragma unroll
          for (int i = 0; i < 2; ++i) {
            v[i] = acc[j][2 * h + i] + cross[j][2 * h + i];
            if (!isfinite(v[i]))
              v[i] = SpmmMmaEntrySum(args.row_offsets, args.column_indices, values, dense,
                                     args.n, row, col + i);
            v[i] += bias;
            v[i] = args.relu && v[i] < 0.f ? 0.f : v[i];  // keeps NaN
          }
          *reinterpret_cast<float2*>(out_row + col) = make_float2(v[0], v[1]);
        }
      }
    }
  }
}

}  // namespace jsdl
