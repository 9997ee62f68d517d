// The CPU handlers' float types: bfloat16 and float16 as 16-bit storage, widened to float for
// arithmetic and rounded back to nearest even (as CUDA's __float2bfloat16_rn, __float2half_rn).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu_vector.h"
#include "ffi_common.h"

namespace jsdl {

struct CpuBFloat16 {
  uint16_t bits;
};
struct CpuFloat16 {
  uint16_t bits;
};

// The 16-bit conversions' formulas, written once for one value (U = uint32_t, F = float) and
// for vectors of them (cpu_widen.h's loops; GCC vector extensions, where comparisons give lane
// masks and ?: selects lane by lane): integer operations and selects only, no branches. Always
// inlined, so that the vector forms take their caller's instruction set (cpu_vector.h).
template <typename To, typename From>
JSDL_ALWAYS_INLINE To BitCast(const From& from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

// Lanes converted between int32 and float as values (static_cast on one value,
// __builtin_convertvector on vectors); the callers' values are exact in both.
template <typename To, typename From>
JSDL_ALWAYS_INLINE To ConvertLanes(const From& from) {
  if constexpr (std::is_scalar_v<From>)
    return static_cast<To>(from);
  else
    return __builtin_convertvector(from, To);
}

template <typename F, typename U>
JSDL_ALWAYS_INLINE F BFloat16BitsToFloat(U h) {
  return BitCast<F>(h << 16);
}

template <typename F, typename U>
JSDL_ALWAYS_INLINE F HalfBitsToFloat(U h) {
  const U exponent = h & 0x7c00u, mantissa = h & 0x3ffu;
  const U normal = ((h & 0x7fffu) << 13) + (112u << 23);  // rebias 15 -> 127
  const U special = (mantissa << 13) | 0x7f800000u;       // inf, NaN
  // Zero and subnormals: mantissa * 2^-24, exact in float (and no float subnormal on the way,
  // which XLA's threads would flush).
  const U small = BitCast<U>(ConvertLanes<F>(BitCast<typename LaneTypes<F>::Int32>(mantissa)) *
                             0x1p-24f);
  U bits = exponent == 0x7c00u ? special : normal;
  bits = exponent == 0u ? small : bits;
  return BitCast<F>(bits | ((h & 0x8000u) << 16));
}

// Rounded to nearest, ties to even (as CUDA's __float2bfloat16_rn, __float2half_rn).
template <typename U, typename F>
JSDL_ALWAYS_INLINE U FloatToBFloat16Bits(F x) {
  const U u = BitCast<U>(x);
  const U rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const U nan = (u >> 16) | 0x40u;  // quiet
  return (u & 0x7fffffffu) > 0x7f800000u ? nan : rounded;
}

template <typename U, typename F>
JSDL_ALWAYS_INLINE U FloatToHalfBits(F x) {
  const U bits = BitCast<U>(x);
  const U u = bits & 0x7fffffffu;
  // Normal results: to nearest, ties to even on the 13 bits dropped (a carry moves the exponent).
  const U normal = (u + 0xfffu + ((u >> 13) & 1u) - (112u << 23)) >> 13;
  // Below 2^-14: |x| * 2^24 rounded to an integer, to nearest even by adding and taking away
  // 2^23 (exact below 2^11); other inputs are replaced by 0 first, so the conversion is defined.
  const F scaled = BitCast<F>(u < 0x38800000u ? u : U{}) * 0x1p24f;
  const U small =
      BitCast<U>(ConvertLanes<typename LaneTypes<F>::Int32>((scaled + 0x1p23f) - 0x1p23f));
  U h = u < 0x38800000u ? small : normal;
  h = u >= 0x477ff000u ? U{} + 0x7c00u : h;  // rounds past 65504: inf
  h = u > 0x7f800000u ? U{} + 0x7e00u : h;   // NaN
  return ((bits >> 16) & 0x8000u) | h;
}

JSDL_ALWAYS_INLINE float ToAcc(float x) { return x; }
JSDL_ALWAYS_INLINE double ToAcc(double x) { return x; }
JSDL_ALWAYS_INLINE float ToAcc(CpuBFloat16 x) {
  return BFloat16BitsToFloat<float>(uint32_t{x.bits});
}
JSDL_ALWAYS_INLINE float ToAcc(CpuFloat16 x) { return HalfBitsToFloat<float>(uint32_t{x.bits}); }

template <typename T>
T FromAcc(Acc<T> x);
template <>
JSDL_ALWAYS_INLINE float FromAcc<float>(float x) { return x; }
template <>
JSDL_ALWAYS_INLINE double FromAcc<double>(double x) { return x; }
template <>
JSDL_ALWAYS_INLINE CpuBFloat16 FromAcc<CpuBFloat16>(float x) {
  return {static_cast<uint16_t>(FloatToBFloat16Bits<uint32_t>(x))};
}
template <>
JSDL_ALWAYS_INLINE CpuFloat16 FromAcc<CpuFloat16>(float x) {
  return {static_cast<uint16_t>(FloatToHalfBits<uint32_t>(x))};
}

// Calls fn(TypeTag<T>{}) for the CPU storage type of a float dtype.
template <typename Fn>
xla::ffi::Error DispatchCpuFloat(xla::ffi::DataType dtype, const char* op, Fn&& fn) {
  return DispatchFloatAs<CpuBFloat16, CpuFloat16>(dtype, op, static_cast<Fn&&>(fn));
}

}  // namespace jsdl
