// 64 x 64 tiles of A B^T (float32 rows of K) on Hopper's wgmma, checked against float64 and
// timed: the piece an SDDMM tile on wgmma would be built from, tried standalone first
// (docs/kernels.md, sessions 23 and 24). A warpgroup computes a tile over K in 32-deep slices
// with wgmma m64n64k8 on shared-memory descriptors. TF32: one wgmma a k-step. 3xTF32: values
// split into big = TF32(x) and small = x - big; big x big, big x small and small x big, the
// first into a per-slice sum that joins a float32 accumulator after each slice (as SddmmMmaSums
// does), the cross terms over the whole K. Two ways to bring the slices in:
// - register-staged (TileKernel): the threads load a slice into registers (1 or 2 ahead), round
//   and split it, and store it as 8-row core matrices or 128-byte swizzled rows;
// - TMA (TmaTileKernel): one thread has the copy engine fill a ring of swizzled stages; the
//   tensor cores truncate float32 to TF32, and in 3xTF32 the threads write the small parts
//   beside each stage. 1 or 2 warpgroups a block (2 share A's slice).
//
// What it settles before the SDDMM kernel relies on it (each is printed, not assumed):
// - the descriptors for each layout (the core matrices' wrong order is run as a control: its
//   large error shows the check can fail);
// - the accumulators' layout (thread, register) -> (row, column) (an error with the right
//   values in the wrong places shows as a small error of the sorted values);
// - the rate on the SDDMM's own shape: a 2048 x 512 output (the transformer's 256-tile
//   matrices), each block reading its own rows of A and B, so L2 carries what the SDDMM tile
//   kernel's d-loop carries. Measured (session 24, H200, K = 2048): register-staged 110 us TF32,
//   136 us 3xTF32; TMA 31 and 71 us; the package's mma.sync tile 51 and 81 with its output.
//
// Build and run (GPU machine, repository root):
//   nvcc -std=c++17 -O3 -arch=sm_90a scripts/wgmma_tile_probe.cu -o /tmp/wgmma_tile_probe
//   /tmp/wgmma_tile_probe [K]      # K = 2048 by default, a multiple of 64
#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "../cuda/common/mma.cuh"  // ToTf32
#include "../cuda/common/tma.cuh"
#include "../cuda/common/wgmma.cuh"
#include "probe_common.cuh"

namespace {

constexpr int kEdge = 64;                          // tile rows and columns
constexpr int kSlice = 32;                         // k a slice
constexpr int kThreads = 128;                      // one warpgroup
constexpr int kWords = kEdge * kSlice;             // 32-bit words of one operand slice
constexpr int kLoads = kWords / 4 / kThreads;      // float4 loads a thread an operand: 4
constexpr int kTilesM = 32, kTilesN = 8;           // the output: 2048 x 512, 256 tiles

// Word offset of (row r, k) in a slice stored as core matrices of 8 rows x 4 words (128 bytes,
// rows of 16 bytes): core matrix (r / 8, k / 4) at ((k / 4) * 8 + r / 8) * 32 words. So core
// matrices 128 bytes apart along the rows, 1024 along k.
__host__ __device__ constexpr int CoreOffset(int r, int k) {
  return ((k / 4) * 8 + r / 8) * 32 + (r % 8) * 4 + k % 4;
}
constexpr uint32_t kRowsApart = 128, kKApart = 1024;  // bytes between core matrices

// Operand layouts in shared memory: core matrices with the descriptor's leading offset along k
// (the right order) or along rows (the wrong one, kept as the check's control), or rows of 128
// bytes with the 128-byte swizzle (how CUTLASS feeds wgmma; ncu at 454a511: without swizzle the
// tensor cores' reads kept the L1 data pipe 88% busy at 8.6% tensor activity).
enum Layout { kCoreK, kCoreRows, kSwizzled };

// Word offset of (row r, k) in a slice of the layout, and the descriptor of k-step `step`
// (k = 8 step to 8 step + 7).
template <int kLayout>
__device__ __forceinline__ int SliceOffset(int r, int k) {
  if constexpr (kLayout == kSwizzled) return jsdl::Swizzled128Word(r, k);
  return CoreOffset(r, k);
}
template <int kLayout>
__device__ __forceinline__ uint64_t StepDescriptor(const uint32_t* slice, int step) {
  if constexpr (kLayout == kSwizzled) return jsdl::Swizzled128StepDescriptor(slice, step);
  constexpr uint32_t leading = kLayout == kCoreK ? kKApart : kRowsApart;
  constexpr uint32_t stride = kLayout == kCoreK ? kRowsApart : kKApart;
  return jsdl::WgmmaDescriptor(slice + CoreOffset(0, step * 8), leading, stride);
}

// The (row, k) of float4 number q (0-511) of a 64 x 32 slice. A warp takes 8 rows x 4 float4
// (64 contiguous bytes a row: whole sectors), its lanes 8 apart on k, so each 8-lane phase of
// a 16-byte shared store covers rows 0-7 of one core-matrix column: all 32 banks. (Session 23's
// 4 rows x 8 float4 put 8 lanes on the same 4 banks: ncu counted 4.5x the ideal wavefronts and
// the L1 data pipe 85% busy, 113 us against mma:64's 51.)
__device__ __forceinline__ int2 SliceElement(int q) {
  const int lane = q % 32, warp = q / 32;  // 16 warps of float4
  return {(warp % 8) * 8 + lane % 8, ((warp / 8) * 4 + lane / 8) * 4};
}

// Shared memory of a block: two stages of (big, small) x (A, B) slices.
struct Stage {
  uint32_t a[2][kWords], b[2][kWords];  // [0]: big (or TF32), [1]: small
};

// One 32-deep slice on the tensor cores, operands at a_big / b_big (and their small parts at
// a_small / b_small in 3xTF32) in `kLayout`: TF32 into acc, or 3xTF32 with big x big into
// the slice's `part` and the cross terms into `cross`. Issued and committed, not waited for.
template <bool kSplit, int kLayout>
__device__ __forceinline__ void IssueSlice(const uint32_t* a_big, const uint32_t* b_big,
                                           const uint32_t* a_small, const uint32_t* b_small,
                                           float (&acc)[32], float (&part)[32],
                                           float (&cross)[32]) {
  if constexpr (kSplit) jsdl::WgmmaPin(part);  // the join's reads stay before the next wgmma
  jsdl::WgmmaFence();
#pragma unroll
  for (int step = 0; step < kSlice / 8; ++step) {
    const uint64_t ab = StepDescriptor<kLayout>(a_big, step);
    const uint64_t bb = StepDescriptor<kLayout>(b_big, step);
    if constexpr (kSplit) {
      jsdl::WgmmaTf32(part, ab, bb, step);  // step 0 starts the slice's sum
      jsdl::WgmmaTf32(cross, ab, StepDescriptor<kLayout>(b_small, step), 1);
      jsdl::WgmmaTf32(cross, StepDescriptor<kLayout>(a_small, step), bb, 1);
    } else {
      jsdl::WgmmaTf32(acc, ab, bb, 1);
    }
  }
  jsdl::WgmmaCommit();
}

// After the wait: a slice's big x big joins the float32 sum (3xTF32).
template <bool kSplit>
__device__ __forceinline__ void JoinSlice(float (&acc)[32], float (&part)[32]) {
  if constexpr (kSplit) {
    jsdl::WgmmaPin(part);
#pragma unroll
    for (int i = 0; i < 32; ++i) acc[i] += part[i];
  }
}

// The cross terms join (where finite), and the tile goes to its place in c.
template <bool kSplit>
__device__ __forceinline__ void FinishTile(float (&acc)[32], float (&cross)[32], float* c,
                                           int tile_m, int tile_n) {
  if constexpr (kSplit) {
    jsdl::WgmmaPin(cross);
#pragma unroll
    for (int i = 0; i < 32; ++i)
      if (isfinite(cross[i])) acc[i] += cross[i];
  } else {
    jsdl::WgmmaPin(acc);
  }
  constexpr int kOutCols = kTilesN * kEdge;
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    const int2 at = jsdl::WgmmaAccumulatorAt(i);
    c[static_cast<int64_t>(tile_m * kEdge + at.x) * kOutCols + tile_n * kEdge + at.y] = acc[i];
  }
}

// kSplit: 3xTF32, else TF32. kLayout: the operands' layout in shared memory. kAhead: slices
// held in registers ahead of the one the tensor cores work on (1 or 2). Block b computes output
// tile (b / kTilesN, b % kTilesN) from A's and B's 64 rows of it; c is the whole output.
template <bool kSplit, int kLayout, int kAhead>
__global__ void __launch_bounds__(kThreads) TileKernel(const float* a, const float* b, int k,
                                                       float* c) {
  extern __shared__ __align__(1024) unsigned char smem[];  // swizzle atoms: 1024-aligned
  Stage* stages = reinterpret_cast<Stage*>(smem);
  const int tid = threadIdx.x;
  const int tile_m = blockIdx.x / kTilesN, tile_n = blockIdx.x % kTilesN;
  a += static_cast<int64_t>(tile_m) * kEdge * k;
  b += static_cast<int64_t>(tile_n) * kEdge * k;

  struct Regs {
    float4 a[kLoads], b[kLoads];
  };
  Regs regs[2];  // indexed by constants only (the loop below is unrolled by 2)
  const auto load = [&](Regs& r, int slice) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int2 e = SliceElement(tid + i * kThreads);
      const int row = e.x, kk = e.y;
      const int64_t at = static_cast<int64_t>(row) * k + slice * kSlice + kk;
      r.a[i] = *reinterpret_cast<const float4*>(a + at);
      r.b[i] = *reinterpret_cast<const float4*>(b + at);
    }
  };
  const auto store = [&](const Regs& r, Stage& s) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int2 e = SliceElement(tid + i * kThreads);
      const int row = e.x, kk = e.y;
      const float va[4] = {r.a[i].x, r.a[i].y, r.a[i].z, r.a[i].w};
      const float vb[4] = {r.b[i].x, r.b[i].y, r.b[i].z, r.b[i].w};
      uint4 big_a, big_b, small_a, small_b;
      uint32_t* ba = &big_a.x;
      uint32_t* bb = &big_b.x;
      uint32_t* sa = &small_a.x;
      uint32_t* sb = &small_b.x;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        ba[j] = jsdl::ToTf32(va[j]);
        bb[j] = jsdl::ToTf32(vb[j]);
        sa[j] = __float_as_uint(va[j] - __uint_as_float(ba[j]));
        sb[j] = __float_as_uint(vb[j] - __uint_as_float(bb[j]));
      }
      const int at = SliceOffset<kLayout>(row, kk);
      *reinterpret_cast<uint4*>(&s.a[0][at]) = big_a;
      *reinterpret_cast<uint4*>(&s.b[0][at]) = big_b;
      if constexpr (kSplit) {
        *reinterpret_cast<uint4*>(&s.a[1][at]) = small_a;
        *reinterpret_cast<uint4*>(&s.b[1][at]) = small_b;
      }
    }
    // Generic-proxy stores, read next by wgmma's async proxy.
    jsdl::FenceSharedForWgmma();
  };

  float acc[32] = {}, part[32] = {}, cross[32] = {};
  const int slices = k / kSlice;
  // Slice s: the tensor cores on stage s % 2 while slice s + kAhead loads into `loading` (the
  // registers slice s came through) and slice s + 1, already in `next`, is stored next.
  const auto step_slice = [&](int s, Regs& loading, Regs& next) {
    Stage& cur = stages[s & 1];
    IssueSlice<kSplit, kLayout>(cur.a[0], cur.b[0], cur.a[1], cur.b[1], acc, part, cross);
    if (s + kAhead < slices) load(loading, s + kAhead);  // in flight beside the tensor cores
    jsdl::WgmmaWait<0>();
    JoinSlice<kSplit>(acc, part);
    if (s + 1 < slices) {
      store(next, stages[(s + 1) & 1]);  // the stage read before the last barrier
      __syncthreads();
    }
  };
  load(regs[0], 0);
  if constexpr (kAhead == 2) load(regs[1], 1);
  store(regs[0], stages[0]);
  __syncthreads();
  for (int s = 0; s < slices; s += 2) {  // slices is even (K a multiple of 64)
    if constexpr (kAhead == 2) {
      step_slice(s, regs[0], regs[1]);
      step_slice(s + 1, regs[1], regs[0]);
    } else {
      step_slice(s, regs[0], regs[0]);
      step_slice(s + 1, regs[0], regs[0]);
    }
  }
  FinishTile<kSplit>(acc, cross, c, tile_m, tile_n);
}

// The TMA path: slices land raw (float32) in a ring of kStages stages, 128-byte swizzled by the
// copy engine, with no thread loading or storing them; one thread issues the copies. The tensor
// cores read float32 as TF32 by dropping the low 13 bits (truncation, where the register path
// rounds). 3xTF32: the threads write small = x - TF32(x) beside each stage (same layout, element
// by element; exact), and the products are raw x raw, raw x small and small x raw.
// kGroups warpgroups a block (1 or 2) share the slice of A's 64 rows; each takes its own 64
// rows of B, so a block computes 64 x (64 kGroups) of the output and a product costs fewer L2
// bytes and split passes with 2. A stage holds A's slice, then B's kGroups slices: raw, and in
// 3xTF32 their small parts after them.
template <bool kSplit, int kGroups>
struct alignas(1024) TmaStage {
  static constexpr int kParts = 1 + kGroups;  // slices of 64 x 32
  uint32_t raw[kParts * kWords];
  uint32_t small[kSplit ? kParts * kWords : 1];
};

// One thread has the copy engine bring slice s: A's 64 rows of the tile, then B's 64 rows for
// each of kGroups column tiles, into `raw`, counted on `bar`.
template <int kGroups>
__device__ __forceinline__ void LoadTmaSlice(uint32_t* raw, const CUtensorMap* map_a,
                                             const CUtensorMap* map_b, int s, int tile_m,
                                             int tile_n0, uint64_t* bar) {
  jsdl::BarrierExpectBytes(bar, (1 + kGroups) * kWords * 4);
  jsdl::TmaLoad2d(raw, map_a, s * kSlice, tile_m * kEdge, bar);
#pragma unroll
  for (int g = 0; g < kGroups; ++g)
    jsdl::TmaLoad2d(raw + (1 + g) * kWords, map_b, s * kSlice, (tile_n0 + g) * kEdge, bar);
}

// Starts the ring: its barriers set up, then issue(s) (one thread: LoadTmaSlice) for its first
// kStages slices.
template <int kStages, typename Issue>
__device__ __forceinline__ void StartTmaRing(uint64_t (&full)[kStages], int slices, Issue issue) {
  if (threadIdx.x == 0)
    for (int i = 0; i < kStages; ++i) jsdl::BarrierInit(&full[i], 1);
  __syncthreads();
  if (threadIdx.x == 0)
    for (int s = 0; s < kStages && s < slices; ++s) issue(s);
}

template <bool kSplit, int kStages, int kGroups>
__global__ void __launch_bounds__(kThreads * kGroups)
    TmaTileKernel(const __grid_constant__ CUtensorMap map_a,
                  const __grid_constant__ CUtensorMap map_b, int k, float* c) {
  using StageT = TmaStage<kSplit, kGroups>;
  extern __shared__ unsigned char smem_raw[];
  __shared__ uint64_t full[kStages];  // slice landed
  const int tid = threadIdx.x, group = tid / kThreads;
  constexpr int kBlocksN = kTilesN / kGroups;
  const int tile_m = blockIdx.x / kBlocksN, tile_n0 = blockIdx.x % kBlocksN * kGroups;
  const int slices = k / kSlice;
  StageT* stages = jsdl::AlignedStages<StageT>(smem_raw);
  const auto issue = [&](int s) {  // one thread
    LoadTmaSlice<kGroups>(stages[s % kStages].raw, &map_a, &map_b, s, tile_m, tile_n0,
                          &full[s % kStages]);
  };
  StartTmaRing(full, slices, issue);

  float acc[32] = {}, part[32] = {}, cross[32] = {};
  for (int s = 0; s < slices; ++s) {
    StageT& st = stages[s % kStages];
    jsdl::BarrierWait(&full[s % kStages], (s / kStages) & 1);
    if constexpr (kSplit) {
#pragma unroll
      for (int i = tid * 4; i < StageT::kParts * kWords; i += kThreads * kGroups * 4) {
        uint4 v = *reinterpret_cast<const uint4*>(&st.raw[i]);
        uint32_t* pv = &v.x;
#pragma unroll
        for (int j = 0; j < 4; ++j) pv[j] = jsdl::Tf32Residue(pv[j]);
        *reinterpret_cast<uint4*>(&st.small[i]) = v;
      }
      jsdl::FenceSharedForWgmma();
      __syncthreads();
    }
    const int b_at = (1 + group) * kWords;
    IssueSlice<kSplit, kSwizzled>(st.raw, st.raw + b_at, st.small, st.small + b_at, acc, part,
                                  cross);
    jsdl::WgmmaWait<0>();
    JoinSlice<kSplit>(acc, part);
    __syncthreads();  // every warp's tensor cores done with the stage
    if (tid == 0 && s + kStages < slices) {
      jsdl::FenceSharedForWgmma();  // generic reads of the stage before the copy engine's writes
      issue(s + kStages);
    }
  }
  FinishTile<kSplit>(acc, cross, c, tile_m, tile_n0 + group);
}

// 3xTF32 on TMA without the small parts' pass: each thread reads its A fragments of A's and of
// B's rows from the raw stage (conflict-free in the swizzled layout), keeps x - TF32(x) in
// registers, and feeds them to wgmma as the register operand: small_a x raw_b into `cross`, and
// small_b x raw_a into `cross_t`, which holds the transpose (rows of B by rows of A) and joins
// through shared memory once after the d-loop. big x big is raw x raw by descriptors, as in
// TmaTileKernel. No barrier between the copy and the tensor cores, and half the shared traffic.
// kSwapA swaps the fragment's middle registers: the check's control for the A layout.
template <int kStages, bool kSwapA>
__global__ void __launch_bounds__(kThreads)
    TmaRegTileKernel(const __grid_constant__ CUtensorMap map_a,
                     const __grid_constant__ CUtensorMap map_b, int k, float* c) {
  using StageT = TmaStage<false, 1>;
  extern __shared__ unsigned char smem_raw[];
  __shared__ uint64_t full[kStages];  // slice landed
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int tile_m = blockIdx.x / kTilesN, tile_n = blockIdx.x % kTilesN;
  const int slices = k / kSlice;
  StageT* stages = jsdl::AlignedStages<StageT>(smem_raw);
  const auto issue = [&](int s) {  // one thread
    LoadTmaSlice<1>(stages[s % kStages].raw, &map_a, &map_b, s, tile_m, tile_n,
                    &full[s % kStages]);
  };
  StartTmaRing(full, slices, issue);

  // A thread's fragment element e: row 16 warp + lane / 4 + 8 (e % 2), k lane % 4 + 4 (e / 2).
  const auto fragment_offset = [&](int e, int step) {
    const int f = kSwapA && (e == 1 || e == 2) ? 3 - e : e;
    return SliceOffset<kSwizzled>(16 * warp + lane / 4 + 8 * (f % 2),
                                  8 * step + lane % 4 + 4 * (f / 2));
  };
  float acc[32] = {}, part[32] = {}, cross[32] = {}, cross_t[32] = {};
  for (int s = 0; s < slices; ++s) {
    StageT& st = stages[s % kStages];
    const uint32_t* raw_a = st.raw;
    const uint32_t* raw_b = st.raw + kWords;
    jsdl::BarrierWait(&full[s % kStages], (s / kStages) & 1);
    uint32_t small_a[kSlice / 8][4], small_b[kSlice / 8][4];
#pragma unroll
    for (int step = 0; step < kSlice / 8; ++step)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int at = fragment_offset(e, step);
        small_a[step][e] = jsdl::Tf32Residue(raw_a[at]);
        small_b[step][e] = jsdl::Tf32Residue(raw_b[at]);
      }
    jsdl::WgmmaPin(part);
    jsdl::WgmmaFence();
#pragma unroll
    for (int step = 0; step < kSlice / 8; ++step) {
      const uint64_t da = StepDescriptor<kSwizzled>(raw_a, step);
      const uint64_t db = StepDescriptor<kSwizzled>(raw_b, step);
      jsdl::WgmmaTf32(part, da, db, step);
      jsdl::WgmmaTf32RegA(cross, small_a[step], db, 1);
      jsdl::WgmmaTf32RegA(cross_t, small_b[step], da, 1);
    }
    jsdl::WgmmaCommit();
    jsdl::WgmmaWait<0>();
#pragma unroll
    for (int step = 0; step < kSlice / 8; ++step) {
      jsdl::WgmmaPin(small_a[step]);
      jsdl::WgmmaPin(small_b[step]);
    }
    JoinSlice<true>(acc, part);
    __syncthreads();  // every warp's tensor cores done with the stage
    if (tid == 0 && s + kStages < slices) {
      jsdl::FenceSharedForWgmma();  // generic reads of the stage before the copy engine's writes
      issue(s + kStages);
    }
  }
  // cross_t's (B row, A row) entries into cross's (A row, B row), through the free stages.
  jsdl::WgmmaPin(cross_t);
  float(*t)[kEdge + 1] = reinterpret_cast<float(*)[kEdge + 1]>(stages);
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    const int2 at = jsdl::WgmmaAccumulatorAt(i);
    t[at.y][at.x] = cross_t[i];
  }
  __syncthreads();
  jsdl::WgmmaPin(cross);
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    const int2 at = jsdl::WgmmaAccumulatorAt(i);
    cross[i] += t[at.x][at.y];
  }
  FinishTile<true>(acc, cross, c, tile_m, tile_n);
}

// A 2-D tensor map of `rows` rows of k float32, boxes of 64 rows x 32 (one slice of a tile),
// 128-byte swizzled.
CUtensorMap SliceMap(const float* base, int rows, int k) {
  CUtensorMap map;
  const CUresult r = jsdl::EncodeSwizzledRowMap(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, base, rows,
                                                k, sizeof(float), kEdge);
  if (r != CUDA_SUCCESS) {
    std::fprintf(stderr, "cuTensorMapEncodeTiled failed: %d\n", static_cast<int>(r));
    std::exit(1);
  }
  return map;
}

double RelErr(const std::vector<float>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

// Tiles 0 and last of the output c (kTilesM x kTilesN tiles of 64 x 64, row-major).
std::vector<float> CheckedTiles(const float* c) {
  constexpr int kOutCols = kTilesN * kEdge;
  std::vector<float> host(static_cast<size_t>(kTilesM) * kEdge * kOutCols);
  PROBE_CHECK(cudaMemcpy(host.data(), c, sizeof(float) * host.size(), cudaMemcpyDeviceToHost));
  std::vector<float> out;
  for (int tile : {0, kTilesM * kTilesN - 1}) {
    const int tm = tile / kTilesN, tn = tile % kTilesN;
    for (int i = 0; i < kEdge; ++i)
      for (int j = 0; j < kEdge; ++j)
        out.push_back(host[static_cast<size_t>(tm * kEdge + i) * kOutCols + tn * kEdge + j]);
  }
  return out;
}

// Launches `kernel` once to check tiles 0 and last against float64, then times it; prints a line.
template <typename Kernel, typename... Args>
void Measure(const char* name, int ahead, Kernel kernel, int blocks, int threads, size_t smem,
             int k, float* c, const std::vector<double>& ref, int num_sms, Args... args) {
  PROBE_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(smem)));
  const size_t out_bytes = sizeof(float) * kTilesM * kTilesN * kEdge * kEdge;
  PROBE_CHECK(cudaMemset(c, 0xff, out_bytes));  // NaN: unwritten shows
  kernel<<<blocks, threads, smem>>>(args..., k, c);
  PROBE_CHECK(cudaGetLastError());
  PROBE_CHECK(cudaDeviceSynchronize());
  std::vector<float> out = CheckedTiles(c);
  std::vector<float> sorted_out = out;
  std::vector<double> sorted_ref = ref;
  std::sort(sorted_out.begin(), sorted_out.end());
  std::sort(sorted_ref.begin(), sorted_ref.end());
  const double err = RelErr(out, ref), sorted_err = RelErr(sorted_out, sorted_ref);
  int resident = 0;
  PROBE_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, kernel, threads, smem));
  const double us =
      MedianMs([&] { kernel<<<blocks, threads, smem>>>(args..., k, c); }, 21) * 1e3;
  const int tiles = kTilesM * kTilesN, groups = threads / kThreads;
  const double useful = 2.0 * kEdge * kEdge * k * tiles;
  const double bytes = (1.0 + groups) * kEdge * k * 4 * blocks;  // A once a block, B per group
  std::printf("%-24s ahead=%d K=%d rel_err=%.2e sorted_rel_err=%.2e blocks=%d of %d x %d "
              "(SMs %d, %d resident an SM) us=%.2f dense TFLOP/s=%.1f L2 TB/s=%.2f\n",
              name, ahead, k, err, sorted_err, blocks, kEdge, kEdge * groups, num_sms, resident,
              us, useful / us * 1e-6, bytes / us * 1e-6);
}

// The register-staged kernel; 8 KB past the stages: the wrong descriptor order reads up to
// 5.4 KB past the last slice.
template <bool kSplit, int kLayout, int kAhead>
void Run(const char* name, const float* a, const float* b, int k, float* c,
         const std::vector<double>& ref, int num_sms) {
  Measure(name, kAhead, TileKernel<kSplit, kLayout, kAhead>, kTilesM * kTilesN, kThreads,
          2 * sizeof(Stage) + 8192, k, c, ref, num_sms, a, b);
}

// The TMA kernel: kStages - 1 slices in flight beside the one on the tensor cores.
template <bool kSplit, int kStages, int kGroups>
void RunTma(const char* name, const CUtensorMap& map_a, const CUtensorMap& map_b, int k,
            float* c, const std::vector<double>& ref, int num_sms) {
  Measure(name, kStages - 1, TmaTileKernel<kSplit, kStages, kGroups>,
          kTilesM * kTilesN / kGroups, kThreads * kGroups,
          kStages * sizeof(TmaStage<kSplit, kGroups>) + 1024, k, c, ref, num_sms, map_a, map_b);
}

// The TMA kernel with the small parts in registers.
template <int kStages, bool kSwapA>
void RunTmaReg(const char* name, const CUtensorMap& map_a, const CUtensorMap& map_b, int k,
               float* c, const std::vector<double>& ref, int num_sms) {
  Measure(name, kStages - 1, TmaRegTileKernel<kStages, kSwapA>, kTilesM * kTilesN, kThreads,
          kStages * sizeof(TmaStage<false, 1>) + 1024, k, c, ref, num_sms, map_a, map_b);
}

}  // namespace

int main(int argc, char** argv) {
  const int k = argc > 1 ? std::atoi(argv[1]) : 2048;
  if (k <= 0 || k % (2 * kSlice) != 0) {
    std::fprintf(stderr, "K must be a positive multiple of %d\n", 2 * kSlice);
    return 2;
  }
  const int num_sms = DescribeDevice().num_sms;
  std::mt19937 gen(1234);
  std::normal_distribution<float> normal;
  std::vector<float> ha(static_cast<size_t>(kTilesM) * kEdge * k);
  std::vector<float> hb(static_cast<size_t>(kTilesN) * kEdge * k);
  for (float& v : ha) v = normal(gen);
  for (float& v : hb) v = normal(gen);
  std::vector<double> ref;  // tiles 0 and last, as CheckedTiles orders them
  for (int tile : {0, kTilesM * kTilesN - 1}) {
    const float* ta = ha.data() + static_cast<size_t>(tile / kTilesN) * kEdge * k;
    const float* tb = hb.data() + static_cast<size_t>(tile % kTilesN) * kEdge * k;
    for (int i = 0; i < kEdge; ++i)
      for (int j = 0; j < kEdge; ++j) {
        double s = 0;
        for (int q = 0; q < k; ++q) s += static_cast<double>(ta[i * k + q]) * tb[j * k + q];
        ref.push_back(s);
      }
  }
  float *a = nullptr, *b = nullptr, *c = nullptr;
  PROBE_CHECK(cudaMalloc(&a, sizeof(float) * ha.size()));
  PROBE_CHECK(cudaMalloc(&b, sizeof(float) * hb.size()));
  PROBE_CHECK(cudaMalloc(&c, sizeof(float) * kTilesM * kTilesN * kEdge * kEdge));
  PROBE_CHECK(cudaMemcpy(a, ha.data(), sizeof(float) * ha.size(), cudaMemcpyHostToDevice));
  PROBE_CHECK(cudaMemcpy(b, hb.data(), sizeof(float) * hb.size(), cudaMemcpyHostToDevice));
  Run<false, kCoreK, 1>("tf32 core leading=k", a, b, k, c, ref, num_sms);
  Run<false, kCoreRows, 1>("tf32 core leading=rows", a, b, k, c, ref, num_sms);
  Run<false, kSwizzled, 1>("tf32 swizzled", a, b, k, c, ref, num_sms);
  Run<false, kSwizzled, 2>("tf32 swizzled", a, b, k, c, ref, num_sms);
  Run<true, kCoreK, 1>("3xtf32 core leading=k", a, b, k, c, ref, num_sms);
  Run<true, kSwizzled, 1>("3xtf32 swizzled", a, b, k, c, ref, num_sms);
  Run<true, kSwizzled, 2>("3xtf32 swizzled", a, b, k, c, ref, num_sms);
  const CUtensorMap map_a = SliceMap(a, kTilesM * kEdge, k);
  const CUtensorMap map_b = SliceMap(b, kTilesN * kEdge, k);
  RunTma<false, 4, 1>("tf32 tma", map_a, map_b, k, c, ref, num_sms);
  RunTma<false, 4, 2>("tf32 tma", map_a, map_b, k, c, ref, num_sms);
  RunTma<true, 3, 1>("3xtf32 tma", map_a, map_b, k, c, ref, num_sms);
  RunTma<true, 2, 2>("3xtf32 tma", map_a, map_b, k, c, ref, num_sms);
  RunTma<true, 4, 2>("3xtf32 tma", map_a, map_b, k, c, ref, num_sms);
  RunTmaReg<4, false>("3xtf32 tma regs", map_a, map_b, k, c, ref, num_sms);
  RunTmaReg<4, true>("3xtf32 tma regs swapped", map_a, map_b, k, c, ref, num_sms);
  RunTmaReg<6, false>("3xtf32 tma regs", map_a, map_b, k, c, ref, num_sms);
  PROBE_CHECK(cudaFree(a));
  PROBE_CHECK(cudaFree(b));
  PROBE_CHECK(cudaFree(c));
  return 0;
}
