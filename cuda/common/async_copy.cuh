// cp.async (sm_80+): 16-byte global -> shared copies that bypass registers and
// L1; a false predicate writes zeros without reading global memory.
#pragma once

#include <cstdint>

namespace jsdl {

__device__ __forceinline__ void CopyAsync16(void* smem, const void* gmem, bool pred) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int src_bytes = pred ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(gmem), "r"(src_bytes)
               : "memory");
}

// Waits for all of this thread's outstanding copies (a barrier must follow
// before other threads read them).
__device__ __forceinline__ void CopyAsyncWaitAll() {
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
}

// Closes this thread's copies since the last commit into a group.
__device__ __forceinline__ void CopyAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits for this thread's groups but the newest (a prefetch may stay in flight).
__device__ __forceinline__ void CopyAsyncWaitAllButNewest() {
  asm volatile("cp.async.wait_group 1;\n" ::: "memory");
}

}  // namespace jsdl
