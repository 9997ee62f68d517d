// The CPU handlers' float types: bfloat16 and float16 as 16-bit storage, widened to float for
// arithmetic and rounded back to nearest even (as CUDA's __float2bfloat16_rn, __float2half_rn).
#pragma once

#include <cmath>
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

inline float ToAcc(CpuFloat16 x) {
  const uint32_t sign = uint32_t{x.bits & 0x8000u} << 16;
  const uint32_t exponent = (x.bits >> 10) & 0x1f;
  const uint32_t mantissa = x.bits & 0x3ff;
  if (exponent == 0x1f) return BitsFloat(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  return BitsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));  // rebias 15 -> 127
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
  if ((u & 0x7fffffffu) > 0x7f800000u) return {static_cast<uint16_t>((u >> 16) | 0x40)};  // NaN
  const uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1);  // to nearest, ties to even
  return {static_cast<uint16_t>(rounded >> 16)};
}

template <>
inline CpuFloat16 FromAcc<CpuFloat16>(float x) {
  uint32_t u = FloatBits(x);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return {static_cast<uint16_t>(sign | 0x7e00)};   // NaN
  if (u >= 0x477ff000u) return {static_cast<uint16_t>(sign | 0x7c00)};  // rounds past 65504
  if (u < 0x38800000u) {  // below 2^-14: a subnormal (or zero, or 2^-14 after rounding)
    const float scaled = BitsFloat(u) * 0x1p24f;  // exact: a power of two
    return {static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)))};
  }
  u += 0xfffu + ((u >> 13) & 1);  // to nearest, ties to even; a carry moves the exponent
  return {static_cast<uint16_t>(sign | ((u - (112u << 23)) >> 13))};
}

// Calls fn(TypeTag<T>{}) for the CPU storage type of a float dtype.
template <typename Fn>
xla::ffi::Error DispatchCpuFloat(xla::ffi::DataType dtype, const char* op, Fn&& fn) {
  return DispatchFloatAs<CpuBFloat16, CpuFloat16>(dtype, op, static_cast<Fn&&>(fn));
}

}  // namespace jsdl
