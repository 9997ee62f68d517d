// Vector accesses: kVec consecutive elements moved by one instruction (16
// bytes for float4 / 8 x bf16), converted to and from Acc<T> registers.
// Callers guarantee alignment: the base pointer is 16-byte aligned (XLA
// buffers are) and every offset is a multiple of kVec elements.
#pragma once

#include <cstdint>

#include "dtype.cuh"

namespace jsdl {

template <typename T, int kVec>
struct alignas(sizeof(T) * kVec) Vec {
  T v[kVec];
};

// Elements per 16-byte access.
template <typename T>
inline constexpr int kVec16 = static_cast<int>(16 / sizeof(T));

template <typename T, int kVec>
__device__ __forceinline__ void LoadVec(const T* p, Acc<T> (&out)[kVec]) {
  const Vec<T, kVec> x = *reinterpret_cast<const Vec<T, kVec>*>(p);
#pragma unroll
  for (int i = 0; i < kVec; ++i) out[i] = ToAcc(x.v[i]);
}

template <typename T, int kVec>
__device__ __forceinline__ void StoreVec(T* p, const Acc<T> (&in)[kVec]) {
  Vec<T, kVec> x;
#pragma unroll
  for (int i = 0; i < kVec; ++i) x.v[i] = FromAcc<T>(in[i]);
  *reinterpret_cast<Vec<T, kVec>*>(p) = x;
}

}  // namespace jsdl
