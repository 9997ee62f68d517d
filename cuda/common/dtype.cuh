// Float dtype dispatch (ffi::DataType -> C++ type) and conversions between the
// storage type T and its accumulation type: float for f32/f16/bf16, double for f64.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>

#include "xla/ffi/api/ffi.h"

namespace jsdl {

template <typename T>
struct AccumType {
  using type = float;
};
template <>
struct AccumType<double> {
  using type = double;
};
template <typename T>
using Acc = typename AccumType<T>::type;

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

template <typename T>
struct TypeTag {
  using type = T;
};

inline const char* DataTypeName(xla::ffi::DataType dtype) {
  switch (dtype) {
    case xla::ffi::DataType::F32: return "float32";
    case xla::ffi::DataType::F64: return "float64";
    case xla::ffi::DataType::BF16: return "bfloat16";
    case xla::ffi::DataType::F16: return "float16";
    case xla::ffi::DataType::S32: return "int32";
    case xla::ffi::DataType::S64: return "int64";
    default: return "an unsupported dtype";
  }
}

// Calls fn(TypeTag<T>{}) for the C++ type of a float dtype; fn returns ffi::Error.
template <typename Fn>
xla::ffi::Error DispatchFloat(xla::ffi::DataType dtype, const char* op,
                              Fn&& fn) {
  switch (dtype) {
    case xla::ffi::DataType::F32: return fn(TypeTag<float>{});
    case xla::ffi::DataType::F64: return fn(TypeTag<double>{});
    case xla::ffi::DataType::BF16: return fn(TypeTag<__nv_bfloat16>{});
    case xla::ffi::DataType::F16: return fn(TypeTag<__half>{});
    default:
      return xla::ffi::Error::InvalidArgument(
          std::string(op) + ": unsupported float dtype " +
          DataTypeName(dtype) + " (expected float32, float64, bfloat16 or float16)");
  }
}

}  // namespace jsdl
