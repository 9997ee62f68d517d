// Hopper's tensor memory accelerator (TMA, sm_90): 2-D tiles copied from global to shared
// memory by one thread, their arrival counted on a shared-memory barrier (mbarrier); on the
// host, the tensor maps that describe them. Used by the wgmma tiles of SDDMM
// (cuda/sddmm/sddmm_wgmma_kernel.cuh) and SpMM (cuda/spmm/spmm_wgmma_kernel.cuh: dense rows by
// TMA, densified tiles by bulk copy) and by scripts/wgmma_tile_probe.cu.
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <type_traits>

namespace jsdl {

__device__ __forceinline__ uint32_t SharedAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// The stages of a TMA ring in dynamic shared memory, 1024-aligned: the 128-byte swizzle's
// pattern follows address bits 7-9 (the launch asks for 1024 bytes more than the stages). The
// pointer is smem_raw moved forward, not an integer cast back: the compiler then still knows it
// points into shared memory and reads and writes through it with LDS / STS, where from a
// cast-back integer it used generic loads and stores (session 56).
template <typename Stage>
__device__ __forceinline__ Stage* AlignedStages(unsigned char* smem_raw) {
  const uint32_t misaligned = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(smem_raw)) % 1024;
  return reinterpret_cast<Stage*>(smem_raw + (1024 - misaligned) % 1024);
}

// A pointer the compiler can no longer tell points into shared memory: its reads and writes are
// generic (LD / ST), which some loops schedule better than LDS / STS (measured per kernel).
template <typename P>
__device__ __forceinline__ P* HideSharedSpace(P* p) {
  uintptr_t address = reinterpret_cast<uintptr_t>(p);
  asm("" : "+l"(address));
  return reinterpret_cast<P*>(address);
}

// A barrier that completes once `count` threads arrived and the expected bytes landed.
__device__ __forceinline__ void BarrierInit(uint64_t* bar, uint32_t count) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(SharedAddress(bar)), "r"(count)
               : "memory");
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#else
  __trap();  // sm_90's; the host runs TMA kernels on 9.0 devices only
#endif
}

// Arrives on the barrier and tells it `bytes` more will land (by TMA) in this phase.
__device__ __forceinline__ void BarrierExpectBytes(uint64_t* bar, uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(
                   SharedAddress(bar)),
               "r"(bytes)
               : "memory");
#else
  __trap();  // sm_90's; the host runs TMA kernels on 9.0 devices only
#endif
}

// Arrives on the barrier (release: this thread's earlier shared-memory writes are visible to
// the threads its completion lets go).
__device__ __forceinline__ void BarrierArrive(uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(SharedAddress(bar)) : "memory");
#else
  __trap();  // sm_90's; the host runs TMA kernels on 9.0 devices only
#endif
}

// Waits until the barrier's phase `parity` completed.
__device__ __forceinline__ void BarrierWait(uint64_t* bar, uint32_t parity) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "{\n .reg .pred done;\n wait:\n"
      " mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      " @!done bra wait;\n}\n" ::"r"(SharedAddress(bar)),
      "r"(parity)
      : "memory");
#else
  __trap();  // sm_90's; the host runs TMA kernels on 9.0 devices only
#endif
}

// Copies the box at (inner, outer) of a 2-D tensor map into shared memory, counted on `bar`.
__device__ __forceinline__ void TmaLoad2d(void* smem, const CUtensorMap* map, int inner, int outer,
                                          uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(SharedAddress(smem)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(inner), "r"(outer), "r"(SharedAddress(bar))
      : "memory");
#else
  __trap();  // sm_90's; the host runs TMA kernels on 9.0 devices only
#endif
}

// Copies `bytes` contiguous bytes (a multiple of 16, both ends 16-byte aligned) from global to
// shared memory, counted on `bar` (expect them first: BarrierExpectBytes).
__device__ __forceinline__ void BulkLoad(void* smem, const void* gmem, uint32_t bytes,
                                         uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
      ::"r"(SharedAddress(smem)), "l"(gmem), "r"(bytes), "r"(SharedAddress(bar))
      : "memory");
#else
  __trap();  // sm_90's; the host runs TMA kernels on 9.0 devices only
#endif
}

// The tensor-map element type of float, __nv_bfloat16 or __half.
template <typename T>
constexpr CUtensorMapDataType TensorMapDataType() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, __nv_bfloat16> ||
                std::is_same_v<T, __half>);
  return std::is_same_v<T, float>           ? CU_TENSOR_MAP_DATA_TYPE_FLOAT32
         : std::is_same_v<T, __nv_bfloat16> ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                            : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
}

// A 2-D tensor map of `rows` rows of `row_elements` values (`element_bytes` each, rows
// contiguous) at `base`, boxes of `box_rows` rows x 128 bytes, 128-byte swizzled (the layout
// Swizzled128Word in wgmma.cuh reads); the copy engine fills zeros past the edges. The driver's
// encoder is found once through the runtime (no link against libcuda). Needs base 16-byte
// aligned and rows of a multiple of 16 bytes. Host only, no stream work: safe in graph capture.
inline CUresult EncodeSwizzledRowMap(CUtensorMap* map, CUtensorMapDataType type,
                                     const void* base, uint64_t rows, uint64_t row_elements,
                                     uint32_t element_bytes, uint32_t box_rows) {
  static const PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault,
                                         &found) != cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      fn = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  if (encode == nullptr) return CUDA_ERROR_NOT_FOUND;
  const cuuint64_t dims[2] = {row_elements, rows};
  const cuuint64_t strides[1] = {row_elements * element_bytes};
  const cuuint32_t box[2] = {128 / element_bytes, box_rows}, unit[2] = {1, 1};
  return encode(map, type, 2, const_cast<void*>(base), dims, strides, box, unit,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

}  // namespace jsdl
