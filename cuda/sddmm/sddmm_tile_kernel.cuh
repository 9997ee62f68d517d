// SDDMM tile kernel: a block computes a dense kBM x kBN tile of lhs @ rhs^T
// (rows row0.. of the pattern, columns col0.. of k) as a small SGEMM on CUDA
// cores, then stores the tile's pattern entries. For patterns dense enough
// that every tile holds entries, each lhs and rhs element fetched from L2
// serves kBN (kBM) products from shared memory, against one for the row and
// flat kernels, which read a whole rhs row per entry.
//
// Pieces, as in the SpMM kernels: the operand tile (a kBK-deep slice of lhs
// or rhs rows, transposed into shared memory), the compute step (each thread
// a kTM x kTN micro-tile of outer products), and the output (the dense tile
// in shared memory, then a walk over the tile rows' entries). Exact for any
// column order and repeated columns (each entry reads its own column); every
// entry lies in exactly one column tile, so nothing is written twice.
#pragma once

#include <cooperative_groups.h>

#include <cstdint>

#include "../common/dtype.cuh"
#include "../common/mma.cuh"
#include "../common/phase_clock.cuh"
#include "../common/vec.cuh"
#include "../common/warp.cuh"
#include "sddmm_config.h"
#include "sddmm_kernel.cuh"  // SddmmArgs, SddmmOperand

namespace jsdl {

// A micro-tile of kT rows (or columns) is kT / 4 float4 chunks; chunk q of
// thread t starts at q * (kB * 4 / kT) + t * 4, so that the threads of a warp
// read consecutive float4s (no bank conflicts) even with 8-wide micro-tiles.
template <int kB, int kT>
__device__ __forceinline__ int MicroOffset(int q, int t) {
  return q * (kB * 4 / kT) + t * 4;
}

// Shared memory of one block: two stages of both operand tiles, and (after
// the last stage, in the same bytes) kPassRows rows of the dense output tile.
template <typename Config>
struct SddmmTileShared {
  static constexpr int kPad = 4;  // row stride +4: 2-way conflicts on the transposing stores
  float lhs[2][Config::kBK][Config::kBM + kPad];
  float rhs[2][Config::kBK][Config::kBN + kPad];
};
template <typename Config>
constexpr size_t kSddmmTileSmemBytes =
    sizeof(SddmmTileShared<Config>) > sizeof(float) * Config::kPassRows * (Config::kBN + 1)
        ? sizeof(SddmmTileShared<Config>)
        : sizeof(float) * Config::kPassRows * (Config::kBN + 1);

// Operand tile: rows [row0, row0 + kRows) x d-slice [d0, d0 + kBK) of a
// row-major (rows, d) operand, into registers (zeros outside the operand), in
// accesses of kVec elements (kVec > 1 needs d % kVec == 0: no access straddles
// the end of a row). Access i of thread t covers (r, c..c + kVec) with
// r * kBK + c = (t + i * threads) * kVec: consecutive threads read
// consecutive pieces of a row, and a thread's accesses lie kRowStep rows
// apart at one column. Start() fixes what stays the same over the slices (the
// thread's first element, which of its rows exist), so that a slice's Load()
// is a 64-bit add and a load per access: recomputing the addresses and bounds
// of every access took 70 of the TF32 tiles' 284 instructions a slice (SASS,
// session 19).
template <typename T, typename Config, int kRows, int kVec = 1>
struct SddmmOperandTile {
  static constexpr int kPerRow = Config::kBK / kVec;
  static_assert(Config::kBK % kVec == 0, "whole accesses per tile row");
  static_assert(kRows * kPerRow % Config::kThreads == 0, "whole accesses per thread");
  static_assert(Config::kThreads % kPerRow == 0, "a thread's accesses share one column");
  static constexpr int kPerThread = kRows * kPerRow / Config::kThreads;
  static constexpr int kRowStep = Config::kThreads / kPerRow;
  static_assert(kPerThread <= 32, "row flags in one word");
  float reg[kPerThread][kVec];
  const T* first;     // element (row0 + r, c) of slice 0, r = tid / kPerRow
  int64_t step;       // elements from one access's row to the next's: kRowStep * d
  uint32_t rows_in;   // bit i: access i's row lies inside the operand
  int column;         // c

  __device__ __forceinline__ void Start(const T* base, int64_t rows, int64_t d, int64_t row0,
                                        int tid) {
    const int64_t r = row0 + TileRow(tid, 0);
    column = tid % kPerRow * kVec;
    first = base + r * d + column;
    step = kRowStep * d;
    rows_in = 0;
#pragma unroll
    for (int i = 0; i < kPerThread; ++i)
      rows_in |= static_cast<uint32_t>(row0 + TileRow(tid, i) < rows) << i;
  }

  // Slice [d0, d0 + kBK): the same column for all of a thread's accesses.
  __device__ __forceinline__ void Load(int64_t d, int64_t d0) {
    const uint32_t inside_mask = d0 + column < d ? rows_in : 0u;
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const T* p = first + i * step + d0;
      const bool inside = inside_mask >> i & 1u;
      if constexpr (kVec == 1) {
        reg[i][0] = inside ? LoadAcc(p) : 0.0f;
      } else if (inside) {
        LoadVec<T, kVec>(p, reg[i]);
      } else {
#pragma unroll
        for (int j = 0; j < kVec; ++j) reg[i][j] = 0.0f;
      }
    }
  }

  // Transposed: smem[c][r], so the SIMT compute step reads 4 consecutive rows
  // of one d-index as one float4.
  template <int kStride>
  __device__ __forceinline__ void Store(float (*smem)[kStride], int tid) const {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i)
#pragma unroll
      for (int j = 0; j < kVec; ++j) smem[column + j][TileRow(tid, i)] = reg[i][j];
  }

  // As rows, smem[r][c], for the tensor-core step: rounded to TF32, or kept as
  // float32 bits (exact in TF32 already for 16-bit inputs; split by the step
  // for 3xTF32). (16-byte stores here, conflict-free, measured no faster:
  // session 10, docs/kernels.md.)
  template <bool kRound, int kStride>
  __device__ __forceinline__ void StoreMmaRows(uint32_t (*smem)[kStride], int tid) const {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i)
#pragma unroll
      for (int j = 0; j < kVec; ++j)
        smem[TileRow(tid, i)][column + j] =
            kRound ? ToTf32(reg[i][j]) : __float_as_uint(reg[i][j]);
  }

  // The tile row of thread tid's access i (its column is `column`).
  __device__ __forceinline__ static int TileRow(int tid, int i) {
    return tid / kPerRow + i * kRowStep;
  }
};

// Where a tile kernel's block works: grid.x runs over the row tiles, grid.y over the column
// tiles times `parts` (the parts of d split across blocks) times `shares` (the output's shares).
// parts > 1 (sm_90) launches the parts of a tile as one thread-block cluster, so that their
// partial sums meet in shared memory (AddPartnerSums). shares > 1 (with parts == 1) gives a tile
// that many blocks, each computing the whole tile and storing share `share` of its entries
// (StorePassEntries): where the tiles are fewer than the SMs and d short, the output, not the
// d-loop, sets the time (session 22's phase clocks: 4093 of 7825 cycles on 512 x 512 at 50%,
// d = 64), and the SMs the tiles leave idle take shares of it. The kernels take parts and
// shares at run time (parts as a template constant, ptxas spilled more).
// shares is a power of two (1, 2 or 4), so that a share's bounds are a shift, not a 64-bit
// division an index tile (d545901 divided: its tiles ran 1-2% slower at d = 256, one share).
struct TileBlock {
  int64_t row_tile, col_tile;
  int parts, part, share, shift;  // shares: 1 << shift

  __device__ static TileBlock Here(int parts, int shares) {
    const int shift = __ffs(shares) - 1;
    const int rest = static_cast<int>(blockIdx.y >> shift);
    return {blockIdx.x, rest / parts, parts, rest % parts,
            static_cast<int>(blockIdx.y & (shares - 1)), shift};
  }
  __device__ int Shares() const { return 1 << shift; }
  // This block's slices [first, end) of `slices`.
  __device__ int64_t FirstSlice(int64_t slices) const { return slices * part / parts; }
  __device__ int64_t EndSlice(int64_t slices) const { return slices * (part + 1) / parts; }
  // This block's share [first, end) of n >= 0 things (an entry list's).
  __device__ int64_t FirstOf(int64_t n) const { return n * share >> shift; }
  __device__ int64_t EndOf(int64_t n) const { return n * (share + 1) >> shift; }
};

// d split over the two blocks of a cluster (parts == 2; a tile of one output pass): after both
// d-loops, part 1 leaves its threads' partial sums in its own shared memory (`stage`, free after
// its loop), chunk q of thread `slot` at float4 q * kSlots + slot so that a warp's chunks are
// consecutive; part 0's threads add them to their own with 16-byte reads through distributed
// shared memory; a second cluster barrier keeps part 1's shared memory alive until they are read.
// Every value is the same two partial sums added in the same order on every run, in float32 for
// every type: no atomics, no zeroed output. Before (sessions 10-21), part 1 put its sums into
// part 0's tile with 4-byte remote stores: about 7900 SM cycles an output more than an unsplit
// tile's (phase clocks, session 22). `sums`: the thread's accumulators (an array of floats of any
// shape); `holds`: whether this thread has sums (with k-groups, group 0's). Returns whether this
// block stores the tile's entries (part 0).
template <int kSlots, typename Sums, size_t kStageBytes>
__device__ __forceinline__ bool AddPartnerSums(const TileBlock& block, Sums& thread_sums,
                                               unsigned char (&stage)[kStageBytes], int slot,
                                               bool holds) {
  constexpr int kCount = sizeof(Sums) / sizeof(float);
  static_assert(kCount % 4 == 0, "whole float4 chunks");
  static_assert(sizeof(Sums) * kSlots <= kStageBytes, "part 1's sums fit in its stages' bytes");
  float* sums = reinterpret_cast<float*>(&thread_sums);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  auto* own = reinterpret_cast<float4*>(stage);
  if (block.part == 1 && holds) {
#pragma unroll
    for (int q = 0; q < kCount / 4; ++q)
      own[q * kSlots + slot] =
          make_float4(sums[4 * q], sums[4 * q + 1], sums[4 * q + 2], sums[4 * q + 3]);
  }
  cluster.sync();  // part 1's sums are in its shared memory
  if (block.part == 0 && holds) {
    const float4* other = cluster.map_shared_rank(own, 1);
#pragma unroll
    for (int q = 0; q < kCount / 4; ++q) {
      const float4 v = other[q * kSlots + slot];
      sums[4 * q] += v.x, sums[4 * q + 1] += v.y, sums[4 * q + 2] += v.z, sums[4 * q + 3] += v.w;
    }
  }
  cluster.sync();  // read: part 1 may go on
  return block.part == 0;
#else
  __trap();  // the host splits d only where clusters launch (ClusterLaunchSupported)
  return false;
#endif
}

// Stores an entry's value in the output type.
template <typename T>
__device__ __forceinline__ void EmitEntry(T* out, float value) {
  *out = FromAcc<T>(static_cast<Acc<T>>(value));
}

// Output of one pass: tile rows [0, kPassRows) of the dense tile in shared
// memory hold rows row0.. of lhs @ rhs^T at columns col0.. . Without a tile
// index, warps walk those rows' entries, lanes 32 at a time, storing the ones
// whose column falls in this tile (each entry lies in exactly one column tile):
// index reads grow as nnz x (k / kBN).
template <typename T, int kThreads, int kPassRows, int kBN>
__device__ __forceinline__ void StoreRowEntries(const SddmmArgs<T>& args, T* out,
                                                const float (*tile_out)[kBN + 1], int64_t row0,
                                                int64_t col0, const TileBlock& block, int tid) {
  constexpr int kWarps = kThreads / kWarpSize;
  const int warp = tid / kWarpSize, lane = tid % kWarpSize;
  for (int r = warp * block.Shares() + block.share; r < kPassRows; r += kWarps * block.Shares()) {
    const int64_t row = row0 + r;
    if (row >= args.m) break;
    const int64_t end = __ldg(args.row_offsets + row + 1);
    for (int64_t e = __ldg(args.row_offsets + row) + lane; e < end; e += kWarpSize) {
      const int64_t c = __ldg(args.column_indices + e) - col0;
      if (c >= 0 && c < kBN) EmitEntry(out + e, tile_out[r][c]);
    }
  }
}

// What a tile's output reads from the pattern's tile index before any entry: the bounds of its
// index tiles' entry lists. Load() puts them into shared memory at the start of the d-loop
// (RunSlices), so their latency hides behind the loop: after it, an entry waits for two loads
// (its position, then its column and row), all in flight at once. Before (session 20), the
// output waited for the row offsets, then the bounds, then each round of 4 entries: by estimate
// about 6 us of a 10-16 us call at d = 256 (tune-sddmm at c4b8276).
template <typename Config>
struct TileEntryIndex {
  static constexpr int kEdge = kTileIndexEdge;
  // Whole index tiles in a pass's rows and a tile's columns (else the output walks the rows).
  static constexpr bool kIndexable =
      Config::kBN % kEdge == 0 && Config::kPassRows % kEdge == 0;
  static constexpr int kRowTiles = kIndexable ? Config::kBM / kEdge : 1;
  static constexpr int kColTiles = kIndexable ? Config::kBN / kEdge : 1;
  int32_t begin[kRowTiles][kColTiles], end[kRowTiles][kColTiles];

  // Whether the output reads entry lists (else StoreRowEntries walks the rows).
  template <typename T>
  __device__ __forceinline__ static bool Used(const SddmmArgs<T>& args) {
    return kIndexable && args.tile_offsets != nullptr;
  }

  // Visible after the next barrier (the d-loop's first, or the output's). Once a block, for its
  // first batch item b: the pattern, and so these values, are the same for every batch item.
  template <typename T>
  __device__ __forceinline__ void Load(const SddmmArgs<T>& args, int64_t k, int64_t row0,
                                       int64_t col0, int64_t b, int tid) {
    if (b != blockIdx.z || !Used(args)) return;
    const int64_t index_cols = (k + kEdge - 1) / kEdge;  // the index's tiles a row of tiles
    for (int i = tid; i < kRowTiles * kColTiles; i += Config::kThreads) {
      const int r = i / kColTiles, c = i % kColTiles;
      const bool inside = row0 + r * kEdge < args.m && col0 + c * kEdge < k;
      const int64_t tile = (row0 / kEdge + r) * index_cols + col0 / kEdge + c;
      begin[r][c] = inside ? __ldg(args.tile_offsets + tile) : 0;
      end[r][c] = inside ? __ldg(args.tile_offsets + tile + 1) : 0;
    }
  }
};

// With the pattern's tile index, an index tile's own entries are one list, [begin, end): all
// threads take them kThreads apart, kUnroll loads in flight each (the entries of a 64 x 64 tile
// at 50% in one round), and take each entry's row from the pattern's entry_rows.
template <typename T, int kThreads, int kRows, int kBN>
__device__ __forceinline__ void StoreIndexedEntries(const SddmmArgs<T>& args, T* out,
                                                    const float (*tile_out)[kBN + 1],
                                                    int32_t begin,
                                                    int32_t end, int64_t tile_row0, int64_t col0,
                                                    int tid) {
  constexpr int kUnroll = 2048 / kThreads < 4 ? 4 : 2048 / kThreads > 16 ? 16 : 2048 / kThreads;
  // 64-bit positions: a position past the last entry may pass 2^31 - 1 (nnz < 2^31).
  for (int64_t base = int64_t{begin} + tid; base < end; base += int64_t{kThreads} * kUnroll) {
    int32_t e[kUnroll], c[kUnroll], row[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = base + u * kThreads;
      e[u] = i < end ? __ldg(args.tile_entries + i) : -1;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) c[u] = e[u] >= 0 ? __ldg(args.column_indices + e[u]) : 0;
    // The rows load beside the columns, clamped into the tile. Before (session 59), a search of
    // the tile rows' offsets in shared memory: 6 dependent steps an entry after its position.
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      row[u] = e[u] >= 0 ? static_cast<int>(min(max(int64_t{__ldg(args.entry_rows + e[u])} -
                                                        tile_row0, int64_t{0}),
                                                    int64_t{kRows - 1}))
                         : 0;
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (e[u] >= 0) EmitEntry(out + e[u], tile_out[row[u]][c[u] - col0]);
  }
}

// One output pass of a tile kernel, after tile rows [pass, pass + kPassRows) of the dense tile
// are in tile_out: each index tile's own entry list (TileEntryIndex), else the row walk.
// Barriers before (tile_out complete) and after (the next pass overwrites it).
template <typename T, typename Config>
__device__ __forceinline__ void StorePassEntries(const SddmmArgs<T>& args, T* out,
                                                 const float (*tile_out)[Config::kBN + 1],
                                                 const TileEntryIndex<Config>& index, int64_t k,
                                                 int64_t row0, int64_t col0,
                                                 const TileBlock& block, int pass, int tid) {
  using Index = TileEntryIndex<Config>;
  constexpr int kEdge = Index::kEdge;
  __syncthreads();
  if (Index::Used(args)) {
#pragma unroll
    for (int r = 0; r < Config::kPassRows; r += kEdge) {
      if (row0 + pass + r >= args.m) break;
#pragma unroll
      for (int c = 0; c < Config::kBN; c += kEdge) {
        if (col0 + c >= k) break;
        const int tr = (pass + r) / kEdge, tc = c / kEdge;
        const int32_t begin = index.begin[tr][tc], count = index.end[tr][tc] - begin;
        StoreIndexedEntries<T, Config::kThreads, kEdge, Config::kBN>(
            args, out, tile_out + r,
            begin + static_cast<int32_t>(block.FirstOf(count)),
            begin + static_cast<int32_t>(block.EndOf(count)), row0 + pass + r, col0, tid);
      }
    }
  } else {
    StoreRowEntries<T, Config::kThreads, Config::kPassRows, Config::kBN>(
        args, out, tile_out, row0 + pass, col0, block, tid);
  }
  __syncthreads();
}

// A tile kernel's output after its d-loop (and, with d split, AddPartnerSums): kPassRows tile
// rows at a time, `put(dst, pass)` writes the thread's accumulators of those rows into dst (the
// stages' bytes, free after the loop's last barrier), then StorePassEntries stores their entries.
template <typename T, typename Config, typename Put>
__device__ __forceinline__ void StoreTileEntries(const SddmmArgs<T>& args, T* out,
                                                 float (*tile_out)[Config::kBN + 1],
                                                 const TileEntryIndex<Config>& index, int64_t k,
                                                 int64_t row0, int64_t col0,
                                                 const TileBlock& block, int tid, Put put) {
#pragma unroll
  for (int pass = 0; pass < Config::kBM; pass += Config::kPassRows) {
    put(tile_out, pass);
    StorePassEntries<T, Config>(args, out, tile_out, index, k, row0, col0, block, pass, tid);
  }
}

// The two-stage loop over slices [first, end) of d of the tile kernels: slice
// s + 1 of both operand tiles is loaded into registers while multiply(stage)
// works on slice s in shared memory, then store(stage) moves the registers
// into the other stage (last read before the previous barrier): one barrier
// per slice. An empty range (a share of a short d) leaves the accumulators zero.
// prefetch() (the output's TileEntryIndex::Load) runs once, after slice `first`'s loads are
// issued, so that its loads wait alongside theirs rather than before them.
template <int kBK, typename TileA, typename TileB, typename T, typename Store, typename Multiply,
          typename Prefetch>
__device__ __forceinline__ void RunSlices(TileA& a, TileB& w, const T* lhs, const T* rhs,
                                          int64_t m, int64_t k, int64_t d, int64_t row0,
                                          int64_t col0, int64_t first, int64_t end, int tid,
                                          Store store, Multiply multiply, Prefetch prefetch) {
  if (first >= end) {  // the same for the whole block
    prefetch();
    return;
  }
  a.Start(lhs, m, d, row0, tid);
  w.Start(rhs, k, d, col0, tid);
  a.Load(d, first * kBK);
  w.Load(d, first * kBK);
  prefetch();
  store(0);
  __syncthreads();
  for (int64_t s = first; s < end; ++s) {
    const int stage = static_cast<int>((s - first) & 1);
    const bool next = s + 1 < end;
    if (next) {
      a.Load(d, (s + 1) * kBK);
      w.Load(d, (s + 1) * kBK);
    }
    multiply(stage);
    if (next) store(stage ^ 1);
    __syncthreads();
  }
}

// Block kThreads (1-D); grid.x covers the row tiles of m, grid.y the column
// tiles of k times kParts times the output's shares (TileBlock; kParts > 1 in
// clusters of kParts along y, one-pass tiles only), grid.z the batch (stride
// loop).
template <typename T, typename Config, int kParts>
__global__ void __launch_bounds__(Config::kThreads, Config::kMinBlocks)
    SddmmTileKernel(const SddmmArgs<T> args, int64_t k, int parts, int shares) {
  constexpr int kBM = Config::kBM, kBN = Config::kBN, kBK = Config::kBK;
  constexpr int kTM = Config::kTM, kTN = Config::kTN;
  constexpr int kThreadsN = kBN / kTN;  // threads along a tile row
  static_assert(kTM % 4 == 0 && kTN % 4 == 0, "micro-tiles are read as float4 chunks");
  static_assert(kBM % Config::kPassRows == 0, "whole output passes");
  static_assert(kParts == 1 || Config::kPassRows == kBM, "split tiles meet in one pass");
  __shared__ __align__(16) unsigned char smem_bytes[kSddmmTileSmemBytes<Config>];
  auto& smem = *reinterpret_cast<SddmmTileShared<Config>*>(smem_bytes);
  auto* tile_out = reinterpret_cast<float(*)[kBN + 1]>(smem_bytes);
  __shared__ TileEntryIndex<Config> entry_index;

  const int tid = threadIdx.x;
  const int tn = tid % kThreadsN, tm = tid / kThreadsN;
  const TileBlock block = TileBlock::Here(parts, shares);  // parts == kParts
  const int64_t row0 = block.row_tile * kBM, col0 = block.col_tile * kBN;
  const int64_t slices = (args.d + kBK - 1) / kBK;
  JSDL_PHASE_CLOCK_AT(0);
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    const SddmmItem<T> item = args.Item(b);

    float acc[kTM][kTN] = {};
    SddmmOperandTile<T, Config, kBM> a;
    SddmmOperandTile<T, Config, kBN> w;
    const auto store = [&](int stage) {
      a.Store(smem.lhs[stage], tid);
      w.Store(smem.rhs[stage], tid);
    };
    const auto multiply = [&](int stage) {
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        float x[kTM], y[kTN];
#pragma unroll
        for (int q = 0; q < kTM / 4; ++q) {
          const float4 v = *reinterpret_cast<const float4*>(
              &smem.lhs[stage][kk][MicroOffset<kBM, kTM>(q, tm)]);
          x[4 * q] = v.x, x[4 * q + 1] = v.y, x[4 * q + 2] = v.z, x[4 * q + 3] = v.w;
        }
#pragma unroll
        for (int q = 0; q < kTN / 4; ++q) {
          const float4 v = *reinterpret_cast<const float4*>(
              &smem.rhs[stage][kk][MicroOffset<kBN, kTN>(q, tn)]);
          y[4 * q] = v.x, y[4 * q + 1] = v.y, y[4 * q + 2] = v.z, y[4 * q + 3] = v.w;
        }
#pragma unroll
        for (int i = 0; i < kTM; ++i)
#pragma unroll
          for (int j = 0; j < kTN; ++j) acc[i][j] += x[i] * y[j];
      }
    };
    RunSlices<kBK>(a, w, item.lhs, item.rhs, args.m, k, args.d, row0, col0,
                   block.FirstSlice(slices), block.EndSlice(slices), tid, store, multiply,
                   [&] { entry_index.Load(args, k, row0, col0, b, tid); });
    JSDL_PHASE_CLOCK_AT(1);

    if constexpr (kParts > 1) {  // d split over a cluster: part 0 adds part 1's sums, stores
      if (!AddPartnerSums<Config::kThreads>(block, acc, smem_bytes, tid, true)) continue;
    }
    // Output (StoreTileEntries): the thread's micro-tile rows of a pass.
    const auto put = [&](float (*dst)[kBN + 1], int pass) {
#pragma unroll
      for (int i = 0; i < kTM; ++i) {
        const int r = MicroOffset<kBM, kTM>(i / 4, tm) + i % 4 - pass;
        if (r < 0 || r >= Config::kPassRows) continue;
#pragma unroll
        for (int j = 0; j < kTN; ++j) dst[r][MicroOffset<kBN, kTN>(j / 4, tn) + j % 4] = acc[i][j];
      }
    };
    StoreTileEntries<T, Config>(args, item.out, tile_out, entry_index, k, row0, col0, block, tid,
                                put);
    JSDL_PHASE_CLOCK_AT(2);
  }
}

}  // namespace jsdl
