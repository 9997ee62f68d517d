// XLA FFI handler for jsdl_sddmm (see docs/architecture.md, "FFI targets").
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../common/batch_map.cuh"
#include "../common/cuda_check.h"
#include "../common/device_info.h"
#include "../common/dtype.cuh"
#include "../common/ffi_checks.h"
#include "../common/launch.h"
#include "../common/warp.cuh"
#include "../handlers.h"
#include "sddmm_config.h"
#include "sddmm_flat_kernel.cuh"
#include "sddmm_kernel.cuh"
#include "sddmm_mma_kernel.cuh"
#include "sddmm_operands.h"
#include "sddmm_tile_kernel.cuh"
#include "sddmm_wgmma_kernel.cuh"
#include "xla/ffi/api/ffi.h"

namespace jsdl {
namespace {

constexpr const char* kOp = "jsdl_sddmm";

template <typename T, typename Config>
ffi::Error LaunchSddmm(cudaStream_t stream, const SddmmArgs<T>& args) {
  const dim3 block(32, Config::kWarpsPerBlock);
  const dim3 grid(static_cast<unsigned>((args.m + Config::kWarpsPerBlock - 1) /
                                        Config::kWarpsPerBlock),
                  1, CappedGridDim(args.batch));
  SddmmKernel<T, Config><<<grid, block, 0, stream>>>(args);
  JSDL_CHECK_LAUNCH("SddmmKernel");
  return ffi::Error::Success();
}

template <typename T, typename Config>
ffi::Error LaunchSddmmFlat(cudaStream_t stream, const SddmmArgs<T>& args) {
  const dim3 block(32, Config::kWarpsPerBlock);
  const int64_t tiles = (args.nnz + Config::kEntries - 1) / Config::kEntries;
  const dim3 grid(static_cast<unsigned>((tiles + Config::kTilesPerBlock - 1) /
                                        Config::kTilesPerBlock),
                  1, CappedGridDim(args.batch));
  SddmmFlatKernel<T, Config><<<grid, block, 0, stream>>>(args);
  JSDL_CHECK_LAUNCH("SddmmFlatKernel");
  return ffi::Error::Success();
}

// The row kernel: 16-byte vectors when rows of d elements stay aligned, else
// one element; the group shape from d unless the choice names one.
template <typename T>
ffi::Error LaunchRow(cudaStream_t stream, const SddmmArgs<T>& args, SddmmShape shape) {
  constexpr int kVec = kVec16<T>;
  if (args.d % kVec == 0) {
    if (shape.lanes == 0) shape = ChooseSddmmShape(args.d, kVec);
    switch (shape.lanes * 8 + shape.vecs_per_lane) {
      case 4 * 8 + 1: return LaunchSddmm<T, SddmmConfig<kVec, 4, 1>>(stream, args);
      case 4 * 8 + 4: return LaunchSddmm<T, SddmmConfig<kVec, 4, 4>>(stream, args);
      case 8 * 8 + 1: return LaunchSddmm<T, SddmmConfig<kVec, 8, 1>>(stream, args);
      case 8 * 8 + 2: return LaunchSddmm<T, SddmmConfig<kVec, 8, 2>>(stream, args);
      case 16 * 8 + 1: return LaunchSddmm<T, SddmmConfig<kVec, 16, 1>>(stream, args);
      case 32 * 8 + 1: return LaunchSddmm<T, SddmmConfig<kVec, 32, 1>>(stream, args);
      case 32 * 8 + 2: return LaunchSddmm<T, SddmmConfig<kVec, 32, 2>>(stream, args);
      default: return LaunchSddmm<T, SddmmConfig<kVec, 32, 4>>(stream, args);
    }
  }
  shape = ChooseSddmmShape(args.d, 1);
  if (shape.lanes < 32) return LaunchSddmm<T, SddmmConfig<1, 8, 1>>(stream, args);
  if (shape.vecs_per_lane == 1) return LaunchSddmm<T, SddmmConfig<1, 32, 1>>(stream, args);
  return LaunchSddmm<T, SddmmConfig<1, 32, 4>>(stream, args);
}

// The flat kernel of `lanes` lanes an entry (4 and 8 only for splits up to 8): 16-byte
// vectors when rows of d elements stay aligned.
template <typename T, int kSplit, int kVec>
ffi::Error LaunchFlatOfVec(cudaStream_t stream, const SddmmArgs<T>& args, int lanes) {
  if constexpr (kSplit <= 8) {
    if (lanes == 4) return LaunchSddmmFlat<T, SddmmFlatConfig<kVec, kSplit, 4>>(stream, args);
    if (lanes == 8) return LaunchSddmmFlat<T, SddmmFlatConfig<kVec, kSplit, 8>>(stream, args);
  }
  return LaunchSddmmFlat<T, SddmmFlatConfig<kVec, kSplit, 1>>(stream, args);
}

template <typename T, int kSplit>
ffi::Error LaunchFlat(cudaStream_t stream, const SddmmArgs<T>& args, int lanes) {
  constexpr int kVec = kVec16<T>;
  if (args.d % kVec == 0) return LaunchFlatOfVec<T, kSplit, kVec>(stream, args, lanes);
  return LaunchFlatOfVec<T, kSplit, 1>(stream, args, lanes);
}

// A flat-kernel choice: d split over 1, 4, 8 or 16 warps, `lanes` lanes an entry.
template <typename T>
ffi::Error LaunchFlatChoice(cudaStream_t stream, const SddmmArgs<T>& args,
                            const SddmmChoice& choice) {
  switch (choice.d_split) {
    case 4: return LaunchFlat<T, 4>(stream, args, choice.lanes);
    case 8: return LaunchFlat<T, 8>(stream, args, choice.lanes);
    case 16: return LaunchFlat<T, 16>(stream, args, choice.lanes);
    default: return LaunchFlat<T, 1>(stream, args, choice.lanes);
  }
}

// The tile kernels' grid: row tiles on grid.x, column tiles times the blocks a
// tile (parts of d times the output's shares, TileBlock) on grid.y (at most
// 65535 of them, k <= 4M for one block a tile; false beyond that, and the flat
// kernel of the heuristic's shape runs instead).
template <typename Config, typename T>
bool TileGrid(const SddmmArgs<T>& args, int64_t k, int blocks_per_tile, dim3& grid) {
  const int64_t row_tiles = (args.m + Config::kBM - 1) / Config::kBM;
  const int64_t col_tiles = (k + Config::kBN - 1) / Config::kBN * blocks_per_tile;
  grid = dim3(static_cast<unsigned>(row_tiles), static_cast<unsigned>(col_tiles),
              CappedGridDim(args.batch));
  return col_tiles <= 65535;
}

// A tile kernel's launch with `smem` bytes of dynamic shared memory: with d split (kParts > 1),
// the parts of a tile (consecutive on grid.y) form one thread-block cluster (AddPartnerSums).
template <int kParts, typename... Params, typename... Args>
ffi::Error LaunchTileGrid(void (*kernel)(Params...), cudaStream_t stream, dim3 grid, int threads,
                          size_t smem, Args&&... kernel_args) {
  cudaLaunchAttribute cluster = ClusterOnY(kParts);
  return LaunchWithAttribute(kernel, stream, grid, threads, smem, kParts > 1 ? &cluster : nullptr,
                             std::forward<Args>(kernel_args)...);
}

// A tile kernel's grid and launch: `launch(kParts, grid, shares)` launches the
// instance of kParts (a std::integral_constant) parts of d a tile; parts > 1
// (2) only for one-pass tiles, whose parts meet in one tile_out. The choice
// has one share wherever it splits d (ChooseSddmm), so a cluster's blocks
// stay consecutive on grid.y.
template <typename T, typename Config, typename Launch>
ffi::Error LaunchTiles(cudaStream_t stream, const SddmmArgs<T>& args, int64_t k,
                       const SddmmChoice& choice, Launch launch) {
  constexpr bool kSplittable = Config::kPassRows == Config::kBM;
  const int parts = kSplittable ? choice.d_split : 1;
  const int shares = choice.shares;
  dim3 grid;
  if (!TileGrid<Config>(args, k, parts * shares, grid)) {
    int num_sms = 0;
    JSDL_RETURN_IF_ERROR(MultiprocessorCount(num_sms));
    return LaunchFlatChoice(stream, args, ChooseSddmmFlat(args.nnz, args.d, args.batch, num_sms));
  }
  if constexpr (kSplittable) {
    if (parts == 2) return launch(std::integral_constant<int, 2>{}, grid, shares);
  }
  return launch(std::integral_constant<int, 1>{}, grid, shares);
}

template <typename T, typename Config>
ffi::Error LaunchTile(cudaStream_t stream, const SddmmArgs<T>& args, int64_t k,
                      const SddmmChoice& choice) {
  return LaunchTiles<T, Config>(stream, args, k, choice, [&](auto kParts, dim3 grid, int shares) {
    JSDL_RETURN_IF_ERROR(LaunchTileGrid<kParts()>(SddmmTileKernel<T, Config, kParts()>, stream,
                                                  grid, Config::kThreads, 0, args, k,
                                                  kParts(), shares));
    JSDL_CHECK_LAUNCH("SddmmTileKernel");
    return ffi::Error::Success();
  });
}

// The tensor-core tile kernel: 16-byte loads when rows of d elements stay
// aligned; kSplit: 3xTF32 (float32 at HIGHEST).
template <typename T, typename Config, bool kSplit = false>
ffi::Error LaunchMma(cudaStream_t stream, const SddmmArgs<T>& args, int64_t k,
                     const SddmmChoice& choice) {
  return LaunchTiles<T, Config>(stream, args, k, choice, [&](auto kParts, dim3 grid, int shares) {
    constexpr int kVec = kVec16<T>;
    JSDL_RETURN_IF_ERROR(
        args.d % kVec == 0
            ? LaunchTileGrid<kParts()>(SddmmMmaKernel<T, Config, kVec, kParts(), kSplit>, stream,
                                       grid, Config::kThreads, 0, args, k, kParts(), shares)
            : LaunchTileGrid<kParts()>(SddmmMmaKernel<T, Config, 1, kParts(), kSplit>, stream,
                                       grid, Config::kThreads, 0, args, k, kParts(), shares));
    JSDL_CHECK_LAUNCH("SddmmMmaKernel");
    return ffi::Error::Success();
  });
}

// Whether the wgmma tile kernel can run this call: a build with sm_90a (JSDL_SM90A, CMakeLists.txt)
// on a 9.0 device (sm_90a code runs there only), rows of d a multiple of 16 bytes from 16-byte
// aligned buffers (TMA's rule), and every tile row's tensor-map index below 2^31.
template <typename T>
ffi::Error WgmmaUsable(const SddmmArgs<T>& args, bool& usable) {
  JSDL_RETURN_IF_ERROR(Sm90aDevice(usable));
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  constexpr int64_t kRowLimit = (int64_t{1} << 31) - 128;
  usable = usable && args.d > 0 && args.d * sizeof(T) % 16 == 0 && aligned(args.lhs) &&
           aligned(args.rhs) && args.lhs_rows < kRowLimit && args.rhs_rows < kRowLimit;
  return ffi::Error::Success();
}

// The wgmma tile kernel (sm_90a): a tensor map of each operand's whole buffer, 4 stages; d split
// over a cluster of two blocks a tile where the choice says (LaunchTiles' rule).
template <typename T, bool kSplit>
ffi::Error LaunchWgmma(cudaStream_t stream, const SddmmArgs<T>& args, int64_t k,
                       const SddmmChoice& choice) {
  using Config = SddmmWgmmaConfig<128 / sizeof(T), 4>;
  constexpr CUtensorMapDataType kType = TensorMapDataType<T>();
  CUtensorMap lhs_map, rhs_map;
  for (auto [map, base, rows] : {std::tuple{&lhs_map, args.lhs, args.lhs_rows},
                                 std::tuple{&rhs_map, args.rhs, args.rhs_rows}})
    JSDL_CU_CHECK(std::string(kOp) + ": cuTensorMapEncodeTiled",
                  EncodeSwizzledRowMap(map, kType, base, rows, args.d, sizeof(T), 64));
  constexpr size_t kSmem = kSddmmWgmmaSmemBytes<Config>;
  return LaunchTiles<T, Config>(stream, args, k, choice, [&](auto kParts, dim3 grid, int shares) {
    constexpr auto kKernel = SddmmWgmmaKernel<T, Config, kParts(), kSplit>;
    JSDL_RETURN_IF_ERROR(OptInSharedMemory<kKernel>(kSmem));
    JSDL_RETURN_IF_ERROR(LaunchTileGrid<kParts()>(kKernel, stream, grid, Config::kThreads, kSmem,
                                                  args, k, shares, lhs_map, rhs_map));
    JSDL_CHECK_LAUNCH("SddmmWgmmaKernel");
    return ffi::Error::Success();
  });
}

// tf32: the caller's precision allows TF32 products for float32 (DEFAULT,
// HIGH; HIGHEST takes three a product, 3xTF32); bfloat16 and float16 take
// one at any precision (exact); float64 none.
template <typename T>
ffi::Error Launch(cudaStream_t stream, const SddmmArgs<T>& args, int64_t k, bool tf32) {
  int num_sms = 0;
  JSDL_RETURN_IF_ERROR(MultiprocessorCount(num_sms));
  constexpr bool kFloat = std::is_same_v<T, float>;
  const int mma_passes = sizeof(T) == 2 ? 1 : kFloat ? (tf32 ? 1 : 3) : 0;
  bool clusters = false;  // d splits over a cluster of blocks a tile (AddPartnerSums)
  JSDL_RETURN_IF_ERROR(ClusterLaunchSupported(clusters));
  bool wgmma = false;
  JSDL_RETURN_IF_ERROR(WgmmaUsable(args, wgmma));
  const SddmmChoice choice = ChooseSddmm(args.m, k, args.nnz, args.d, args.batch, num_sms,
                                         mma_passes, clusters, wgmma, sizeof(T));
  if (choice.kind == SddmmKernelKind::kRow) return LaunchRow<T>(stream, args, choice.row);
  if constexpr (sizeof(T) <= 4) {  // float accumulators in shared memory: no float64
    if (choice.kind == SddmmKernelKind::kWgmma) {  // only where mma_passes > 0
      if constexpr (kFloat) {
        if (mma_passes == 3) return LaunchWgmma<T, true>(stream, args, k, choice);
      }
      return LaunchWgmma<T, false>(stream, args, k, choice);
    }
    if (choice.kind == SddmmKernelKind::kMma) {  // only where mma_passes > 0
      using Mma128 = SddmmMmaConfig<128, 128, 16, 2, 4, 1>;
      if constexpr (kFloat) {
        if (mma_passes == 3) {  // 3xTF32: 2 blocks an SM, for registers enough not to spill
          if (choice.tile_edge == 128) return LaunchMma<T, Mma128, true>(stream, args, k, choice);
          // 8 warps of 32 x 16 (session 23): 120 registers (ptxas), so 16 warps an SM against
          // 8 of 32 x 32 at 220+; faster only split at d = 256 (ChooseSddmm, session 24).
          if (choice.warps == 8)
            return LaunchMma<T, SddmmMmaConfig<64, 64, 32, 2, 4, 2>, true>(stream, args, k, choice);
          return LaunchMma<T, SddmmMmaConfig<64, 64, 32, 2, 2, 2>, true>(stream, args, k, choice);
        }
      }
      if (choice.tile_edge == 128) return LaunchMma<T, Mma128>(stream, args, k, choice);
      // Two k-groups of 4 warps (session 20, tune-sddmm at b4f862d, against c4b8276's one
      // group): 1.1-1.25x at d = 256 from 50% to 70%, even at d = 2048 on 256 tiles,
      // 0.88-0.97x at d = 256 from 80%. 3xTF32 keeps one group: its 215+ registers a thread
      // would leave one 8-warp block an SM.
      if (choice.warp_groups == 1)
        return LaunchMma<T, SddmmMmaConfig<64, 64, 32, 2, 2, 4>>(stream, args, k, choice);
      return LaunchMma<T, SddmmMmaConfig<64, 64, 32, 2, 2, 2, 2>>(stream, args, k, choice);
    }
    if (choice.kind == SddmmKernelKind::kTile) {
      if (choice.tile_edge == 32)
        return LaunchTile<T, SddmmTileConfig<32, 32, 16, 4, 4, 8>>(stream, args, k, choice);
      if (choice.tile_edge == 128)
        return LaunchTile<T, SddmmTileConfig<128, 128, 8, 8, 8, 1>>(stream, args, k, choice);
      return LaunchTile<T, SddmmTileConfig<64, 64, 16, 4, 4, 1>>(stream, args, k, choice);
    }
  }
  return LaunchFlatChoice(stream, args, choice);
}

ffi::Error SddmmImpl(cudaStream_t stream, ffi::AnyBuffer lhs, ffi::AnyBuffer rhs,
                     ffi::AnyBuffer row_offsets, ffi::AnyBuffer column_indices,
                     ffi::AnyBuffer row_indices, ffi::AnyBuffer tile_offsets,
                     ffi::AnyBuffer tile_entries, ffi::AnyBuffer entry_rows,
                     ffi::Result<ffi::AnyBuffer> out, bool tf32) {
  SddmmOperands call;
  JSDL_RETURN_IF_ERROR(call.Check(lhs, rhs, row_offsets, column_indices, row_indices,
                                  tile_offsets, tile_entries, entry_rows, *out));
  const int64_t d = call.d;
  if (call.batch == 0 || call.nnz == 0) return ffi::Error::Success();  // nothing to write

  return DispatchFloat(out->element_type(), kOp, [&](auto tag) -> ffi::Error {
    using T = typename decltype(tag)::type;
    SddmmArgs<T> args{};
    args.lhs = reinterpret_cast<const T*>(lhs.untyped_data());
    args.rhs = reinterpret_cast<const T*>(rhs.untyped_data());
    args.row_offsets = reinterpret_cast<const int32_t*>(row_offsets.untyped_data());
    args.column_indices =
        reinterpret_cast<const int32_t*>(column_indices.untyped_data());
    args.row_indices = reinterpret_cast<const int32_t*>(row_indices.untyped_data());
    args.tile_offsets =
        call.indexed ? reinterpret_cast<const int32_t*>(tile_offsets.untyped_data()) : nullptr;
    args.tile_entries =
        call.indexed ? reinterpret_cast<const int32_t*>(tile_entries.untyped_data()) : nullptr;
    args.entry_rows = reinterpret_cast<const int32_t*>(entry_rows.untyped_data());
    args.out = reinterpret_cast<T*>(out->untyped_data());
    args.m = call.m;
    args.d = d;
    args.nnz = call.nnz;
    args.batch = call.batch;
    args.batch_map = call.batch_map;
    args.lhs_rows = d > 0 ? static_cast<int64_t>(lhs.element_count()) / d : 0;
    args.rhs_rows = d > 0 ? static_cast<int64_t>(rhs.element_count()) / d : 0;
    return Launch<T>(stream, args, call.k, tf32);
  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlSddmmFfi, jsdl::SddmmImpl,
                              jsdl::SddmmBinding<xla::ffi::PlatformStream<cudaStream_t>>().Attr<bool>("tf32"),
                              {xla::ffi::Traits::kCmdBufferCompatible});
