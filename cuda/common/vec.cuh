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

// A 32- or 16-bit element's bits.
template <typename T>
__device__ __forceinline__ uint32_t ElementBits(T x) {
  if constexpr (sizeof(T) == 4) {
    return reinterpret_cast<const uint32_t&>(x);
  } else {
    return reinterpret_cast<const uint16_t&>(x);
  }
}

// Into global memory. 16 bytes go as one uint4 by the store intrinsic: the compiler splits an
// assignment of a Vec (or of a uint4) into one store an element where it cannot prove the
// address 16-byte aligned (session 31 found only 4-byte stores in the PTX of the SpMM kernels).
template <typename T, int kVec>
__device__ __forceinline__ void StoreVec(T* p, const Acc<T> (&in)[kVec]) {
  if constexpr (sizeof(T) * kVec == 16 && sizeof(T) <= 4) {
    uint32_t w[4] = {};
#pragma unroll
    for (int i = 0; i < kVec; ++i)
      w[i * sizeof(T) / 4] |= ElementBits(FromAcc<T>(in[i])) << (8 * (i * sizeof(T) % 4));
    __stwb(reinterpret_cast<uint4*>(p), make_uint4(w[0], w[1], w[2], w[3]));
  } else {
    Vec<T, kVec> x;
#pragma unroll
    for (int i = 0; i < kVec; ++i) x.v[i] = FromAcc<T>(in[i]);
    *reinterpret_cast<Vec<T, kVec>*>(p) = x;
  }
}

}  // namespace jsdl
