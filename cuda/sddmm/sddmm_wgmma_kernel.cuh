// SDDMM on Hopper's wgmma, its operands brought by TMA (sm_90a; docs/kernels.md, session 25):
// the tile kernels' design (a block computes a dense 64 x 64 tile of lhs @ rhs^T over d, then
// stores the tile's pattern entries) with the d-loop measured in scripts/wgmma_tile_probe.cu.
// One thread has the copy engine fill a ring of kStages stages with 128-byte slices of the
// tile's 64 lhs rows and 64 rhs rows (128-byte swizzled; zeros past the operands' ends), and one
// warpgroup's wgmma reads them where they land: no thread loads or stores an operand.
// - float32 at DEFAULT / HIGH: TF32, as the tensor cores read float32 (the low 13 bits dropped:
//   truncation, where the mma.sync tile rounds).
// - float32 at HIGHEST (kSplit): 3xTF32. Each thread keeps x - TF32(x) of its A fragments of
//   both operands' slices in registers (the stage stays raw: no pass over it, no barrier between
//   the copy and the tensor cores): small_lhs x rhs into `cross`, small_rhs x lhs into `cross_t`,
//   the transpose, which joins `cross` through shared memory once after the d-loop; lhs x rhs
//   by descriptors into the slice's `part`, joined to `acc` by float32 adds each slice (as
//   SddmmMmaSums does).
// - bfloat16 and float16: one m64n64k16 a 16-deep step, exact products.
// Rows of a tile past m (k) read the next batch item's rows, or zeros past the buffer: their
// outputs are never stored.
#pragma once

#include <cuda.h>

#include <cstdint>
#include <type_traits>

#include "../common/batch_map.cuh"
#include "../common/dtype.cuh"
#include "../common/mma.cuh"  // Tf32Residue
#include "../common/tma.cuh"
#include "../common/wgmma.cuh"
#include "sddmm_config.h"
#include "sddmm_kernel.cuh"       // SddmmArgs
#include "sddmm_tile_kernel.cuh"  // TileBlock, TileEntryIndex, StoreTileEntries

namespace jsdl {

// One stage: a 64-row x 128-byte slice of each operand as TMA writes it (1024-byte swizzle atoms).
struct alignas(1024) SddmmWgmmaStage {
  static constexpr int kWords = 64 * 32;
  uint32_t lhs[kWords];
  uint32_t rhs[kWords];
};

// The stages in dynamic shared memory, plus 1024 bytes to align them (AlignedStages); the output's
// tile and the transpose's scratch reuse them after the d-loop.
template <typename Config>
constexpr size_t kSddmmWgmmaSmemBytes = Config::kStages * sizeof(SddmmWgmmaStage) + 1024;

// Row stride of the tile in shared memory (the output's tile_out, kBN + 1 as StoreTileEntries
// takes it; the transpose's scratch).
inline constexpr int kSddmmWgmmaTileStride = 64 + 1;

// A warpgroup's sums of one 64 x 64 tile, in a software pipeline: a slice's wgmma are issued
// before the last slice's are waited for, so the tensor cores have work queued while the threads
// wait, join sums and release stages (session 34; with a wait for every slice's wgmma before the
// next was issued, the 3xTF32 tile kept the tensor pipe 44% busy).
template <typename T, bool kSplit>
struct SddmmWgmmaSums {
  static constexpr bool kFloat = std::is_same_v<T, float>;
  static_assert(kFloat || !kSplit, "3xTF32 is for float32");
  static constexpr int kSteps = 4;  // 32-byte k-steps a 128-byte slice
  static constexpr int kSplitRegs = kSplit ? 32 : 1;
  float acc[32] = {};
  float part[kSplitRegs] = {}, cross[kSplitRegs] = {}, cross_t[kSplitRegs] = {};
  // 3xTF32: x - TF32(x) of this thread's A fragments of a slice ([lhs, rhs][step]), for two
  // slices: the one the tensor cores read and the next.
  using Small = uint32_t[2][kSteps][4];
  Small small[kSplit ? 2 : 1];

  // The d-loop over `slices` slices: ready(s) waits until slice s has landed and returns its
  // stage; release(s) runs once this thread's wgmma reading slice s's stage are done (it starts
  // with a barrier: the other warps' may not be).
  template <typename Ready, typename Release>
  __device__ __forceinline__ void Loop(int slices, Ready ready, Release release) {
    if (slices == 0) return;
    if constexpr (kSplit) {
      const SddmmWgmmaStage& first = ready(0);
      LoadSmall(first, small[0]);
      IssueSplit(first, small[0]);
      // Unrolled by two, each slice's small parts in its own registers, and the last slice
      // apart: every step starts with the same groups in flight (ptxas serializes the wgmma
      // where it cannot see that, as it did with one set of small parts reloaded mid-step).
      int s = 0;
      for (; s + 2 < slices; s += 2) {
        SplitStep(s, ready, release, small[0], small[1]);
        SplitStep(s + 1, ready, release, small[1], small[0]);
      }
      if (s + 1 < slices) {
        SplitStep(s, ready, release, small[0], small[1]);
        SplitLast(s + 1, release, small[1]);
      } else {
        SplitLast(s, release, small[0]);
      }
    } else {
      for (int s = 0; s < slices; ++s) {
        const SddmmWgmmaStage& st = ready(s);
        WgmmaFence();
#pragma unroll
        for (int step = 0; step < kSteps; ++step) {
          const uint64_t lhs = Swizzled128StepDescriptor(st.lhs, step);
          const uint64_t rhs = Swizzled128StepDescriptor(st.rhs, step);
          if constexpr (kFloat)
            WgmmaTf32(acc, lhs, rhs, 1);
          else
            Wgmma16Bit<std::is_same_v<T, __nv_bfloat16>>(acc, lhs, rhs, 1);
        }
        WgmmaCommit();
        if (s > 0) {  // slice s - 1's group is done; slice s's runs on
          WgmmaWait<1>();
          release(s - 1);
        }
      }
      WgmmaWait<0>();
      release(slices - 1);
    }
  }

 private:
  // 3xTF32, slice s in flight as two groups (IssueSplit): loads slice s + 1's small parts, joins
  // slice s's `part` once its group is done (the cross terms may still run), issues slice s + 1,
  // and releases slice s once its cross terms are done.
  template <typename Ready, typename Release>
  __device__ __forceinline__ void SplitStep(int s, Ready& ready, Release& release, Small& now,
                                            Small& next_small) {
    const SddmmWgmmaStage& next = ready(s + 1);
    LoadSmall(next, next_small);
    WgmmaWait<1>();
    JoinPart();
    IssueSplit(next, next_small);
    WgmmaWait<2>();
    PinSmall(now);
    release(s);
  }

  template <typename Release>
  __device__ __forceinline__ void SplitLast(int s, Release& release, Small& now) {
    WgmmaWait<0>();
    JoinPart();
    PinSmall(now);
    release(s);
  }

  // This thread's A fragment elements of each step (mma.sync m16n8k8's layout, which wgmma's
  // register A takes): row 16 warp + lane / 4 + 8 (e % 2), word 8 step + lane % 4 + 4 (e / 2).
  __device__ __forceinline__ void LoadSmall(const SddmmWgmmaStage& st, Small& out) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
    for (int step = 0; step < kSteps; ++step)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int at = Swizzled128Word(16 * warp + lane / 4 + 8 * (e % 2),
                                       8 * step + lane % 4 + 4 * (e / 2));
        out[0][step][e] = Tf32Residue(st.lhs[at]);
        out[1][step][e] = Tf32Residue(st.rhs[at]);
      }
  }

  // Two groups: lhs x rhs into `part` (step 0 starts the slice's sum), then the cross terms.
  __device__ __forceinline__ void IssueSplit(const SddmmWgmmaStage& st, Small& sm) {
    WgmmaPin(part);  // the last join's reads stay before the next wgmma
    WgmmaFence();
#pragma unroll
    for (int step = 0; step < kSteps; ++step)
      WgmmaTf32(part, Swizzled128StepDescriptor(st.lhs, step),
                Swizzled128StepDescriptor(st.rhs, step), step);
    WgmmaCommit();
#pragma unroll
    for (int step = 0; step < kSteps; ++step) {
      WgmmaTf32RegA(cross, sm[0][step], Swizzled128StepDescriptor(st.rhs, step), 1);
      WgmmaTf32RegA(cross_t, sm[1][step], Swizzled128StepDescriptor(st.lhs, step), 1);
    }
    WgmmaCommit();
  }

  __device__ __forceinline__ void PinSmall(Small& sm) {  // read by wgmma until the last wait
#pragma unroll
    for (int step = 0; step < kSteps; ++step) {
      WgmmaPin(sm[0][step]);
      WgmmaPin(sm[1][step]);
    }
  }

  __device__ __forceinline__ void JoinPart() {
    WgmmaPin(part);
#pragma unroll
    for (int i = 0; i < 32; ++i) acc[i] += part[i];
  }

 public:
  // After the d-loop (every stage consumed): acc is the sums. 3xTF32: cross_t's (rhs row, lhs row)
  // entries join cross's (lhs row, rhs row) through `scratch` (the stages' bytes), then the
  // cross terms join acc where finite (an infinite input's residue is NaN: its big x big's
  // +-inf or NaN stands, as in SddmmMmaSums). Ends on a barrier: scratch is free again.
  __device__ __forceinline__ void Finish(float (*scratch)[kSddmmWgmmaTileStride]) {
    WgmmaPin(acc);
    if constexpr (kSplit) {
      WgmmaPin(cross_t);
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        const int2 at = WgmmaAccumulatorAt(i);
        scratch[at.y][at.x] = cross_t[i];
      }
      __syncthreads();
      WgmmaPin(cross);
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        const int2 at = WgmmaAccumulatorAt(i);
        const float c = cross[i] + scratch[at.x][at.y];
        if (isfinite(c)) acc[i] += c;
      }
      __syncthreads();
    }
  }

  // The tile's 64 rows into dst (StoreTileEntries' one pass).
  __device__ __forceinline__ void Put(float (*dst)[kSddmmWgmmaTileStride]) const {
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int2 at = WgmmaAccumulatorAt(i);
      dst[at.x][at.y] = acc[i];
    }
  }
};

// Block: one warpgroup (Config::kThreads = 128); grid.x the row tiles of m, grid.y the column
// tiles of k times kParts times the output's shares (TileBlock: kParts = 2 splits d over a
// cluster of two blocks, whose sums meet by AddPartnerSums; shares only with one part), grid.z
// the batch (stride loop). lhs_map / rhs_map: the whole lhs / rhs buffers as rows of d
// (EncodeSwizzledRowMap), a batch item's rows found from its broadcast offset.
template <typename T, typename Config, int kParts, bool kSplit>
__global__ void __launch_bounds__(Config::kThreads, Config::kMinBlocks)
    SddmmWgmmaKernel(const SddmmArgs<T> args, int64_t k, int shares,
                     const __grid_constant__ CUtensorMap lhs_map,
                     const __grid_constant__ CUtensorMap rhs_map) {
  constexpr int kStages = Config::kStages, kBK = Config::kBK;
  static_assert(Config::kBM == 64 && Config::kBN == 64 && Config::kPassRows == 64,
                "one warpgroup's m64n64 tile, one output pass");
  static_assert(kBK * sizeof(T) == 128, "128-byte slices");
  static_assert(Config::kBN + 1 == kSddmmWgmmaTileStride, "the output tile's rows");
  static_assert(kStages * sizeof(SddmmWgmmaStage) >= sizeof(float) * 64 * kSddmmWgmmaTileStride,
                "the output's tile fits in the stages");
  extern __shared__ unsigned char smem_raw[];
  __shared__ uint64_t full[kStages];  // a stage's bytes landed
  __shared__ TileEntryIndex<Config> entry_index;
  auto* stages = AlignedStages<SddmmWgmmaStage>(smem_raw);
  auto* tile_out = reinterpret_cast<float(*)[kSddmmWgmmaTileStride]>(stages);

  const int tid = threadIdx.x;
  const TileBlock block = TileBlock::Here(kParts, shares);
  const int64_t row0 = block.row_tile * Config::kBM, col0 = block.col_tile * Config::kBN;
  const int64_t all_slices = (args.d + kBK - 1) / kBK;
  const int first = static_cast<int>(block.FirstSlice(all_slices));  // this part's slices
  const int slices = static_cast<int>(block.EndSlice(all_slices)) - first;
  if (tid == 0)
    for (int i = 0; i < kStages; ++i) BarrierInit(&full[i], 1);
  uint32_t n = 0;  // slices this block consumed (over batch items): stage n % kStages
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[2];
    args.batch_map.Offsets(b, offset);
    // Tensor-map rows of this item's tile (the host keeps every row index below 2^31 - 64).
    const int lhs_row = static_cast<int>(offset[kSddmmLhs] / args.d + row0);
    const int rhs_row = static_cast<int>(offset[kSddmmRhs] / args.d + col0);
    const auto issue = [&](uint32_t slot, int s) {  // one thread: the part's slice s into slot
      uint64_t* bar = &full[slot % kStages];
      SddmmWgmmaStage& st = stages[slot % kStages];
      BarrierExpectBytes(bar, sizeof(SddmmWgmmaStage));
      TmaLoad2d(st.lhs, &lhs_map, (first + s) * kBK, lhs_row, bar);
      TmaLoad2d(st.rhs, &rhs_map, (first + s) * kBK, rhs_row, bar);
    };
    FenceSharedForWgmma();  // the last item's generic use of the stages, before the copies
    __syncthreads();        // (and, the first time, the barriers' initialization)
    if (tid == 0)
      for (int s = 0; s < kStages && s < slices; ++s) issue(n + s, s);
    entry_index.Load(args, k, row0, col0, b, tid);  // visible after the loop's first barrier

    SddmmWgmmaSums<T, kSplit> sums;
    const uint32_t n0 = n;  // slice s sits in stage (n0 + s) % kStages
    sums.Loop(
        slices,
        [&](int s) -> const SddmmWgmmaStage& {
          const uint32_t slot = n0 + s;
          BarrierWait(&full[slot % kStages], (slot / kStages) & 1);
          return stages[slot % kStages];
        },
        [&](int s) {
          __syncthreads();  // every warp's tensor cores (and small-part reads) done with the stage
          if (tid == 0 && s + kStages < slices) {
            FenceSharedForWgmma();  // generic reads of the stage before the copy engine's writes
            issue(n0 + s + kStages, s + kStages);
          }
        });
    n = n0 + slices;
    sums.Finish(tile_out);
    if constexpr (kParts > 1) {  // d split over a cluster: part 0 adds part 1's sums, stores
      constexpr size_t kStageBytes = kStages * sizeof(SddmmWgmmaStage);
      if (!AddPartnerSums<Config::kThreads>(
              block, sums.acc, *reinterpret_cast<unsigned char(*)[kStageBytes]>(stages), tid,
              true))
        continue;
    }
    StoreTileEntries<T, Config>(args, args.out + b * args.nnz, tile_out, entry_index, k, row0,
                                col0, block, tid,
                                [&](float (*dst)[kSddmmWgmmaTileStride], int) { sums.Put(dst); });
  }
}

}  // namespace jsdl
