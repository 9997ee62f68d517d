// Kernel launches with a launch attribute (cudaLaunchKernelEx): a thread-block cluster (SDDMM's
// tiles with d split over two blocks) or programmatic dependent launch (the SpMM wgmma tile after
// its densify kernel, grid_dependency.cuh). A failed launch comes back as an ffi::Error.
#pragma once

#include <cuda_runtime_api.h>

#include <utility>

#include "cuda_check.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {

// Clusters of `blocks` blocks consecutive on grid.y.
inline cudaLaunchAttribute ClusterOnY(unsigned blocks) {
  cudaLaunchAttribute cluster = {};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = 1;
  cluster.val.clusterDim.y = blocks;
  cluster.val.clusterDim.z = 1;
  return cluster;
}

// The kernel may start while the kernel before it on the stream still runs; it waits for that
// kernel's results with GridDependencyWait.
inline cudaLaunchAttribute ProgrammaticDependentLaunch() {
  cudaLaunchAttribute dependent = {};
  dependent.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  dependent.val.programmaticStreamSerializationAllowed = 1;
  return dependent;
}

// `kernel` on `grid` blocks of `threads` with `smem` bytes of dynamic shared memory and the
// launch attribute `attribute` (none where null).
template <typename... Params, typename... Args>
xla::ffi::Error LaunchWithAttribute(void (*kernel)(Params...), cudaStream_t stream, dim3 grid,
                                    int threads, size_t smem, cudaLaunchAttribute* attribute,
                                    Args&&... kernel_args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = dim3(threads);
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = attribute;
  config.numAttrs = attribute != nullptr ? 1 : 0;
  JSDL_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(kernel_args)...));
  return xla::ffi::Error::Success();
}

}  // namespace jsdl
