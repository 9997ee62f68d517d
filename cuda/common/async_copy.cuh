// cp.async (sm_80+): 16-byte global -> shared copies that bypass registers and
// L1; a false predicate writes zeros without reading global memory.
#pragma once

namespace jsdl {

__device__ __forceinline__ void CopyAsync16(void* smem, const void* gmem, bool pred) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int src_bytes = pred ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(gmem), "r"(src_bytes)
               : "memory");
}

// Closes this thread's copies issued since the last commit into one group.
__device__ __forceinline__ void CopyAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most kPending of this thread's committed groups are in flight
// (a barrier must follow before other threads read the copies).
template <int kPending>
__device__ __forceinline__ void CopyAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Waits for all of this thread's outstanding copies.
__device__ __forceinline__ void CopyAsyncWaitAll() {
  CopyAsyncCommit();
  CopyAsyncWait<0>();
}

}  // namespace jsdl
