// Device properties read once per device (no synchronisation, safe inside
// CUDA graph capture).
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>

#include "cuda_check.h"

namespace jsdl {

// A device attribute of the current device, read once per (device, attribute).
template <cudaDeviceAttr kAttr>
inline xla::ffi::Error CachedDeviceAttribute(int& value) {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> cache[kMaxDevices];  // value + 1 (attributes may be 0); 0: not read yet
  int device = 0;
  JSDL_CUDA_CHECK(cudaGetDevice(&device));
  if (device >= 0 && device < kMaxDevices) {
    const int cached = cache[device].load(std::memory_order_relaxed);
    if (cached > 0) {
      value = cached - 1;
      return xla::ffi::Error::Success();
    }
  }
  JSDL_CUDA_CHECK(cudaDeviceGetAttribute(&value, kAttr, device));
  if (device >= 0 && device < kMaxDevices)
    cache[device].store(value + 1, std::memory_order_relaxed);
  return xla::ffi::Error::Success();
}

inline xla::ffi::Error MultiprocessorCount(int& count) {
  return CachedDeviceAttribute<cudaDevAttrMultiProcessorCount>(count);
}

// Shared memory one block may opt in to (bytes).
inline xla::ffi::Error SharedMemoryPerBlockOptin(int& bytes) {
  return CachedDeviceAttribute<cudaDevAttrMaxSharedMemoryPerBlockOptin>(bytes);
}

// Shared memory of one SM, for all its resident blocks (bytes).
inline xla::ffi::Error SharedMemoryPerMultiprocessor(int& bytes) {
  return CachedDeviceAttribute<cudaDevAttrMaxSharedMemoryPerMultiprocessor>(bytes);
}

// Whether the current device launches thread-block clusters (sm_90 and later).
inline xla::ffi::Error ClusterLaunchSupported(bool& supported) {
  int value = 0;
  JSDL_RETURN_IF_ERROR(CachedDeviceAttribute<cudaDevAttrClusterLaunch>(value));
  supported = value != 0;
  return xla::ffi::Error::Success();
}

// Whether sm_90a code (wgmma) of this build can run on the current device: a build with sm_90a
// (JSDL_SM90A, CMakeLists.txt) on a 9.0 device, where only sm_90a code runs.
inline xla::ffi::Error Sm90aDevice(bool& yes) {
  yes = false;
#if defined(JSDL_SM90A)
  int major = 0, minor = 0;
  JSDL_RETURN_IF_ERROR(CachedDeviceAttribute<cudaDevAttrComputeCapabilityMajor>(major));
  JSDL_RETURN_IF_ERROR(CachedDeviceAttribute<cudaDevAttrComputeCapabilityMinor>(minor));
  yes = major == 9 && minor == 0;
#endif
  return xla::ffi::Error::Success();
}

// Above 48 KB a kernel must opt in (a function attribute, no stream work):
// once per device and kernel, up to the device's limit less the kernel's own
// static shared memory (the attribute bounds the dynamic part only; asking for
// the whole limit fails when the kernel has static arrays too), not per call.
template <auto kKernel>
xla::ffi::Error OptInSharedMemory(size_t smem) {
  if (smem <= 48 * 1024) return xla::ffi::Error::Success();
  constexpr int kMaxDevices = 64;
  static std::atomic<bool> opted_in[kMaxDevices];
  int device = 0;
  JSDL_CUDA_CHECK(cudaGetDevice(&device));
  const bool cached = device >= 0 && device < kMaxDevices;
  if (!cached || !opted_in[device].load(std::memory_order_relaxed)) {
    int limit = 0;
    JSDL_RETURN_IF_ERROR(SharedMemoryPerBlockOptin(limit));
    cudaFuncAttributes attributes = {};
    JSDL_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kKernel));
    JSDL_CUDA_CHECK(cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         limit - static_cast<int>(attributes.sharedSizeBytes)));
    if (cached) opted_in[device].store(true, std::memory_order_relaxed);
  }
  return xla::ffi::Error::Success();
}

}  // namespace jsdl
