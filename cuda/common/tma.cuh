// Hopper's tensor memory accelerator (TMA, sm_90): 2-D tiles copied from global to shared
// memory by one thread, their arrival counted on a shared-memory barrier (mbarrier). Used by
// scripts/wgmma_tile_probe.cu ahead of any kernel.
#pragma once

#include <cuda.h>

#include <cstdint>

namespace jsdl {

__device__ __forceinline__ uint32_t SharedAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// A barrier that completes once `count` threads arrived and the expected bytes landed.
__device__ __forceinline__ void BarrierInit(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(SharedAddress(bar)), "r"(count)
               : "memory");
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

// Arrives on the barrier and tells it `bytes` more will land (by TMA) in this phase.
__device__ __forceinline__ void BarrierExpectBytes(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(
                   SharedAddress(bar)),
               "r"(bytes)
               : "memory");
}

// Waits until the barrier's phase `parity` completed.
__device__ __forceinline__ void BarrierWait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n .reg .pred done;\n wait:\n"
      " mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      " @!done bra wait;\n}\n" ::"r"(SharedAddress(bar)),
      "r"(parity)
      : "memory");
}

// Copies the box at (inner, outer) of a 2-D tensor map into shared memory, counted on `bar`.
__device__ __forceinline__ void TmaLoad2d(void* smem, const CUtensorMap* map, int inner, int outer,
                                          uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(SharedAddress(smem)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(inner), "r"(outer), "r"(SharedAddress(bar))
      : "memory");
}

}  // namespace jsdl
