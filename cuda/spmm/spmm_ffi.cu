// XLA FFI handler for jsdl_spmm (see docs/architecture.md, "FFI targets").
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>

#include "../common/batch_map.cuh"
#include "../common/cuda_check.h"
#include "../common/device_info.h"
#include "../common/dtype.cuh"
#include "../common/ffi_checks.h"
#include "../common/launch.h"
#include "../common/warp.cuh"
#include "../handlers.h"
#include "spmm_config.h"
#include "spmm_heuristic.h"
#include "spmm_operands.h"
#include "spmm_gather_kernel.cuh"
#include "spmm_panel_kernel.cuh"
#include "spmm_stream_kernel.cuh"
#include "spmm_wgmma_kernel.cuh"
#include "xla/ffi/api/ffi.h"

namespace jsdl {
namespace {

constexpr const char* kOp = "jsdl_spmm";

template <typename T, typename Config>
ffi::Error LaunchGather(cudaStream_t stream, SpmmArgs<T> args, int rows_per_warp, int warps) {
  auto* kernel = SpmmGatherKernel<T, Config>;
  // The kernel has no launch bounds (they would cap its registers for every
  // block height): a block is no taller than its registers allow.
  static const int max_threads = [&] {
    cudaFuncAttributes attributes{};
    return cudaFuncGetAttributes(&attributes, kernel) == cudaSuccess
               ? attributes.maxThreadsPerBlock : 256;
  }();
  while (warps > 1 && 32 * warps > max_threads) warps /= 2;
  args.column_tiles = (args.n + Config::kTileCols - 1) / Config::kTileCols;
  const int64_t rows_per_block = int64_t{warps} * rows_per_warp;
  const dim3 block(32, warps);
  const dim3 grid(static_cast<unsigned>((args.m + rows_per_block - 1) / rows_per_block),
                  CappedGridDim(args.column_tiles), CappedGridDim(args.batch));
  kernel<<<grid, block, 0, stream>>>(args, rows_per_warp);
  JSDL_CHECK_LAUNCH("SpmmGatherKernel");
  return ffi::Error::Success();
}

template <typename T, int kLanes>
ffi::Error LaunchPanel(cudaStream_t stream, SpmmArgs<T> args, int rows_per_warp) {
  using Config = SpmmPanelConfig<SpmmLaneLayout<kVec16<T>, kLanes, 1>>;
  args.column_tiles = (args.n + Config::kTileCols - 1) / Config::kTileCols;
  rows_per_warp = rows_per_warp < 1 ? 1 : rows_per_warp;
  const int64_t rows_per_block = int64_t{Config::kWarpsPerBlock} * rows_per_warp;
  const size_t smem = static_cast<size_t>(args.k) * Config::kTileCols * sizeof(T);
  constexpr auto kernel = SpmmPanelKernel<T, Config>;
  JSDL_RETURN_IF_ERROR(OptInSharedMemory<kernel>(smem));
  const dim3 block(32, Config::kWarpsPerBlock);
  const dim3 grid(static_cast<unsigned>((args.m + rows_per_block - 1) / rows_per_block),
                  CappedGridDim(args.column_tiles), CappedGridDim(args.batch));
  kernel<<<grid, block, smem, stream>>>(args, rows_per_warp);
  JSDL_CHECK_LAUNCH("SpmmPanelKernel");
  return ffi::Error::Success();
}

// Stream kernel: rows_per_block rows a block, interleaved over the blocks;
// the whole panel at once, or passes of pass_rows panel rows (> 0). With
// Config::kPrefetch, more column tiles than one wave of blocks and room for two
// panels, one wave of blocks takes the tiles in turn, prefetching the next.
template <typename T, typename Config>
ffi::Error LaunchStream(cudaStream_t stream, SpmmArgs<T> args, const SpmmDevice& device,
                        int rows_per_block, int pass_rows) {
  constexpr auto kernel = SpmmStreamKernel<T, Config>;
  const int64_t row_blocks = (args.m + rows_per_block - 1) / rows_per_block;
  const int64_t rows_cap = StreamRowsCap(args.m, rows_per_block);
  if (!Config::kPasses) pass_rows = static_cast<int>(args.k);
  constexpr int kTileCols = SpmmStreamTile<T, Config::kVecs, Config::kLanes>::kTileCols;
  args.column_tiles = (args.n + kTileCols - 1) / kTileCols;
  const unsigned batch_blocks = CappedGridDim(args.batch);
  unsigned tile_blocks = CappedGridDim(args.column_tiles);
  int panels = 1;
  const int64_t wave = int64_t{device.num_sms} * Config::kMinBlocksPerSm;
  if (Config::kPrefetch && row_blocks * args.column_tiles * batch_blocks > wave &&
      Config::SharedBytes(pass_rows, rows_cap, sizeof(T), 2) <= device.smem_per_block) {
    const int64_t fit = wave / (row_blocks * batch_blocks);
    tile_blocks = static_cast<unsigned>(fit < 1 ? 1 : fit < tile_blocks ? fit : tile_blocks);
    panels = 2;
  }
  const size_t smem =
      static_cast<size_t>(Config::SharedBytes(pass_rows, rows_cap, sizeof(T), panels));
  JSDL_RETURN_IF_ERROR(OptInSharedMemory<kernel>(smem));
  const dim3 block(32, Config::kWarps);
  const dim3 grid(static_cast<unsigned>(row_blocks), tile_blocks, batch_blocks);
  kernel<<<grid, block, smem, stream>>>(args, static_cast<int>(row_blocks), pass_rows, panels);
  JSDL_CHECK_LAUNCH("SpmmStreamKernel");
  return ffi::Error::Success();
}

// Panel kernel with tile_cols / (16-byte vector) lanes per group.
template <typename T>
ffi::Error LaunchPanelFor(cudaStream_t stream, const SpmmArgs<T>& args, int tile_cols,
                          int rows_per_warp) {
  switch (tile_cols / kVec16<T>) {
    case 1: return LaunchPanel<T, 1>(stream, args, rows_per_warp);
    case 2: return LaunchPanel<T, 2>(stream, args, rows_per_warp);
    case 4: return LaunchPanel<T, 4>(stream, args, rows_per_warp);
    case 8: return LaunchPanel<T, 8>(stream, args, rows_per_warp);
    case 16: return LaunchPanel<T, 16>(stream, args, rows_per_warp);
    default: return LaunchPanel<T, 32>(stream, args, rows_per_warp);
  }
}

template <int kVec, int kLanes, int kVecsPerLane>
using GatherConfig = SpmmGatherConfig<SpmmLaneLayout<kVec, kLanes, kVecsPerLane>>;
// One vector a lane, kRowBatch steps of dense-row loads at once (SpmmChoice::batched).
template <typename T, int kVec, int kLanes>
using BatchedGatherConfig =
    SpmmGatherConfig<SpmmLaneLayout<kVec, kLanes, 1>, kRowBatch<T, SpmmLaneLayout<kVec, kLanes, 1>>>;

// Gather kernel: 16-byte vectors when rows allow, groups as narrow as the tile
// (lanes = 0), or `lanes` lanes a group with several vectors a lane (4 lanes x
// 2 or 4 vectors, 8 x 2 or 4, 16 x 2, 32 x 2: fewer groups, so fewer shuffles
// per entry, and more loads in flight per lane). Batched (16-bit and float32
// types, 16-byte vectors): 16 or 32 lanes a group, one vector each.
template <typename T>
ffi::Error LaunchGatherFor(cudaStream_t stream, const SpmmArgs<T>& args,
                           const SpmmChoice& choice) {
  const int rows = choice.rows_per_warp < 1 ? 1 : choice.rows_per_warp;
  const int warps = choice.warps < 1 ? 1 : choice.warps;  // LaunchGather caps it
  const int tile = choice.tile_cols, lanes = choice.lanes;
  constexpr int kVec = kVec16<T>;
  if constexpr (sizeof(T) <= 4) {
    if (choice.batched && args.n % kVec == 0)
      return tile <= 16 * kVec
                 ? LaunchGather<T, BatchedGatherConfig<T, kVec, 16>>(stream, args, rows, warps)
                 : LaunchGather<T, BatchedGatherConfig<T, kVec, 32>>(stream, args, rows, warps);
  }
#define JSDL_GATHER(VEC, LANES, VECS) \
  return LaunchGather<T, GatherConfig<VEC, LANES, VECS>>(stream, args, rows, warps)
  if (args.n % kVec == 0) {
    if (lanes == 4 && tile >= 16 * kVec) JSDL_GATHER(kVec, 4, 4);
    if (lanes == 4 && tile >= 8 * kVec) JSDL_GATHER(kVec, 4, 2);
    if (lanes == 8 && tile >= 32 * kVec) JSDL_GATHER(kVec, 8, 4);
    if (lanes == 8 && tile >= 16 * kVec) JSDL_GATHER(kVec, 8, 2);
    if (lanes == 16 && tile >= 32 * kVec) JSDL_GATHER(kVec, 16, 2);
    if (lanes == 32 && tile >= 64 * kVec) JSDL_GATHER(kVec, 32, 2);
    if (tile <= 4 * kVec) JSDL_GATHER(kVec, 4, 1);
    if (tile <= 8 * kVec) JSDL_GATHER(kVec, 8, 1);
    if (tile <= 16 * kVec) JSDL_GATHER(kVec, 16, 1);
    JSDL_GATHER(kVec, 32, 1);
  }
  if (tile <= 32) JSDL_GATHER(1, 32, 1);
  if (tile <= 64) JSDL_GATHER(1, 32, 2);
  JSDL_GATHER(1, 32, 4);
#undef JSDL_GATHER
}

// Whether the wgmma tile can run this call: sm_90a code on a 9.0 device (Sm90aDevice), float32,
// bfloat16 or float16, entries (k = 0 has no tiles to densify), the pattern's tile index and a
// workspace for its densified tiles, rows of n a multiple of 16 bytes from a 16-byte aligned
// dense operand with fewer than 2^31 - 64 rows (its TMA copies), a 16-byte aligned output.
template <typename T>
ffi::Error SpmmWgmmaUsable(const SpmmArgs<T>& args, bool split, bool& usable) {
  JSDL_RETURN_IF_ERROR(Sm90aDevice(usable));
  constexpr int kElemBytes = static_cast<int>(sizeof(T));
  usable = usable && kElemBytes <= 4 && args.nnz > 0 && args.tile_offsets != nullptr &&
           args.workspace_bytes >= SpmmWgmmaWorkspaceBytes(args.m, args.k, args.values_batch,
                                                           split, kElemBytes) &&
           // TMA's dense rows: 16-byte multiples from a 16-byte aligned base, int rows
           args.n % (16 / kElemBytes) == 0 && reinterpret_cast<uintptr_t>(args.dense) % 16 == 0 &&
           args.dense_rows < (int64_t{1} << 31) - SpmmWgmmaConfig::kChunk &&
           reinterpret_cast<uintptr_t>(args.workspace) % 16 == 0 &&
           reinterpret_cast<uintptr_t>(args.out) % 16 == 0 &&  // the epilogue's 16-byte stores
           // TMA's int column coordinates; one densify block a values batch item (grid.y)
           args.n < (int64_t{1} << 31) && args.values_batch <= 65535;
  return ffi::Error::Success();
}

// Whether the wgmma tile's workspace also has room for parts over k (SpmmWgmmaKPartsBytes after
// the densified tiles; jax_sparse_dl/spmm.py sizes it so for calls of few work items).
template <typename T>
bool SpmmWgmmaKPartsRoom(const SpmmArgs<T>& args, bool split) {
  const int64_t parts_bytes =
      SpmmWgmmaKPartsBytes(SpmmWgmmaItems(args.m, args.n, args.batch), SpmmWgmmaChunks(args.k));
  return parts_bytes > 0 &&
         args.workspace_bytes >= SpmmWgmmaWorkspaceBytes(args.m, args.k, args.values_batch, split,
                                                         static_cast<int>(sizeof(T))) +
                                     parts_bytes;
}

// The tiles densified (SpmmDensifyKernel), then the wgmma tile on them: a persistent grid of at
// most one block an SM, launched as the densify kernel's programmatic dependent. parts > 1: each
// work item's chunks in parts over k (SpmmWgmmaKPartsRoom), their sums and counters after the
// densified tiles.
template <typename T, bool kSplit>
ffi::Error LaunchWgmma(cudaStream_t stream, const SpmmArgs<T>& args, int num_sms, int parts) {
  using Config = SpmmWgmmaConfig;
  // Parts of equal chunks but the last, none empty (a part's chunks are not divided on the GPU).
  const int chunks = static_cast<int>(SpmmWgmmaChunks(args.k));
  const int part_chunks = (chunks + parts - 1) / parts;
  parts = (chunks + part_chunks - 1) / part_chunks;
  auto* tiles = static_cast<uint32_t*>(args.workspace);
  const dim3 densify_grid(static_cast<unsigned>(TileIndexCount(args.m, args.k)),
                          static_cast<unsigned>(args.values_batch));
  const int64_t item_words = DensifiedWords<T, kSplit>(args.m, args.k);
  const int64_t items = SpmmWgmmaItems(args.m, args.n, args.batch);
  float* part_sums = reinterpret_cast<float*>(tiles + args.values_batch * item_words);
  int* counters = reinterpret_cast<int*>(part_sums + items * Config::kKPartSumFloats);
  const int counter_count = parts > 1 ? static_cast<int>(items * Config::kConsumers) : 0;
  SpmmDensifyKernel<T, kSplit><<<densify_grid, 256, 0, stream>>>(args, tiles, item_words,
                                                                 counters, counter_count);
  JSDL_CHECK_LAUNCH("SpmmDensifyKernel");
  constexpr CUtensorMapDataType kType = TensorMapDataType<T>();
  CUtensorMap dense_map;
  JSDL_CU_CHECK(std::string(kOp) + ": cuTensorMapEncodeTiled",
                EncodeSwizzledRowMap(&dense_map, kType, args.dense, args.dense_rows, args.n,
                                     sizeof(T), Config::kChunk));
  constexpr size_t kSmem = kSpmmWgmmaSmemBytes<Config, T, kSplit>;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(items * parts, num_sms)));
  cudaLaunchAttribute dependent = ProgrammaticDependentLaunch();
  auto launch = [&](auto k_parts) -> ffi::Error {  // std::bool_constant: the instantiation
    constexpr auto kernel = SpmmWgmmaKernel<Config, T, kSplit, decltype(k_parts)::value>;
    JSDL_RETURN_IF_ERROR(OptInSharedMemory<kernel>(kSmem));
    return LaunchWithAttribute(kernel, stream, grid, Config::kThreads, kSmem, &dependent, args,
                               static_cast<const uint32_t*>(tiles), item_words, dense_map, parts,
                               part_chunks, part_sums, counters);
  };
  return parts > 1 ? launch(std::true_type{}) : launch(std::false_type{});
}

// tf32: the caller's precision allows TF32 products for float32 (DEFAULT, HIGH); at HIGHEST the
// wgmma tile takes three a product (3xTF32); 16-bit types take one at any precision (exact).
// The CUDA-core kernels are exact at any precision.
template <typename T>
ffi::Error Launch(cudaStream_t stream, const SpmmArgs<T>& args, bool tf32) {
  // The panel and stream kernels cover the 16-bit and float32 types (their
  // accumulators are float); float64 always gathers.
  constexpr bool kHasSharedCopy = sizeof(T) <= 4;
  const int vec = args.n % kVec16<T> == 0 ? kVec16<T> : 1;
  SpmmDevice device{};
  JSDL_RETURN_IF_ERROR(MultiprocessorCount(device.num_sms));
  JSDL_RETURN_IF_ERROR(SharedMemoryPerBlockOptin(device.smem_per_block));
  JSDL_RETURN_IF_ERROR(SharedMemoryPerMultiprocessor(device.smem_per_sm));
  bool wgmma = false;
  JSDL_RETURN_IF_ERROR(SpmmWgmmaUsable(args, !tf32, wgmma));
  const bool k_parts = wgmma && SpmmWgmmaKPartsRoom(args, !tf32);
  const SpmmChoice choice = ChooseSpmm(args.m, args.k, args.n, args.batch, args.nnz, vec,
                                       static_cast<int>(sizeof(T)), kHasSharedCopy, device, wgmma,
                                       tf32, k_parts);
  const int parts = choice.k_parts;
  if constexpr (std::is_same_v<T, float>) {
    if (choice.kind == SpmmKernelKind::kWgmma)  // only where SpmmWgmmaUsable
      return tf32 ? LaunchWgmma<T, false>(stream, args, device.num_sms, parts)
                  : LaunchWgmma<T, true>(stream, args, device.num_sms, parts);
  } else if constexpr (sizeof(T) == 2) {
    if (choice.kind == SpmmKernelKind::kWgmma)
      return LaunchWgmma<T, false>(stream, args, device.num_sms, parts);
  }
  if constexpr (kHasSharedCopy) {
    if (choice.kind == SpmmKernelKind::kStream) {
      if (choice.pass_rows > 0)
        return LaunchStream<T, SpmmStreamPassesConfig>(stream, args, device,
                                                       choice.rows_per_block, choice.pass_rows);
      if (choice.stream_lanes == 4)
        return LaunchStream<T, SpmmStreamNarrowConfig>(stream, args, device,
                                                       choice.rows_per_block, 0);
      if (choice.stream_vecs == 2 && choice.group_rows)
        return LaunchStream<T, SpmmStreamRowsConfig>(stream, args, device,
                                                     choice.rows_per_block, 0);
      if (choice.stream_vecs == 2)
        return LaunchStream<T, SpmmStreamWideConfig>(stream, args, device,
                                                     choice.rows_per_block, 0);
      return LaunchStream<T, SpmmStreamConfig>(stream, args, device, choice.rows_per_block, 0);
    }
    if (choice.kind == SpmmKernelKind::kPanel)
      return LaunchPanelFor<T>(stream, args, choice.tile_cols, choice.rows_per_warp);
  }
  return LaunchGatherFor<T>(stream, args, choice);
}

ffi::Error SpmmImpl(cudaStream_t stream, ffi::AnyBuffer values,
                    ffi::AnyBuffer dense, ffi::AnyBuffer bias,
                    ffi::AnyBuffer row_offsets, ffi::AnyBuffer column_indices,
                    ffi::AnyBuffer row_indices, ffi::AnyBuffer tile_offsets,
                    ffi::AnyBuffer tile_entries, ffi::AnyBuffer entry_rows,
                    ffi::Result<ffi::AnyBuffer> out,
                    ffi::Result<ffi::AnyBuffer> workspace, bool has_bias, bool relu, bool tf32) {
  SpmmOperands call;
  JSDL_RETURN_IF_ERROR(call.Check(values, dense, bias, row_offsets, column_indices, row_indices,
                                  tile_offsets, tile_entries, entry_rows, *out, has_bias));
  const int64_t m = call.m, n = call.n, batch = call.batch;
  if (batch == 0 || m == 0 || n == 0) return ffi::Error::Success();

  return DispatchFloat(out->element_type(), kOp, [&](auto tag) -> ffi::Error {
    using T = typename decltype(tag)::type;
    SpmmArgs<T> args{};
    args.values = reinterpret_cast<const T*>(values.untyped_data());
    args.dense = reinterpret_cast<const T*>(dense.untyped_data());
    args.bias = reinterpret_cast<const T*>(bias.untyped_data());
    args.row_offsets = reinterpret_cast<const int32_t*>(row_offsets.untyped_data());
    args.column_indices =
        reinterpret_cast<const int32_t*>(column_indices.untyped_data());
    args.row_indices = reinterpret_cast<const int32_t*>(row_indices.untyped_data());
    args.tile_offsets =
        call.indexed ? reinterpret_cast<const int32_t*>(tile_offsets.untyped_data()) : nullptr;
    args.tile_entries =
        call.indexed ? reinterpret_cast<const int32_t*>(tile_entries.untyped_data()) : nullptr;
    args.out = reinterpret_cast<T*>(out->untyped_data());
    args.workspace = workspace->untyped_data();
    args.workspace_bytes = static_cast<int64_t>(workspace->size_bytes());
    args.m = m;
    args.k = call.k;
    args.n = n;
    args.dense_rows = static_cast<int64_t>(dense.element_count()) / n;
    args.nnz = call.nnz;
    args.batch = batch;
    args.values_batch = call.values_batch;
    args.has_bias = has_bias;
    args.relu = relu;
    args.batch_map = call.batch_map;
    return Launch<T>(stream, args, tf32);
  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlSpmmFfi, jsdl::SpmmImpl,
                              jsdl::SpmmBinding<xla::ffi::PlatformStream<cudaStream_t>>()
                                  .Ret<xla::ffi::AnyBuffer>()  // workspace (wgmma tile)
                                  .Attr<bool>("has_bias")
                                  .Attr<bool>("relu")
                                  .Attr<bool>("tf32"),
                              {xla::ffi::Traits::kCmdBufferCompatible});
