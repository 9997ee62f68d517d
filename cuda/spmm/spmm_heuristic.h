// Which SpMM kernel and tile for a problem. The thresholds come from the
// measurements in docs/kernels.md; JSDL_SPMM_VARIANT overrides the choice for
// tuning runs ("gather", "gather:<tile_cols>:<rows_per_warp>[:<lanes>[:<warps>]]",
// "gather-batched:<tile_cols>:<rows_per_warp>[:<warps>]" (one vector a lane, batched loads),
// "panel:<tile_cols>:<rows_per_warp>", "stream[:<rows_per_block>[:<pass_rows>]]",
// "wide-stream[:<rows_per_block>]", "rows-stream[:<rows_per_block>]" (the wide panel, a row per
// 8-lane group), "wgmma[:<parts over k>]"; "no-wgmma": the heuristic without the wgmma tile).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "spmm_config.h"

namespace jsdl {

enum class SpmmKernelKind { kGather, kPanel, kStream, kWgmma };

struct SpmmChoice {
  SpmmKernelKind kind;
  int tile_cols;      // columns per tile
  int rows_per_warp;
  int lanes = 0;      // gather: lanes per group (0: one vector per lane)
  int warps = 8;      // gather: warps per block (the panel kernel has 8)
  int rows_per_block = 0;  // stream
  int pass_rows = 0;       // stream: panel rows a pass (0: the whole panel at once)
  int stream_vecs = 1;     // stream: 16-byte vectors a lane (2: 256-byte panel rows)
  bool group_rows = false; // wide stream: a row per 8-lane group (SpmmStreamRowsConfig)
  int stream_lanes = 8;    // stream: lanes a group (4: 64-byte rows, SpmmStreamNarrowConfig)
  int k_parts = 1;         // wgmma: parts over k an item (SpmmWgmmaConfig::kMaxKParts)
  bool batched = false;    // gather: kRowBatch steps of dense-row loads at once
};

// What the heuristic needs of the device.
struct SpmmDevice {
  int num_sms;
  int smem_per_block;  // a block may opt in to (bytes)
  int smem_per_sm;     // all of an SM's resident blocks (bytes)
};

inline constexpr int kWarpSlots = 32;  // rows whose metadata a warp loads at once
// The most rows a stream block gets with rows_per_block asked for: the grid
// has ceil(m / rows_per_block) row blocks, interleaved.
inline int64_t StreamRowsCap(int64_t m, int64_t rows_per_block) {
  const int64_t row_blocks = (m + rows_per_block - 1) / rows_per_block;
  return (m + row_blocks - 1) / row_blocks;
}

// Stream kernel: rows a block for the row blocks that fill one wave of the SMs (blocks_per_sm
// resident blocks each) with tiles x batch column tiles; at least one row block, so large
// problems take several waves of whole-m blocks.
inline int64_t StreamWaveRows(int64_t m, int64_t tiles, int64_t batch, int num_sms,
                              int blocks_per_sm) {
  const int64_t wave = int64_t{num_sms} * (blocks_per_sm < 1 ? 1 : blocks_per_sm);
  const int64_t blocks = wave / (tiles * batch);
  const int64_t row_blocks = blocks < 1 ? 1 : blocks < m ? blocks : m;
  return (m + row_blocks - 1) / row_blocks;
}

// Panel tile: 16-byte vectors for `lanes` lanes per group (a power of two
// <= 32), halved until the panel (k x tile) fits in `budget` bytes; 0 when not
// even one vector per row fits.
inline int PanelTileCols(int64_t k, int lanes, int vec, int elem_bytes, int64_t budget) {
  while (lanes >= 1 && k * lanes * vec * elem_bytes > budget) lanes /= 2;
  return lanes >= 1 ? lanes * vec : 0;
}

// Gather tile: the smallest of 4, 8, 16 or 32 lanes x vec that covers n; with
// l1_cap, no wider than keeps the block's dense strip (k x tile) within 128 KB
// of L1 (vec: elements per access, 1 when rows are not 16-byte aligned).
inline int GatherTileCols(int64_t k, int64_t n, int vec, int elem_bytes, bool l1_cap) {
  if (vec <= 1) return n <= 32 ? 32 : n <= 64 ? 64 : 128;
  int lanes = 4;
  while (lanes < 32 && n > lanes * vec) lanes *= 2;
  while (l1_cap && lanes > 4 && k * lanes * vec * elem_bytes > (128 << 10)) lanes /= 2;
  return lanes * vec;
}

// Rows per warp: as many as keep at least two blocks per SM (more rows per
// block means more re-use of the block's dense strip in L1).
inline int GatherRowsPerWarp(int64_t m, int64_t tiles, int64_t batch, int num_sms) {
  int rows = 16;
  while (rows > 1 && (m + 8 * rows - 1) / (8 * rows) * tiles * batch < 2 * num_sms) rows /= 2;
  return rows;
}

// Whether the wgmma tile (session 27) takes less time than the CUDA-core kernels: its time model
// (SpmmWgmmaConfig: work items of 64 rows x kCols columns, num_sms at a time, each through
// every chunk of k: at the densities it runs at, all tiles hold entries) against the CUDA-core
// kernels' time: a start, each product (nnz n; costlier for k > 512, where more of B misses in
// L1) and each output element written. float32 fitted to session 27's call 2 no-wgmma runs
// (within 15% but for 512 x 2048 at 90%: 0.74x, and at N = 256); with session 29's tile the
// choices were right on 41 of 42 measured problems (the miss, 512 x 2048 at 60%, N = 256 in
// TF32, keeps the CUDA cores at 46.1 us where the tile took 32.3). 16-bit fitted to session 30's
// 18 bfloat16 runs (within 20% at N >= 2048); with session 30's persistent tile right on 17 of
// 18 (the miss, 512 x 2048 at 90%, N = 256, keeps the CUDA cores at 24.9 us where the tile took
// 21.3).
struct CudaCoreTimeModel {
  double start_nanos, nanos_per_product, nanos_per_product_long_k, nanos_per_output;
};
inline constexpr CudaCoreTimeModel kCudaCoreTime32Bit{6000, 1.5e-4, 2.5e-4, 3.8e-3};
inline constexpr CudaCoreTimeModel kCudaCoreTime16Bit{6000, 1.2e-4, 3.1e-4, 2.7e-3};
// The wgmma tile's time in `parts` parts over k an item (each part takes its share of the
// chunks, the last to finish adds the others' sums).
inline double WgmmaNanos(int64_t items, int64_t chunks, double chunk_nanos, int parts,
                         int num_sms) {
  using Config = SpmmWgmmaConfig;
  const double waves = static_cast<double>((items * parts + num_sms - 1) / num_sms);
  const double part_chunks = static_cast<double>((chunks + parts - 1) / parts);
  const double join =
      parts > 1 ? Config::kKPartsNanos + Config::kKPartItemNanos * (parts - 1) * items : 0.0;
  return Config::kStartNanos + waves * (Config::kWaveNanos + part_chunks * chunk_nanos) + join;
}

// The parts over k the model finds fastest within one wave (1: none; only where the workspace
// has their room, can_k_parts, and SpmmWgmmaKPartsBytes allows them).
inline int WgmmaKParts(int64_t items, int64_t chunks, double chunk_nanos, int num_sms,
                       bool can_k_parts) {
  using Config = SpmmWgmmaConfig;
  int best = 1;
  if (!can_k_parts || SpmmWgmmaKPartsBytes(items, chunks) == 0) return best;
  for (int parts = 2; parts <= Config::kMaxKParts && chunks / parts >= Config::kMinKPartChunks &&
                      items * parts <= num_sms;
       ++parts)
    if (WgmmaNanos(items, chunks, chunk_nanos, parts, num_sms) <
        WgmmaNanos(items, chunks, chunk_nanos, best, num_sms))
      best = parts;
  return best;
}

inline double WgmmaChunkNanos(int elem_bytes, bool tf32) {
  using Config = SpmmWgmmaConfig;
  return elem_bytes == 2 ? Config::kChunkNanos16Bit
         : tf32          ? Config::kChunkNanosTf32
                         : Config::kChunkNanosSplit;
}

// The wgmma tile's parts over k where it is faster than the CUDA-core kernels, else 0.
inline int WgmmaFasterParts(int64_t m, int64_t k, int64_t n, int64_t batch, int64_t nnz,
                            int elem_bytes, bool tf32, int num_sms, bool can_k_parts) {
  using Config = SpmmWgmmaConfig;
  const int64_t items = SpmmWgmmaItems(m, n, batch);
  const int64_t chunks = SpmmWgmmaChunks(k);
  const double chunk_nanos = WgmmaChunkNanos(elem_bytes, tf32);
  const int parts = WgmmaKParts(items, chunks, chunk_nanos, num_sms, can_k_parts);
  const double wgmma = WgmmaNanos(items, chunks, chunk_nanos, parts, num_sms);
  const CudaCoreTimeModel& cc = elem_bytes == 2 ? kCudaCoreTime16Bit : kCudaCoreTime32Bit;
  const double products = static_cast<double>(nnz) * n * batch;
  const double cuda_cores =
      cc.start_nanos +
      products * (k > 512 ? cc.nanos_per_product_long_k : cc.nanos_per_product) +
      static_cast<double>(m) * n * batch * cc.nanos_per_output;
  return wgmma < cuda_cores ? parts : 0;
}

// vec: elements per 16 bytes when rows of n elements are 16-byte aligned,
// else 1. copy_ok: the dtype has the panel and stream kernels (a shared-memory
// copy of the dense operand). can_wgmma: the wgmma tile can run (SpmmWgmmaUsable), tf32 in
// TF32 (else 3xTF32); can_k_parts: its workspace has room for parts over k.
inline SpmmChoice ChooseSpmm(int64_t m, int64_t k, int64_t n, int64_t batch, int64_t nnz,
                             int vec, int elem_bytes, bool copy_ok, const SpmmDevice& device,
                             bool can_wgmma = false, bool tf32 = false,
                             bool can_k_parts = false) {
  if (const char* v = std::getenv("JSDL_SPMM_VARIANT"); v && std::strcmp(v, "no-wgmma") == 0)
    can_wgmma = false;
  const int num_sms = device.num_sms;
  // Measured on an H200 (docs/kernels.md, tuning runs 4 to 7):
  // - wide outputs (n > 512): the gather kernel, one row per warp; float32
  //   with two vectors a lane, 16 lanes a group (1.1-1.4x the 32 x 1 layout),
  //   or for k >= 2048 8 lanes a group in blocks of 32 warps (1.5-1.9x);
  //   other types the widest one-vector tile;
  // - narrow outputs with long rows of the dense operand (k >= 1024): the
  //   gather kernel with narrow, L1-sized tiles and several rows per warp;
  //   but for 32 < n <= 64 (attention's head dim 64, the Transformer's 12288
  //   pattern) the whole row as one 64-column tile, 8 lanes a group (1.77x
  //   the narrow tiles: fewer shuffles per multiply-add), float32 in blocks
  //   of 32 warps x 2 rows (1.05-1.12x the 8 x 4 blocks; 16-bit types were
  //   not timed so and keep 8 x 4);
  // - narrow float32 outputs with k < 1024 and blocks of 64 rows x 64
  //   columns enough to cover half the SMs: 8 lanes x 2 in blocks of 32
  //   warps x 2 rows (1.2x the panel kernel on 2048 x 512);
  // - other narrow outputs: the panel kernel, 64-byte panel rows (4 lanes a
  //   group), 2 rows per warp;
  // - before all these (session 11), the stream kernel where its panel fits a
  //   block and a block's rows use each panel row at least twice in the
  //   mean (rows per block x density >= 2): 1.1-1.6x the choices above on
  //   the transformer matrices with k = 512, which lost where that re-use
  //   was 0.3-1.6 (512 x 512 at N = 256 from 90%, at N = 2048 at 98%);
  // - before that (session 12), the wide stream kernel (256-byte panel rows)
  //   where its panel fits and the re-use is at least 4: 1.10x (float32) and
  //   1.13x (bfloat16) the 128-byte stream kernel on the k = 512 transformer
  //   matrices (1.17-1.32x on 2048 x 512 at N = 2048), but slower on the
  //   small 98% problems whose re-use was 0.3-2.6 (tuning 159d17e);
  // - session 13 timed kernels by the GPU's busy time (the wall clock had
  //   put every contender of those small problems at the same 8-12 us of
  //   XLA launch work): the wide stream kernel was then as fast as or faster
  //   than every other choice on all 20 float32 problems with k = 512 at
  //   70-98% (up to 1.42x on 2048 x 512 at 98%, N = 256; tuning 06f5da4) and
  //   on the 10 bfloat16 ones at 70-95% (c7b1d69), so it is taken wherever its
  //   panel fits and the output fills at least one of its tiles;
  // - session 15, by the device clock (tuning a5dc63d, k >= 1024, float32):
  //   for narrow outputs the 128-byte stream kernel beat the gather kernel
  //   from a re-use of 0.5, not 2 (1.09x and 1.25x on 512 x 2048 at 98% and
  //   95%, re-use 0.6 and 1.6), but lost below it on two of three problems
  //   (0.79x on 256 x 2304 and 0.89x on 128 x 1152 at 98%, re-use 0.3 and
  //   0.2); the row tile of 32 < n <= 64 was not timed against it. For wide
  //   float32 outputs passes beat the gather kernel from 90% sparsity
  //   (1.08-1.17x on 512 x 2048 at N = 2048 and 256 x 2304 at N = 4096), tied
  //   at 80% and lost at 50-70% (0.48-0.89x);
  // - session 16 (tuning 1c8dbec, float32, ResNet-50 at 98% with N = 200704, 24 waves of wide
  //   stream blocks): the gather kernel beat both stream kernels at a re-use of 1.3-2.6
  //   (1.25-2.16x the wide one, 6 shapes with k <= 512 and m <= 128); from 3 and for 16-bit
  //   types it was not timed there. At N = 784 (one wave) they came within 0.96-1.23x.
  const bool wide = n > 512;
  const int gather_tile = GatherTileCols(k, n, vec, elem_bytes, /*l1_cap=*/!wide);
  const int64_t tiles = (n + gather_tile - 1) / gather_tile;
  const bool row_tile = vec > 1 && k >= 1024 && n > 32 && n <= 64;
  const bool f32_vec = vec > 1 && elem_bytes == 4;
  const bool tall_narrow = f32_vec && !wide && k < 1024 && n >= 64 &&
                           (m + 63) / 64 * ((n + 63) / 64) * batch >= num_sms / 2;
  SpmmChoice gather{SpmmKernelKind::kGather, gather_tile,
                    wide ? 1 : GatherRowsPerWarp(m, tiles, batch, num_sms)};
  if (row_tile)
    gather = f32_vec ? SpmmChoice{SpmmKernelKind::kGather, 64, 2, 8, 32}
                     : SpmmChoice{SpmmKernelKind::kGather, 64, 4, 8};
  else if (wide && f32_vec)
    gather = k >= 2048 ? SpmmChoice{SpmmKernelKind::kGather, 64, 1, 8, 32}
                       : SpmmChoice{SpmmKernelKind::kGather, 128, 1, 16};
  else if (tall_narrow) gather = {SpmmKernelKind::kGather, 64, 2, 8, 32};
  copy_ok = copy_ok && vec > 1;
  // The stream kernel's row slots and panel rows are 32-bit (m * 32 x its warps).
  using Stream = SpmmStreamConfig;
  using Passes = SpmmStreamPassesConfig;
  using Wide = SpmmStreamWideConfig;
  using Rows = SpmmStreamRowsConfig;  // the wide panel, a row per 8-lane group, 16 warps
  // Its panel, with less staging: it fits wherever Wide's does (wide_fits below).
  static_assert(Rows::kRowBytes == Wide::kRowBytes && Rows::kMinBlocksPerSm == 1 &&
                    Rows::kStagingBytes <= Wide::kStagingBytes,
                "the wide panel, in no more shared memory");
  constexpr int kMostWarps = std::max({Wide::kWarps, Passes::kWarps, Rows::kWarps});
  const int64_t budget = device.smem_per_block;
  const bool stream_shape_ok = copy_ok && k > 0 && k < (int64_t{1} << 30) && m > 0 &&
                               m * (kWarpSlots * kMostWarps + 1) < (int64_t{1} << 31);
  const bool whole_panel = Stream::SharedBytes(k, 0, elem_bytes) <= budget;
  SpmmChoice stream{SpmmKernelKind::kStream, Stream::kRowBytes / elem_bytes, 0};
  const int64_t stream_tiles = (n + stream.tile_cols - 1) / stream.tile_cols;
  if (stream_shape_ok && whole_panel) {
    // 1 KB of each block's shared memory is reserved by the system; the
    // registers allow kMinBlocksPerSm blocks.
    const int64_t fit = device.smem_per_sm / (Stream::SharedBytes(k, 0, elem_bytes) + 1024);
    const int blocks_per_sm = static_cast<int>(fit < Stream::kMinBlocksPerSm ? fit
                                               : Stream::kMinBlocksPerSm);
    stream.rows_per_block =
        static_cast<int>(StreamWaveRows(m, stream_tiles, batch, num_sms, blocks_per_sm));
  } else if (stream_shape_ok) {
    // Passes: one block an SM, at most kStreamPartialBudget of partial sums.
    const int64_t max_rows = kStreamPartialBudget / Passes::PartialBytes(1, elem_bytes);
    const int64_t rows = StreamWaveRows(m, stream_tiles, batch, num_sms, 1);
    stream.rows_per_block = static_cast<int>(rows < max_rows ? rows : max_rows);
    stream.pass_rows = static_cast<int>(Passes::PassRows(budget, stream.rows_per_block,
                                                         elem_bytes));
  }
  // Two vectors a lane: one block an SM.
  SpmmChoice wide_stream{SpmmKernelKind::kStream, Wide::kRowBytes / elem_bytes, 0};
  wide_stream.stream_vecs = 2;
  const bool wide_fits = stream_shape_ok && Wide::SharedBytes(k, 0, elem_bytes) <= budget;
  const int64_t wide_tiles = (n + wide_stream.tile_cols - 1) / wide_stream.tile_cols;
  if (wide_fits)
    wide_stream.rows_per_block = static_cast<int>(StreamWaveRows(m, wide_tiles, batch, num_sms, 1));
  // Passes of fewer than 256 panel rows were not considered worth it; nor
  // were passes for wide float32 outputs below 90% sparsity, where the gather
  // kernel's 8 lanes x 2 vectors in blocks of 32 warps is faster (above).
  const double density = m > 0 && k > 0 ? static_cast<double>(nnz) / (static_cast<double>(m) * k)
                                         : 0.0;
  const bool passes_ok = stream.pass_rows >= 256 && (!(wide && f32_vec) || density <= 0.1);
  const bool stream_ok = stream_shape_ok && (whole_panel || passes_ok);
  // Entries a block's rows have per panel row (rows per block x density).
  const double stream_reuse = stream_ok ? stream.rows_per_block * density : 0.0;
  const double wide_reuse = wide_fits ? wide_stream.rows_per_block * density : 0.0;
  // Narrow rows: 64-byte panel rows of 4-lane groups, the whole panel at once, one block an SM.
  using Narrow = SpmmStreamNarrowConfig;
  SpmmChoice narrow{SpmmKernelKind::kStream, Narrow::kRowBytes / elem_bytes, 0};
  narrow.stream_lanes = Narrow::kLanes;
  const bool narrow_fits = stream_shape_ok && Narrow::SharedBytes(k, 0, elem_bytes) <= budget;
  if (narrow_fits)
    narrow.rows_per_block = static_cast<int>(
        StreamWaveRows(m, (n + narrow.tile_cols - 1) / narrow.tile_cols, batch, num_sms, 1));
  SpmmChoice wgmma{SpmmKernelKind::kWgmma, SpmmWgmmaConfig::kCols, 0};
  // The batched gather kernel's choice by the heuristic: 128 columns, 8 warps of one row each.
  constexpr int kBatchedCols = 128, kBatchedWarps = 8;
  auto batched_gather = [](int tile_cols, int rows_per_warp, int warps) {
    SpmmChoice choice{SpmmKernelKind::kGather, tile_cols, rows_per_warp, 0, warps};
    choice.batched = true;
    return choice;
  };
  if (const char* v = std::getenv("JSDL_SPMM_VARIANT")) {
    int a = 0, b = 0;
    if (can_wgmma && std::strncmp(v, "wgmma", 5) == 0) {
      // wgmma:<parts> where the workspace has their room (at most kMaxKParts and chunks); plain
      // wgmma: the model's parts.
      const int64_t items = SpmmWgmmaItems(m, n, batch), chunks = SpmmWgmmaChunks(k);
      if (std::sscanf(v, "wgmma:%d", &a) == 1)
        wgmma.k_parts = can_k_parts && SpmmWgmmaKPartsBytes(items, chunks) > 0
                            ? std::max(1, std::min<int>({a, SpmmWgmmaConfig::kMaxKParts,
                                                         static_cast<int>(chunks)}))
                            : 1;
      else
        wgmma.k_parts = WgmmaKParts(items, chunks, WgmmaChunkNanos(elem_bytes, tf32), num_sms,
                                    can_k_parts);
      return wgmma;
    }
    if (std::strncmp(v, "gather-batched", 14) == 0) {
      int warps = 8;
      if (std::sscanf(v, "gather-batched:%d:%d:%d", &a, &b, &warps) >= 2)
        return batched_gather(a, b, warps);
      return batched_gather(kBatchedCols, 1, kBatchedWarps);
    }
    if (std::strncmp(v, "gather", 6) == 0) {
      int lanes = 0, warps = 8;
      if (std::sscanf(v, "gather:%d:%d:%d:%d", &a, &b, &lanes, &warps) >= 2)
        return {SpmmKernelKind::kGather, a, b, lanes, warps};
      return gather;
    }
    if (wide_fits && std::strncmp(v, "rows-stream", 11) == 0) {
      if (std::sscanf(v, "rows-stream:%d", &a) == 1 && a > 0) wide_stream.rows_per_block = a;
      wide_stream.group_rows = true;
      return wide_stream;
    }
    if (narrow_fits && std::strncmp(v, "narrow-stream", 13) == 0) {
      if (std::sscanf(v, "narrow-stream:%d", &a) == 1 && a > 0) narrow.rows_per_block = a;
      return narrow;
    }
    if (wide_fits && std::strncmp(v, "wide-stream", 11) == 0) {
      if (std::sscanf(v, "wide-stream:%d", &a) == 1 && a > 0) wide_stream.rows_per_block = a;
      return wide_stream;
    }
    if (stream_shape_ok && std::strncmp(v, "stream", 6) == 0) {
      // stream:<rows>:<pass rows> forces passes of at most that many panel rows.
      const int fields = std::sscanf(v, "stream:%d:%d", &a, &b);
      if (fields >= 1 && a > 0) stream.rows_per_block = a;
      const bool force_passes = fields == 2 && b > 0;
      if (force_passes || !whole_panel) {
        const int64_t most = Passes::PassRows(
            budget, StreamRowsCap(m, stream.rows_per_block), elem_bytes);
        const int64_t want = force_passes && b < most ? b : most;
        stream.pass_rows = want >= 1 ? static_cast<int>(want) : -1;  // -1: does not fit
      }
      if (stream.pass_rows >= 0) return stream;
    }
    if (copy_ok && std::sscanf(v, "panel:%d:%d", &a, &b) >= 1) {
      // The tile shrinks until the panel fits in one block's shared memory.
      int lanes = 1;  // a power of two <= 32, at most a / vec
      while (lanes < 32 && lanes * 2 * vec <= a) lanes *= 2;
      const int tile = PanelTileCols(k, lanes, vec, elem_bytes, device.smem_per_block);
      if (tile > 0) return {SpmmKernelKind::kPanel, tile, b > 0 ? b : 2};
    }
  }
  // Rows of at most 16 entries in the mean (rows-stream's case, below) in TF32: no wgmma tile.
  // There both kernels are bound by memory, which the wgmma tile's model leaves out, and the
  // tile moves float32 slower (session 58, H100 harness against no-wgmma, twice each in turn:
  // ResNet-50's 128 x 256 at 95%, N = 802816, 485 us against 587-601, 1.22x). In bfloat16 the
  // tile stays (277 against 314 us), as it does where rows are longer (70%: 566-579 against 1540).
  const bool short_rows = wide_fits && n >= wide_stream.tile_cols && nnz <= 16 * m;
  if (can_wgmma && !(tf32 && elem_bytes == 4 && short_rows)) {
    wgmma.k_parts =
        WgmmaFasterParts(m, k, n, batch, nnz, elem_bytes, tf32, num_sms, can_k_parts);
    if (wgmma.k_parts > 0) return wgmma;
  }
  // One short wave at a re-use under 0.35 (session 43, H100, the standalone harness): the stream
  // blocks copy whole panels to use few of their rows, where the gather kernel with batched loads
  // reads just those rows, two memory latencies a row of up to 8 entries. ResNet-50's 128 x 512
  // at 98%, N = 784 (re-use 0.26, bfloat16 0.16) and 512 x 512 at 98%, N = 256 (0.32, 0.16): the
  // first run 1.15-1.17x the wide stream kernel in both types, the second (old and new in turn,
  // twice, where calls that kept their kernel moved by up to 3%) 1.00-1.12x. At 95% in bfloat16
  // (re-use 0.4) it lost (0.95-0.98x), as at 1.6 and 3.2 (512 x 512 at 80%, N = 256: 0.73x and
  // 0.58x). Within one block an SM, since the batch's registers (float32: 88) cost resident
  // warps: over many waves it lost (128 x 512 at 98%, N = 200704: 0.80x).
  const int64_t batched_blocks =
      (m + kBatchedWarps - 1) / kBatchedWarps * ((n + kBatchedCols - 1) / kBatchedCols) * batch;
  if (vec > 1 && wide_fits && wide_reuse < 0.35 && batched_blocks <= num_sms)
    return batched_gather(kBatchedCols, 1, kBatchedWarps);
  // Where the wide stream kernel would run on rows of at most 16 entries in the mean, the
  // output at least one tile wide: a row per 8-lane group (session 46, H100, the standalone
  // harness, once each): 1.24x the wide kernel on ResNet-50's 128 x 256 at 95%, N = 802816
  // (float32); 1.35x in bfloat16 on the 128 x 512 at 98%, N = 200704; 1.20x and 1.28x on the
  // transformer's 512 x 512 at 98%, N = 2048, 1.08x at N = 256 (float32); 0.97-1.03x at
  // N = 3136. It lost from rows of 26 entries (2048 x 512 at 95%: 0.86x at N = 2048, 0.53x at
  // 256): 16 warps against the wide kernel's 24, a block's rows split over 64 groups. Over many
  // waves in float32 it comes before the gather kernel (session 48, H100 harness, twice each,
  // after the snake order): 1.06x on ResNet-50's 128 x 512 at 98%, N = 200704, and 1.23x on a
  // synthetic one at 2%. Rows of 20-41 entries there were not given it: 1.09-1.19x on 128 x 512
  // at 4% and 8% but 0.92x on 2048 x 512 at 8% (N = 32768), and 0.44-0.68x the heuristic's
  // choice on ResNet-50's layers at 50-90%, N = 200704 (bfloat16: 0.61-0.91x at 4% and 8%,
  // 1.00x at 98%).
  SpmmChoice rows_stream = wide_stream;
  rows_stream.group_rows = true;
  if (short_rows) return rows_stream;
  // Many waves of stream blocks (each copies its panel, multiplies, stores, one block an SM)
  // at a low re-use, rows longer than rows-stream's: the gather kernel, whose many resident
  // blocks overlap those phases.
  const bool gather_waves = f32_vec && wide && wide_fits &&
                            wide_tiles * batch >= int64_t{2} * num_sms && wide_reuse < 3.0;
  if (gather_waves) return gather;
  if (wide_fits && (n >= wide_stream.tile_cols || wide_reuse >= 4.0)) return wide_stream;
  const double least_reuse = !wide && !row_tile && k >= 1024 ? 0.5 : 2.0;
  // Narrow outputs whose 128-byte panel needs passes and whose 64-byte one does not: the narrow
  // rows (session 49, H100 harness, two calls, each twice in turn): 1.23x on the transformer's
  // 512 x 2048 at 90%, N = 256 (19.9 -> 16.1 us; bfloat16 1.50x), 1.10-1.15x on synthetic
  // 256 x 2304 at 10%, 512 x 2048 at 20% and 1024 x 3300 at 5% (bfloat16 1.32x). Wide outputs
  // lost (0.63x on 512 x 2048 at 90%, N = 2048, where the wgmma tile runs), as did the 60% layer
  // at N = 256 against the wgmma tile (0.88x; bfloat16 0.65x), which comes first.
  if (stream_ok && stream_reuse >= least_reuse)
    return stream.pass_rows > 0 && narrow_fits && !wide ? narrow : stream;
  if (!copy_ok || wide || tall_narrow || k >= 1024 || m == 0 || k == 0) return gather;
  return {SpmmKernelKind::kPanel, 4 * vec, 2};
}

}  // namespace jsdl
