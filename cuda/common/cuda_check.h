// CUDA error handling for FFI handlers: every failure becomes an xla::ffi::Error
// (never an abort), so JAX raises a Python exception with the message.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "ffi_common.h"  // JSDL_RETURN_IF_ERROR
#include "xla/ffi/api/ffi.h"

namespace jsdl {

inline xla::ffi::Error CudaError(cudaError_t status, const char* what) {
  return xla::ffi::Error::Internal(std::string(what) + ": " +
                                   cudaGetErrorName(status) + " (" +
                                   cudaGetErrorString(status) + ")");
}

}  // namespace jsdl

// Returns an ffi::Error from the enclosing handler if a CUDA call fails. The
// failure is also taken off the runtime's last-error slot, so that a later
// launch check (JSDL_CHECK_LAUNCH) does not report it again as its own.
#define JSDL_CUDA_CHECK(expr)                                        \
  do {                                                               \
    cudaError_t jsdl_status_ = (expr);                               \
    if (jsdl_status_ != cudaSuccess) {                               \
      (void)cudaGetLastError();                                      \
      return ::jsdl::CudaError(jsdl_status_, "CUDA call " #expr);    \
    }                                                                \
  } while (0)

// Call right after a <<<...>>> launch: launch errors (bad configuration,
// missing kernel image for this GPU) are only reported by cudaGetLastError().
#define JSDL_CHECK_LAUNCH(kernel_name)                               \
  do {                                                               \
    cudaError_t jsdl_status_ = cudaGetLastError();                   \
    if (jsdl_status_ != cudaSuccess)                                 \
      return ::jsdl::CudaError(jsdl_status_, "launch of " kernel_name); \
  } while (0)

// The same for a driver call that returns a CUresult (0: CUDA_SUCCESS), such as the tensor-map
// encoder of tma.cuh (EncodeSwizzledRowMap); `what` names it in the message.
#define JSDL_CU_CHECK(what, expr)                                                       \
  do {                                                                                  \
    const int jsdl_result_ = static_cast<int>(expr);                                    \
    if (jsdl_result_ != 0)                                                              \
      return ::xla::ffi::Error::Internal(std::string(what) + " failed (CUresult " +     \
                                         std::to_string(jsdl_result_) + ")");           \
  } while (0)
