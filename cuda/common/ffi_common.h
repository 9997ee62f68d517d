// Host-only FFI helpers shared by the CUDA and the CPU handlers: error propagation, dtype names
// and the dispatch from an ffi::DataType to the C++ type of each platform.
#pragma once

#include <string>

#include "xla/ffi/api/ffi.h"

// Propagates a failed ffi::Error from a helper.
#define JSDL_RETURN_IF_ERROR(expr)                                   \
  do {                                                               \
    ::xla::ffi::Error jsdl_error_ = (expr);                          \
    if (jsdl_error_.failure()) return jsdl_error_;                   \
  } while (0)

namespace jsdl {

// The accumulation type of a storage type: float for float32 and the 16-bit types, double for
// float64.
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

// Calls fn(TypeTag<T>{}) for the C++ type of a float dtype, with the platform's own 16-bit
// types (CUDA's __nv_bfloat16 and __half, or the CPU's storage structs); fn returns ffi::Error.
template <typename BFloat16, typename Float16, typename Fn>
xla::ffi::Error DispatchFloatAs(xla::ffi::DataType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case xla::ffi::DataType::F32: return fn(TypeTag<float>{});
    case xla::ffi::DataType::F64: return fn(TypeTag<double>{});
    case xla::ffi::DataType::BF16: return fn(TypeTag<BFloat16>{});
    case xla::ffi::DataType::F16: return fn(TypeTag<Float16>{});
    default:
      return xla::ffi::Error::InvalidArgument(
          std::string(op) + ": unsupported float dtype " +
          DataTypeName(dtype) + " (expected float32, float64, bfloat16 or float16)");
  }
}

}  // namespace jsdl
