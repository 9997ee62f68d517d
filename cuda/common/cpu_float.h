// The CPU handlers' float types: bfloat16 and float16 as 16-bit storage, widened to float for
// arithmetic and rounded back to nearest even (as CUDA's __float2bfloat16_rn, __float2half_rn).
#pragma once

#include <cstdint>
#include <cstring>

#include "ffi_common.h"

namespace jsdl {

struct CpuBFloat16 {
  uint16_t bits;
};
struct CpuFloat16 {
  uint16_t bits;
};

inline uint32_t FloatBits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline float BitsFloat(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

inline float ToAcc(float x) { return x; }
inline double ToAcc(double x) { return x; }
inline float ToAcc(CpuBFloat16 x) { return BitsFloat(uint32_t{x.bits} << 16); }

// Branch-free (selects only), so that loops over arrays of them vectorize.
inline float ToAcc(CpuFloat16 x) {
  const uint32_t h = x.bits;
  const uint32_t exponent = h & 0x7c00, mantissa = h & 0x3ff;
  const uint32_t normal = ((h & 0x7fff) << 13) + (112u << 23);  // rebias 15 -> 127
  const uint32_t special = 0x7f800000u | (mantissa << 13);       // inf, NaN
  // Zero and subnormals: mantissa * 2^-24, exact in float (and no float subnormal on the way,
  // which XLA's threads would flush).
  const float small = static_cast<float>(static_cast<int32_t>(mantissa)) * 0x1p-24f;
  uint32_t bits = exponent == 0x7c00 ? special : normal;
  bits = exponent == 0 ? FloatBits(small) : bits;
  return BitsFloat(bits | ((h & 0x8000) << 16));
}

template <typename T>
T FromAcc(Acc<T> x);
template <>
inline float FromAcc<float>(float x) { return x; }
template <>
inline double FromAcc<double>(double x) { return x; }

template <>
inline CpuBFloat16 FromAcc<CpuBFloat16>(float x) {
  const uint32_t u = FloatBits(x);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1)) >> 16;  // to nearest, ties to even
  const uint32_t nan = (u >> 16) | 0x40;                            // quiet
  return {static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded)};
}

template <>
inline CpuFloat16 FromAcc<CpuFloat16>(float x) {
  const uint32_t bits = FloatBits(x);
  const uint32_t u = bits & 0x7fffffffu;
  // Normal results: to nearest, ties to even on the 13 bits dropped (a carry moves the exponent).
  const uint32_t normal = (u + 0xfffu + ((u >> 13) & 1) - (112u << 23)) >> 13;
  // Below 2^-14: |x| * 2^24 rounded to an integer, to nearest even by adding and taking away
  // 2^23 (exact below 2^11); other inputs are replaced by 0 first, so the conversion is defined.
  const float scaled = BitsFloat(u < 0x38800000u ? u : 0u) * 0x1p24f;
  const uint32_t small = static_cast<uint32_t>(static_cast<int32_t>((scaled + 0x1p23f) - 0x1p23f));
  uint32_t h = u < 0x38800000u ? small : normal;
  h = u >= 0x477ff000u ? 0x7c00u : h;  // rounds past 65504: inf
  h = u > 0x7f800000u ? 0x7e00u : h;   // NaN
  return {static_cast<uint16_t>(((bits >> 16) & 0x8000) | h)};
}

// Whole arrays, for the handlers that widen 16-bit operands to float32 once a call.
template <typename T>
void WidenToFloat(const T* in, float* out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) out[i] = ToAcc(in[i]);
}

template <typename T>
void NarrowFromFloat(const float* in, T* out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) out[i] = FromAcc<T>(in[i]);
}

// Calls fn(TypeTag<T>{}) for the CPU storage type of a float dtype.
template <typename Fn>
xla::ffi::Error DispatchCpuFloat(xla::ffi::DataType dtype, const char* op, Fn&& fn) {
  return DispatchFloatAs<CpuBFloat16, CpuFloat16>(dtype, op, static_cast<Fn&&>(fn));
}

}  // namespace jsdl
