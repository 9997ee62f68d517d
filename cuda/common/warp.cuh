// Warp-level helpers shared by the kernels.
#pragma once

#include <cstdint>

namespace jsdl {

inline constexpr unsigned kFullMask = 0xffffffffu;
inline constexpr int kWarpSize = 32;

// Sum over aligned groups of kWidth lanes (kWidth a power of two <= 32); every
// lane of the group gets the result. All 32 lanes must call it.
template <int kWidth, typename T>
__device__ __forceinline__ T GroupSum(T v) {
#pragma unroll
  for (int mask = kWidth / 2; mask > 0; mask >>= 1)
    v += __shfl_xor_sync(kFullMask, v, mask);
  return v;
}

template <typename T>
__device__ __forceinline__ T WarpSum(T v) {
  return GroupSum<kWarpSize>(v);
}

template <typename T>
__device__ __forceinline__ T WarpMax(T v) {
#pragma unroll
  for (int mask = kWarpSize / 2; mask > 0; mask >>= 1)
    v = max(v, __shfl_xor_sync(kFullMask, v, mask));
  return v;
}

// Named barrier `id` (1-15; 0 is __syncthreads') for `threads` threads, whole warps of them.
__device__ __forceinline__ void NamedBarrierSync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// grid.y and grid.z are limited to 65535: kernels loop over column tiles and
// batch items with a stride of gridDim.y / gridDim.z.
__host__ __device__ __forceinline__ unsigned CappedGridDim(int64_t n) {
  return static_cast<unsigned>(n < 65535 ? (n < 1 ? 1 : n) : 65535);
}

}  // namespace jsdl
