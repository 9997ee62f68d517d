// Programmatic dependent launch (sm_90): a kernel launched with the programmatic stream
// serialization attribute starts while the kernel before it on the stream still runs, so its
// launch and prologue overlap that kernel; it waits for the earlier kernel's results with
// GridDependencyWait. The earlier kernel lets it start with LaunchDependents. Both are no-ops
// where a kernel was launched without the attribute, and before sm_90.
#pragma once

namespace jsdl {

// Blocks the calling thread until the kernels this one depends on completed and their writes
// are visible.
__device__ __forceinline__ void GridDependencyWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Allows the dependent kernel to launch once every block of this one has called it (or exited).
__device__ __forceinline__ void LaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

}  // namespace jsdl
