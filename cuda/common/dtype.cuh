// Float dtype dispatch (ffi::DataType -> C++ type) and conversions between the
// storage type T and its accumulation type: float for f32/f16/bf16, double for f64.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "ffi_common.h"

namespace jsdl {

__device__ __forceinline__ float ToAcc(float x) { return x; }
__device__ __forceinline__ double ToAcc(double x) { return x; }
__device__ __forceinline__ float ToAcc(__half x) { return __half2float(x); }
__device__ __forceinline__ float ToAcc(__nv_bfloat16 x) {
  return __bfloat162float(x);
}

template <typename T>
__device__ __forceinline__ T FromAcc(Acc<T> x);
template <>
__device__ __forceinline__ float FromAcc<float>(float x) { return x; }
template <>
__device__ __forceinline__ double FromAcc<double>(double x) { return x; }
template <>
__device__ __forceinline__ __half FromAcc<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromAcc<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Read-only (non-coherent cache) load of an input element, widened to Acc<T>.
template <typename T>
__device__ __forceinline__ Acc<T> LoadAcc(const T* p) {
  return ToAcc(__ldg(p));
}

// Calls fn(TypeTag<T>{}) for the CUDA type of a float dtype; fn returns ffi::Error.
template <typename Fn>
xla::ffi::Error DispatchFloat(xla::ffi::DataType dtype, const char* op, Fn&& fn) {
  return DispatchFloatAs<__nv_bfloat16, __half>(dtype, op, static_cast<Fn&&>(fn));
}

}  // namespace jsdl
