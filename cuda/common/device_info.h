// Device properties read once per device (no synchronisation, safe inside
// CUDA graph capture).
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>

#include "cuda_check.h"

namespace jsdl {

inline xla::ffi::Error MultiprocessorCount(int& count) {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> cache[kMaxDevices];  // 0: not read yet
  int device = 0;
  JSDL_CUDA_CHECK(cudaGetDevice(&device));
  if (device >= 0 && device < kMaxDevices) {
    count = cache[device].load(std::memory_order_relaxed);
    if (count > 0) return xla::ffi::Error::Success();
  }
  JSDL_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  if (device >= 0 && device < kMaxDevices)
    cache[device].store(count, std::memory_order_relaxed);
  return xla::ffi::Error::Success();
}

}  // namespace jsdl
