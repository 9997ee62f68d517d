// SpMM on Hopper's wgmma over dense tiles of the sparse matrix (sm_90a, float32, bfloat16 and
// float16; docs/kernels.md, sessions 26-30). The CUDA-core kernels need one dense element from
// shared memory per multiply-add, which caps them near 17 TFLOP/s; at 50-80% sparsity the tensor
// cores win even while they multiply the zeros. A work item is out[64 sparse rows, kCols dense
// columns] over k in chunks of 64 (a tile of the pattern's tile index each; empty tiles are
// skipped), a block (one an SM) takes items in turn:
// - one producer thread copies the chunk's dense rows (TMA, 128-byte swizzled boxes of 32
//   columns) and its tile, densified before by SpmmDensifyKernel (one bulk copy); nothing waits
//   but the stage's barrier (session 29: 128 threads of cp.async had bounded the tile);
// - kConsumers warpgroups of wgmma compute out^T = dense^T A^T: their 64 dense columns as the
//   register A operand (loaded from the copied rows), the densified tile as B.
//   float32 at DEFAULT / HIGH: TF32 (the tensor cores drop the low 13 bits). At HIGHEST 3xTF32,
//   as the SDDMM wgmma tile: big x big per 64-deep chunk into `part`, joined to `acc` by float32
//   adds; small x big and big x small into `cross`, joined once where finite. 16-bit types: one
//   m64n64k16 a 16-deep step (exact products, float32 sums), A fragments by ldmatrix.trans.
// Sparse semantics: a stored entry times the dense operand only. A zero place times an
// infinite or NaN dense value gives NaN on the tensor cores, so every output that is not finite
// is computed again on CUDA cores from the row's entries (the same for outputs that overflow).
#pragma once

#include <cstdint>
#include <type_traits>

#include "../common/dtype.cuh"            // ToAcc, FromAcc
#include "../common/grid_dependency.cuh"  // GridDependencyWait: after SpmmDensifyKernel
#include "../common/mma.cuh"              // Tf32Residue, LoadBlocksX4Transposed
#include "../common/phase_clock.cuh"      // the harness's phase points (-DJSDL_PHASE_CLOCK)
#include "../common/tile_index.h"
#include "../common/tma.cuh"  // mbarriers, TMA and bulk copies, AlignedStages
#include "../common/vec.cuh"   // StoreVec
#include "../common/warp.cuh"  // NamedBarrierSync
#include "../common/wgmma.cuh"
#include "spmm_config.h"
#include "spmm_densify_kernel.cuh"
#include "spmm_tiles.cuh"  // SpmmArgs

namespace jsdl {

// One stage: the chunk's densified tile as SpmmDensifyKernel wrote it (float32 big: two 64-row
// x 128-byte swizzle atoms of 32 k, for 3xTF32 small after it; 16-bit: one atom of 64 k), and the
// chunk's dense rows as TMA writes them: a box of 64 rows (k) x 128 bytes of columns a swizzle
// atom (32 float32 or 64 16-bit columns).
template <typename Config, typename T, bool kSplit>
struct alignas(1024) SpmmWgmmaStage {
  static constexpr int kAtomWords = Config::kRows * 32;
  static constexpr int kTileWords = DensifiedTileWords<T, kSplit>();
  static constexpr int kBoxColumns = 128 / sizeof(T);
  static constexpr int kDenseBoxes = Config::kCols / kBoxColumns;
  static constexpr int kBoxWords = Config::kChunk * 32;
  uint32_t tile[kTileWords];
  uint32_t dense[kDenseBoxes][kBoxWords];
  __device__ const uint32_t* big() const { return tile; }
  __device__ const uint32_t* small() const { return tile + kDensifiedTileWords; }
};

template <typename Config, typename T, bool kSplit>
constexpr int kSpmmWgmmaStages =
    sizeof(T) == 2 ? Config::kStages16Bit : kSplit ? Config::kStagesSplit : Config::kStagesTf32;

// The epilogue's staging (session 31): a consumer warpgroup's float32 sums, 64 sparse rows x 64
// dense columns, written in the wgmma fragments' layout and read back as 16-byte pieces of whole
// output rows. Piece p (4 columns) of row r sits at p ^ (swizzle * (r / 2 % 4)): the fragments'
// writes are then free of bank conflicts (swizzle 1 for the float32 sums' column order, 2 for
// the 16-bit sums' columns in order).
template <typename Config>
struct SpmmWgmmaStaging {
  float sums[Config::kConsumers][Config::kRows][64];
  __device__ static int Piece(int row, int piece, int swizzle) {
    return piece ^ (swizzle * (row / 2 % 4));
  }
};

template <typename Config, typename T, bool kSplit>
constexpr size_t kSpmmWgmmaSmemBytes =
    kSpmmWgmmaStages<Config, T, kSplit> * sizeof(SpmmWgmmaStage<Config, T, kSplit>) +
    sizeof(SpmmWgmmaStaging<Config>) + 1024;

// The producer's half of a chunk (one thread): the dense rows of the chunk's k0.. (tensor-map
// row dense_row) by TMA, zeros past n, and the densified tile by one bulk copy, all counted on
// `full`. Rows past this item's k may be the next item's (or zeros at the buffer's end): the
// tile's zeros multiply them, and any non-finite product is computed again from the entries.
template <typename Config, typename T, bool kSplit>
__device__ __forceinline__ void SpmmWgmmaProduce(SpmmWgmmaStage<Config, T, kSplit>& st,
                                                 uint64_t* full, const CUtensorMap& dense_map,
                                                 const uint32_t* tile, int dense_row, int col0) {
  using Stage = SpmmWgmmaStage<Config, T, kSplit>;
  BarrierExpectBytes(full, sizeof(Stage));
  BulkLoad(st.tile, tile, sizeof(st.tile), full);
#pragma unroll
  for (int box = 0; box < Stage::kDenseBoxes; ++box)
    TmaLoad2d(st.dense[box], &dense_map, col0 + Stage::kBoxColumns * box, dense_row, full);
}

// The dense column (of a warpgroup's 64) that wgmma row r stands for. The A fragments' loads
// from the swizzled boxes are conflict-free only if a warp's 8 rows of a load (lane / 4) take
// 4 columns of each of two 16-byte chunks 4 apart (their swizzled chunks differ in bit 2 for any
// k), so rows are not columns in order: r = 16 w + 8 h + g is column
// 32 (w / 2) + 4 (2 (w % 2) + h) + 16 (g / 4) + g % 4.
__host__ __device__ constexpr int SpmmWgmmaColumn(int r) {
  const int w = r / 16, h = r / 8 % 2, g = r % 8;
  return 32 * (w / 2) + 4 * (2 * (w % 2) + h) + 16 * (g / 4) + g % 4;
}

// A consumer warpgroup's float32 sums: out^T for its 64 dense columns x the block's 64 sparse
// rows (wgmma row r: column SpmmWgmmaColumn(r)). A chunk is two slices of 32 k (one swizzle atom
// each). TF32 (Chunk) issues, commits and waits for a slice at a time. 3xTF32 (First, Next)
// issues a chunk's second slice before it waits for the first (loading its fragments while the
// first runs) and joins once a chunk: 1.05-1.17x faster at N = 2048 on an H100 (session 40),
// where the same was 2-4% slower for TF32 and the 16-bit types. It cannot keep a slice in flight
// across chunks: ptxas serializes every wgmma of this kernel where a thread reads an accumulator
// (its join) while any group is in flight (C7514, found by trial).
template <bool kSplit>
struct SpmmWgmmaSums {
  __device__ static int Column(int r) { return SpmmWgmmaColumn(r); }
  static constexpr int kStagingSwizzle = 1;
  static constexpr int kSplitRegs = kSplit ? 32 : 1;
  float acc[32] = {};
  float part[kSplitRegs] = {}, cross[kSplitRegs] = {};
  // A slice's A fragment of each 8-deep step ([big, small][step]; small: x - TF32(x)).
  using Frags = uint32_t[kSplit ? 2 : 1][4][4];
  Frags frags[2];

  // TF32: one chunk from a landed stage. group: the consumer warpgroup (its 64 columns: boxes
  // 2 group..).
  template <typename Config>
  __device__ __forceinline__ void Chunk(const SpmmWgmmaStage<Config, float, kSplit>& st,
                                        int group) {
#pragma unroll
    for (int atom = 0; atom < 2; ++atom) {
      Frags f;
      Load<Config>(st, group, atom, f);
      Issue<Config>(st, atom, f);
      WgmmaWait<0>();
      Pin(f);
    }
  }

  // 3xTF32: an item's first chunk, its accumulators' zeros hidden from the compiler (which would
  // otherwise copy one zero register into the others between the first wgmma: ptxas then
  // serializes them, C7514), and each later chunk.
  template <typename Config>
  __device__ __forceinline__ void First(const SpmmWgmmaStage<Config, float, kSplit>& st,
                                        int group) {
    WgmmaPin(acc);
    WgmmaPin(part);
    WgmmaPin(cross);
    Next<Config>(st, group);
  }

  template <typename Config>
  __device__ __forceinline__ void Next(const SpmmWgmmaStage<Config, float, kSplit>& st,
                                       int group) {
    Load<Config>(st, group, 0, frags[0]);
    Issue<Config>(st, 0, frags[0]);
    Load<Config>(st, group, 1, frags[1]);
    Issue<Config>(st, 1, frags[1]);
    WgmmaWait<0>();
    WgmmaPin(part);  // the chunk's big x big is done
#pragma unroll
    for (int i = 0; i < 32; ++i) acc[i] += part[i];
    Pin(frags[0]);
    Pin(frags[1]);
  }

  // After the last chunk: the cross terms join where finite (an infinite input's residue is
  // NaN; its big x big stands alone).
  __device__ __forceinline__ void Finish() {
    if constexpr (kSplit) {  // nothing is in flight, but without these the machine code differs
      WgmmaWait<0>();         // from the build that was measured (session 40)
      Pin(frags[1]);
    }
    WgmmaPin(acc);
    if constexpr (kSplit) {
      WgmmaPin(cross);
#pragma unroll
      for (int i = 0; i < 32; ++i)
        if (isfinite(cross[i])) acc[i] += cross[i];
    }
  }

 private:
  // The A fragment of each 8-deep step of slice `atom` (mma.sync m16n8k8's layout, as wgmma's
  // register A takes it): wgmma row 16 warp + lane / 4 + 8 (e % 2), k 8 step + lane % 4 + 4
  // (e / 2). Its word in st.dense for k < 8: at[e % 2][e / 2]; k + 8 j is 256 j words further
  // (the swizzle repeats every 8 rows).
  template <typename Config>
  __device__ __forceinline__ void Load(const SpmmWgmmaStage<Config, float, kSplit>& st, int group,
                                       int atom, Frags& f) {
    const int warp = threadIdx.x % 128 / 32, lane = threadIdx.x % 32;
    int at[2][2];
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int c = SpmmWgmmaColumn(16 * warp + lane / 4 + 8 * h);
        at[h][half] = (2 * group + c / 32) * Config::kChunk * 32 +
                      Swizzled128Word(lane % 4 + 4 * half, c % 32);
      }
    const uint32_t* dense = &st.dense[0][0];
#pragma unroll
    for (int step = 0; step < 4; ++step)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        f[0][step][e] = dense[at[e % 2][e / 2] + 256 * (4 * atom + step)];
        if constexpr (kSplit) f[1][step][e] = Tf32Residue(f[0][step][e]);
      }
  }

  // One group, committed. TF32: into acc. 3xTF32: big x big into `part` (the chunk's first step
  // starts its sum), small x big and big x small into `cross`.
  template <typename Config>
  __device__ __forceinline__ void Issue(const SpmmWgmmaStage<Config, float, kSplit>& st, int atom,
                                        Frags& f) {
    constexpr int kAtomWords = SpmmWgmmaStage<Config, float, kSplit>::kAtomWords;
    const uint32_t* tile_big = st.big() + atom * kAtomWords;
    if constexpr (kSplit) WgmmaPin(part);  // the last join's reads stay before the next wgmma
    WgmmaFence();
#pragma unroll
    for (int step = 0; step < 4; ++step) {
      const uint64_t b = Swizzled128StepDescriptor(tile_big, step);
      if constexpr (kSplit) {
        WgmmaTf32RegA(part, f[0][step], b, atom + step);
        WgmmaTf32RegA(cross, f[1][step], b, 1);
        WgmmaTf32RegA(cross, f[0][step],
                      Swizzled128StepDescriptor(st.small() + atom * kAtomWords, step), 1);
      } else {
        WgmmaTf32RegA(acc, f[0][step], b, 1);
      }
    }
    WgmmaCommit();
  }

  __device__ __forceinline__ void Pin(Frags& f) {  // read by wgmma until the last wait
#pragma unroll
    for (int i = 0; i < (kSplit ? 2 : 1); ++i)
#pragma unroll
      for (int step = 0; step < 4; ++step) WgmmaPin(f[i][step]);
  }
};

// The same for 16-bit types (T: __nv_bfloat16 or __half): one m64n64k16 a 16-deep step, all 4
// steps of a chunk in one group. Rows of a dense box are k and its columns are wgmma's rows in
// order (wgmma row r: column r), so ldmatrix.trans gives the A fragments: block q of a step's
// load holds k 8 (q / 2).. and columns 8 (q % 2).. of the warp's 16; the 8 rows a block reads
// lie in 8 different 16-byte chunks of the swizzle, so the loads are conflict-free.
template <typename T>
struct SpmmWgmma16BitSums {
  static constexpr bool kBf16 = std::is_same_v<T, __nv_bfloat16>;
  __device__ static int Column(int r) { return r; }
  static constexpr int kStagingSwizzle = 2;
  float acc[32] = {};

  template <typename Config>
  __device__ __forceinline__ void Chunk(const SpmmWgmmaStage<Config, T, false>& st, int group) {
    const int warp = threadIdx.x % 128 / 32, lane = threadIdx.x % 32;
    // This lane's row address of a step's ldmatrix: k = 16 step + lane % 8 + 8 (lane / 16),
    // columns 16 warp + 8 (lane / 8 % 2).. (a 16-byte chunk of the 128-byte box row).
    const int k = lane % 8 + 8 * (lane / 16), chunk = 2 * warp + lane / 8 % 2;
    const unsigned char* box = reinterpret_cast<const unsigned char*>(st.dense[group]);
    uint32_t a[4][4];
#pragma unroll
    for (int step = 0; step < 4; ++step)  // k + 16 step keeps k % 8: the same swizzle
      LoadBlocksX4Transposed(a[step], box + (16 * step + k) * 128 + ((chunk ^ (k % 8)) * 16));
    WgmmaFence();
#pragma unroll
    for (int step = 0; step < 4; ++step)
      Wgmma16BitRegA<kBf16>(acc, a[step], Swizzled128StepDescriptor(st.tile, step), 1);
    WgmmaCommit();
    WgmmaWait<0>();
#pragma unroll
    for (int step = 0; step < 4; ++step) WgmmaPin(a[step]);  // read by wgmma until the wait
  }

  __device__ __forceinline__ void Finish() { WgmmaPin(acc); }
};

// The consumer's sums for T.
template <typename T, bool kSplit>
using SpmmWgmmaSumsFor =
    std::conditional_t<std::is_same_v<T, float>, SpmmWgmmaSums<kSplit>, SpmmWgmma16BitSums<T>>;

// out[row, col] on CUDA cores from row's entries (the outputs the tensor cores left non-finite).
template <typename T>
__device__ __noinline__ float SpmmWgmmaRowDot(const SpmmArgs<T>& args, const T* values,
                                              const T* dense, int64_t row, int64_t col) {
  float sum = 0.0f;
  for (int e = args.row_offsets[row]; e < args.row_offsets[row + 1]; ++e)
    sum = fmaf(ToAcc(values[e]), ToAcc(dense[int64_t{args.column_indices[e]} * args.n + col]),
               sum);
  return sum;
}

// A consumer warpgroup's epilogue of a work item (session 31: the phase clocks measured 4800 SM
// cycles, 2.4 us, for the stores of the fragments' layout, each output element with its own
// 64-bit index, bounds, finiteness, bias and ReLU code and a 4-byte store). Its sums
// (accumulator i = 4j + e of lane l: sparse row row0 + 8j + 2 (l % 4) + e % 2, dense column
// col0 + Sums::Column(16 warp + l / 4 + 8 (e / 2))) are finished in registers: non-finite sums
// computed again on CUDA cores (one check for all 32 first), the bias (16 rows a thread, loaded
// together), ReLU. They are staged, then stored a 16-byte piece at a time: a warp's stores cover
// two output rows' contiguous bytes.
template <typename Config, typename T, typename Sums>
__device__ __forceinline__ void SpmmWgmmaEpilogue(const SpmmArgs<T>& args, Sums& sums,
                                                  float (&staged)[Config::kRows][64],
                                                  const T* values, const T* dense,
                                                  int64_t bias_offset, int64_t b, int64_t row0,
                                                  int64_t col0) {
  using Staging = SpmmWgmmaStaging<Config>;
  const int warp = threadIdx.x % 128 / 32, lane = threadIdx.x % 32, q = lane % 4;
  const int group = threadIdx.x / 128;
  bool finite = true;
#pragma unroll
  for (int i = 0; i < 32; ++i) finite &= static_cast<bool>(isfinite(sums.acc[i]));
  if (!finite) {
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int2 at = WgmmaAccumulatorAt(i);
      const int64_t row = row0 + at.y, col = col0 + Sums::Column(at.x);
      if (row < args.m && col < args.n && !isfinite(sums.acc[i]))
        sums.acc[i] = SpmmWgmmaRowDot(args, values, dense, row, col);
    }
  }
  if (args.has_bias) {
    float bias[16];  // sparse row row0 + 8j + 2q + e: bias[2j + e]
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const int64_t row = row0 + 8 * (r / 2) + 2 * q + r % 2;
      bias[r] = row < args.m ? ToAcc(args.bias[bias_offset + row]) : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < 32; ++i) sums.acc[i] += bias[2 * (i / 4) + i % 2];
  }
  if (args.relu) {
#pragma unroll
    for (int i = 0; i < 32; ++i) sums.acc[i] = fmaxf(sums.acc[i], 0.0f);
  }
  // Accumulator i goes to staged row 8j + 2q + e % 2, whose swizzle (row / 2 % 4) is q's.
  float* flat = &staged[0][0];
  int at[2];  // the thread's word of staged row 2q for e / 2 = h
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int c = Sums::Column(16 * warp + lane / 4 + 8 * h);
    at[h] = 2 * q * 64 + Staging::Piece(2 * q, c / 4, Sums::kStagingSwizzle) * 4 + c % 4;
  }
  NamedBarrierSync(1 + group, 128);  // the warpgroup read the last item's staged sums
#pragma unroll
  for (int i = 0; i < 32; ++i) flat[(8 * (i / 4) + i % 2) * 64 + at[i % 4 / 2]] = sums.acc[i];
  NamedBarrierSync(1 + group, 128);
  // 16-byte output pieces of kSpan columns, kRowPieces a row (n is a multiple of kSpan and out
  // is 16-byte aligned: SpmmWgmmaUsable).
  constexpr int kSpan = kVec16<T>, kRowPieces = 64 / kSpan;
  T* out = args.out + b * args.m * args.n;
#pragma unroll
  for (int j = threadIdx.x % 128; j < Config::kRows * kRowPieces; j += 128) {
    const int r = j / kRowPieces, c = j % kRowPieces * kSpan;
    const int64_t row = row0 + r, col = col0 + c;
    if (row >= args.m || col >= args.n) continue;
    float x[kSpan];
#pragma unroll
    for (int p = 0; p < kSpan / 4; ++p) {
      const float4 f = *reinterpret_cast<const float4*>(
          &staged[r][Staging::Piece(r, c / 4 + p, Sums::kStagingSwizzle) * 4]);
      x[4 * p] = f.x, x[4 * p + 1] = f.y, x[4 * p + 2] = f.z, x[4 * p + 3] = f.w;
    }
    StoreVec<T, kSpan>(out + row * args.n + col, x);
  }
}

// Parts over k: a consumer warpgroup's float32 sums of one part of an item
// go to the workspace (`sums`: the item's, kMaxKParts x kConsumers x 128 threads x 32, each
// thread's in a row of 128 bytes), then its warpgroup counts itself done on the item's counter.
// The part that counts last adds the others' sums (read from L2: L1 does not see other SMs'
// writes) and returns true: its warpgroup goes on to the epilogue; the others return false.
template <typename Config>
__device__ __forceinline__ bool SpmmWgmmaJoinParts(float (&acc)[32], float* sums, int* counter,
                                                   int part, int parts, int* last) {
  const int group = threadIdx.x / 128, t = threadIdx.x % 128;
  auto at = [&](int p) {
    return reinterpret_cast<float4*>(sums + ((p * Config::kConsumers + group) * 128 + t) * 32);
  };
  float4* mine = at(part);
#pragma unroll
  for (int i = 0; i < 8; ++i)
    mine[i] = make_float4(acc[4 * i], acc[4 * i + 1], acc[4 * i + 2], acc[4 * i + 3]);
  __threadfence();  // the sums before the count
  NamedBarrierSync(1 + group, 128);
  if (t == 0) last[group] = atomicAdd(counter, 1) == parts - 1;
  NamedBarrierSync(1 + group, 128);
  if (!last[group]) return false;
  __threadfence();  // the count before the others' sums
  for (int p = 0; p < parts; ++p) {
    if (p == part) continue;
    const float4* theirs = at(p);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const float4 f = __ldcg(theirs + i);
      acc[4 * i] += f.x, acc[4 * i + 1] += f.y, acc[4 * i + 2] += f.z, acc[4 * i + 3] += f.w;
    }
  }
  return true;
}

// A persistent grid (at most one block an SM) over the work items: 64-row tiles of m (fastest),
// kCols-column tiles of n, batch items. The ring runs on across a block's items, so the producer
// fills the next item's stages while the consumers store the last one's sums (session 29's
// model charged 4.3 us a wave of blocks, mostly the ring's fill and the epilogue). Needs the
// tile index (args.tile_offsets), the densified tiles (SpmmDensifyKernel<kSplit> into `tiles`,
// the kernel before on the same stream, which this one may overlap: programmatic dependent
// launch; a values batch item's item_words apart) and dense_map: the whole dense buffer as
// args.dense_rows rows of n (EncodeSwizzledRowMap; the host's SpmmWgmmaUsable checks what TMA
// needs). kKParts (parts > 1): each item's chunks in parts of part_chunks (the last one's the
// rest; none empty), items x parts work items (part w / items), joined by SpmmWgmmaJoinParts in
// part_sums and counters (zeroed by the densify kernel; SpmmWgmmaKPartsBytes). An instantiation
// of its own, so that the kernel without parts compiles as before: ptxas serializes the 3xTF32
// wgmma (C7520) or spills after small changes to these loops (below).
template <typename Config, typename T, bool kSplit, bool kKParts>
__global__ void __launch_bounds__(Config::kThreads, 1)
    SpmmWgmmaKernel(const SpmmArgs<T> args, const uint32_t* tiles, int64_t item_words,
                    const __grid_constant__ CUtensorMap dense_map, int parts, int part_chunks,
                    float* part_sums, int* counters) {
  using Stage = SpmmWgmmaStage<Config, T, kSplit>;
  constexpr int kStages = kSpmmWgmmaStages<Config, T, kSplit>;
  static_assert(Config::kRows == kTileIndexEdge && Config::kChunk == kTileIndexEdge,
                "a block's rows and a chunk are one tile of the index");
  extern __shared__ unsigned char smem_raw[];
  __shared__ uint64_t full[kStages];   // the producer's copies landed
  __shared__ uint64_t empty[kStages];  // the consumers' threads are done with it
  __shared__ int last_part[Config::kConsumers];
  // 3xTF32 through a generic pointer (LD / ST, as before session 56): with LDS / STS its chunks
  // ran 4-7% slower on the transformer's 256-tile patterns at N = 2048, where TF32's and 16 bits'
  // ran 1-5% faster (session 56, H100).
  Stage* stages = kSplit ? HideSharedSpace(AlignedStages<Stage>(smem_raw))
                         : AlignedStages<Stage>(smem_raw);
  auto* staging = reinterpret_cast<SpmmWgmmaStaging<Config>*>(stages + kStages);

  JSDL_PHASE_CLOCK_OF(0, 0);  // then the first item's first stage landed, its sums, its stores
  const int tid = threadIdx.x;
  const int chunks = static_cast<int>((args.k + Config::kChunk - 1) / Config::kChunk);
  const int64_t row_tiles = (args.m + Config::kRows - 1) / Config::kRows;
  const int64_t col_tiles = (args.n + Config::kCols - 1) / Config::kCols;
  const int64_t items = row_tiles * col_tiles * args.batch;

  constexpr int kConsumerThreads = 128 * Config::kConsumers;
  if (tid == 0)
    for (int i = 0; i < kStages; ++i) {
      BarrierInit(&full[i], 1);  // the producer's expected bytes
      BarrierInit(&empty[i], kConsumerThreads);
    }
  __syncthreads();

  // A work item w: with parts, the item (w % items) and its part's chunks [c_begin, + count).
  // ptxas serialized the 3xTF32 wgmma (C7520) unless the item comes from a loop and the part
  // from a division here, and both are found again after the chunk loop (not carried over it):
  // found by trial.
  struct Work {
    int64_t item, b, row0, col0, first_tile;
    int c_begin, count;
  };
  const auto locate = [&](int64_t w) {
    Work at;
    at.item = w;
    if constexpr (kKParts)
      while (at.item >= items) at.item -= items;
    at.c_begin = kKParts ? static_cast<int>(w / items) * part_chunks : 0;
    at.count = kKParts ? min(part_chunks, chunks - at.c_begin) : chunks;
    const int64_t row_tile = at.item % row_tiles;
    at.b = at.item / (row_tiles * col_tiles);
    at.row0 = row_tile * Config::kRows;
    at.col0 = at.item / row_tiles % col_tiles * Config::kCols;
    at.first_tile = row_tile * chunks + at.c_begin;
    return at;
  };
  const int64_t work_items = items * (kKParts ? parts : 1);

  uint32_t n = 0;  // chunks through the ring so far (over work items): stage n % kStages
  // The producer's copies of a work item's chunks with entries (offset: its values, dense, bias).
  const auto produce = [&](const int* tile_offsets, int c_begin, int count, int64_t first_tile,
                           int64_t col0, const int64_t (&offset)[3]) {
    // This batch item's tiles: values (*bv, nnz) contiguous, one set of tiles per item.
    const uint32_t* item_tiles = tiles + (args.nnz > 0 ? offset[0] / args.nnz : 0) * item_words;
    const int dense_row0 = static_cast<int>(offset[1] / args.n) + c_begin * Config::kChunk;
    for (int c = 0; c < count; ++c) {
      if (tile_offsets[c] == tile_offsets[c + 1]) continue;  // no entries: nothing to add
      const uint32_t slot = n % kStages;
      if (n >= kStages) BarrierWait(&empty[slot], ((n / kStages) - 1) & 1);
      SpmmWgmmaProduce<Config, T, kSplit>(stages[slot], &full[slot], dense_map,
                                       item_tiles + (first_tile + c) * Stage::kTileWords,
                                       dense_row0 + c * Config::kChunk, static_cast<int>(col0));
      ++n;
    }
  };
  const auto landed = [&] {  // the next stage of the ring, once its copies landed
    const uint32_t slot = n % kStages;
    BarrierWait(&full[slot], (n / kStages) & 1);
    if (n == 0) JSDL_PHASE_CLOCK_OF(0, 1);
    return slot;
  };
  // A consumer warpgroup's end of work item w: with parts, its sums joined to the others' (or
  // left for the item's last part), then its outputs stored.
  const auto finish = [&](auto& sums, int64_t w, int group, const T* values, const T* dense,
                          const int64_t (&offset)[3], int64_t b, int64_t row0, int64_t col0) {
    sums.Finish();
    if constexpr (kKParts) {
      int64_t item = w;  // and its part, again (above)
      int part = 0;
      while (item >= items) item -= items, ++part;
      if (!SpmmWgmmaJoinParts<Config>(sums.acc, part_sums + item * Config::kKPartSumFloats,
                                      counters + item * Config::kConsumers + group, part, parts,
                                      last_part))
        return;  // its sums wait for the item's last part
    }
    if (w == blockIdx.x) JSDL_PHASE_CLOCK_OF(0, 2);
    SpmmWgmmaEpilogue<Config>(args, sums, staging->sums[group], values, dense, offset[2], b, row0,
                              col0 + 64 * group);
    if (w == blockIdx.x) JSDL_PHASE_CLOCK_OF(0, 3);
  };
  if constexpr (kSplit) {
    // 3xTF32: the producer and the consumers in loops of their own, so that setmaxnreg can give
    // the producer's warpgroup few registers and the consumers' the rest.
    if (tid >= kConsumerThreads) {  // the producer warpgroup: its first thread copies
      WarpgroupRegisters<false, Config::kProducerRegisters>();
      if (tid > kConsumerThreads) return;
      GridDependencyWait();  // the densified tiles are written
      for (int64_t w = blockIdx.x; w < work_items; w += gridDim.x) {
        const Work at = locate(w);
        int64_t offset[3];
        args.batch_map.Offsets(at.b, offset);  // values, dense, bias
        produce(args.tile_offsets + at.first_tile, at.c_begin, at.count, at.first_tile, at.col0,
                offset);
      }
      return;
    }
    WarpgroupRegisters<true, Config::kConsumerRegisters>();
    // A part may hold no entries: its warpgroups then reach the counter with no stage waited
    // for, so they wait for the densify kernel (which zeroes the counters) themselves.
    if (kKParts) GridDependencyWait();
    for (int64_t w = blockIdx.x; w < work_items; w += gridDim.x) {
      const Work at = locate(w);
      const int count = at.count;
      const int64_t b = at.b, row0 = at.row0, col0 = at.col0;
      const int* tile_offsets = args.tile_offsets + at.first_tile;
      int64_t offset[3];
      args.batch_map.Offsets(b, offset);  // values, dense, bias
      const T* values = args.values + offset[0];
      const T* dense = args.dense + offset[1];
      const int group = tid / 128;
      SpmmWgmmaSums<true> sums;
      const auto consume = [&](bool first) {  // first: the item's first chunk with entries
        const uint32_t slot = landed();
        if (first)
          sums.template First<Config>(stages[slot], group);
        else
          sums.template Next<Config>(stages[slot], group);
        BarrierArrive(&empty[slot]);
        ++n;
      };
      // Chunks with entries, as the producer: the first, then the rest. Two loops, not one with
      // a flag: ptxas serializes the wgmma where First and Next share a loop body (C7520).
      if constexpr (kKParts) {
        const int* t = tile_offsets;
        for (; t != tile_offsets + count; ++t)
          if (t[0] != t[1]) {
            consume(true);
            ++t;
            break;
          }
        for (; t != tile_offsets + count; ++t)
          if (t[0] != t[1]) consume(false);
      } else {
        int c = 0;
        for (; c < count; ++c)
          if (tile_offsets[c] != tile_offsets[c + 1]) {
            consume(true);
            ++c;
            break;
          }
        for (; c < count; ++c)
          if (tile_offsets[c] != tile_offsets[c + 1]) consume(false);
      }
      finish(sums, w, group, values, dense, offset, b, row0, col0);
    }
  } else {
    // TF32 and 16 bits: the producer and the consumers in one loop over the work items (as
    // 3xTF32's, 2-4% slower: session 40).
    // (The bound written out, not work_items: ptxas compiles the kernels with parts otherwise.)
    for (int64_t w = blockIdx.x; w < items * (kKParts ? parts : 1); w += gridDim.x) {
      const Work at = locate(w);
      const int c_begin = at.c_begin, count = at.count;
      const int64_t b = at.b, row0 = at.row0, col0 = at.col0, first_tile = at.first_tile;
      const int* tile_offsets = args.tile_offsets + first_tile;
      int64_t offset[3];
      args.batch_map.Offsets(b, offset);  // values, dense, bias
      const T* values = args.values + offset[0];
      const T* dense = args.dense + offset[1];
      if (tid >= kConsumerThreads) {  // the producer warpgroup: its first thread
        if (tid > kConsumerThreads) break;
        if (w == blockIdx.x) GridDependencyWait();  // the densified tiles are written
        produce(tile_offsets, c_begin, count, first_tile, col0, offset);
        continue;
      }
      const int group = tid / 128;
      if (kKParts && w == blockIdx.x) GridDependencyWait();  // (as above)
      SpmmWgmmaSumsFor<T, false> sums;
      const auto consume = [&] {
        const uint32_t slot = landed();
        sums.template Chunk<Config>(stages[slot], group);
        BarrierArrive(&empty[slot]);
        ++n;
      };
      // Chunks with entries, as the producer (the two loop forms: each the one with which ptxas
      // neither spills nor serializes the wgmma, found by trial).
      if constexpr (kKParts) {
        for (const int* t = tile_offsets; t != tile_offsets + count; ++t)
          if (t[0] != t[1]) consume();
      } else {
        for (int c = 0; c < count; ++c)
          if (tile_offsets[c] != tile_offsets[c + 1]) consume();
      }
      finish(sums, w, group, values, dense, offset, b, row0, col0);
    }
  }
}

}  // namespace jsdl
