// 16-bit operands of the CPU handlers widened to float32 once a call, and float32 results
// narrowed back: the kernels then run their float32 loops (vector registers; AVX2 and AVX-512
// copies, cpu_vector.h) on every type. A call reads each dense element many times (nnz / k on
// average in SpMM), so widening once costs less than converting at every read. The float32
// copies live in blocks kept between calls (cpu_scratch.h), and a result is narrowed by the
// thread that computed it, range by range, while it is still in cache.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu_float.h"
#include "cpu_parallel.h"
#include "cpu_scratch.h"
#include "cpu_vector.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {

// Whole arrays converted in float vectors V (cpu_float.h's formulas lane by lane), the rest one
// by one. GCC vectorizes the one-value loop of neither float16 conversion (it branches, or finds
// no vector type), which made them 0.8 ns an element on this machine.
template <typename V, typename T>
JSDL_ALWAYS_INLINE void WidenVectors(const T* in, float* out, int64_t count) {
  using Bits16 = typename LaneTypes<V>::Uint16;
  using Bits32 = typename LaneTypes<V>::Uint32;
  const int64_t vectors_end = count - count % kLanes<V>;
  int64_t i = 0;
  for (; i < vectors_end; i += kLanes<V>) {
    Bits16 h;
    std::memcpy(&h, in + i, sizeof h);
    const Bits32 bits = __builtin_convertvector(h, Bits32);
    V f;
    if constexpr (std::is_same_v<T, CpuBFloat16>)
      f = BFloat16BitsToFloat<V>(bits);
    else
      f = HalfBitsToFloat<V>(bits);
    std::memcpy(out + i, &f, sizeof f);
  }
  for (; i < count; ++i) out[i] = ToAcc(in[i]);
}

template <typename V, typename T>
JSDL_ALWAYS_INLINE void NarrowVectors(const float* in, T* out, int64_t count) {
  using Bits16 = typename LaneTypes<V>::Uint16;
  using Bits32 = typename LaneTypes<V>::Uint32;
  const int64_t vectors_end = count - count % kLanes<V>;
  int64_t i = 0;
  for (; i < vectors_end; i += kLanes<V>) {
    V f;
    std::memcpy(&f, in + i, sizeof f);
    Bits32 bits;
    if constexpr (std::is_same_v<T, CpuBFloat16>)
      bits = FloatToBFloat16Bits<Bits32>(f);
    else
      bits = FloatToHalfBits<Bits32>(f);
    const Bits16 h = __builtin_convertvector(bits, Bits16);
    std::memcpy(out + i, &h, sizeof h);
  }
  for (; i < count; ++i) out[i] = FromAcc<T>(in[i]);
}

#ifdef JSDL_CPU_X86
template <typename T>
JSDL_TARGET_AVX2 void WidenAvx2(const T* in, float* out, int64_t count) {
  WidenVectors<Float8>(in, out, count);
}
template <typename T>
JSDL_TARGET_AVX512 void WidenAvx512(const T* in, float* out, int64_t count) {
  WidenVectors<Float16>(in, out, count);
}
template <typename T>
JSDL_TARGET_AVX2 void NarrowAvx2(const float* in, T* out, int64_t count) {
  NarrowVectors<Float8>(in, out, count);
}
template <typename T>
JSDL_TARGET_AVX512 void NarrowAvx512(const float* in, T* out, int64_t count) {
  NarrowVectors<Float16>(in, out, count);
}
#endif

// In the copy the handlers take (cpu_vector.h).
template <typename T>
void WidenToFloat(const T* in, float* out, int64_t count) {
  switch (UsedVectorLoops().load(std::memory_order_relaxed)) {
#ifdef JSDL_CPU_X86
    case VectorLoops::kAvx512: return WidenAvx512(in, out, count);
    case VectorLoops::kAvx2: return WidenAvx2(in, out, count);
#endif
    default: return WidenVectors<Float4>(in, out, count);
  }
}

template <typename T>
void NarrowFromFloat(const float* in, T* out, int64_t count) {
  switch (UsedVectorLoops().load(std::memory_order_relaxed)) {
#ifdef JSDL_CPU_X86
    case VectorLoops::kAvx512: return NarrowAvx512(in, out, count);
    case VectorLoops::kAvx2: return NarrowAvx2(in, out, count);
#endif
    default: return NarrowVectors<Float4>(in, out, count);
  }
}

template <typename T>
inline constexpr bool kIs16Bit = std::is_same_v<T, CpuBFloat16> || std::is_same_v<T, CpuFloat16>;

// The type a kernel computes in for storage type T: float32 for the 16-bit types.
template <typename T>
using Wide = std::conditional_t<kIs16Bit<T>, float, T>;

// `data` (count elements) as Wide<T>: itself, or widened into a block of `scratch`.
template <typename T>
const Wide<T>* Widen(xla::ffi::ThreadPool& pool, const T* data, int64_t count, Scratch& scratch) {
  if constexpr (!kIs16Bit<T>) {
    return data;
  } else {
    float* wide = scratch.Take(count);
    ParallelFor(pool, count, 1, [&](int64_t begin, int64_t end) {
      WidenToFloat(data + begin, wide + begin, end - begin);
    });
    return wide;
  }
}

// Where a kernel writes its result (count elements) for an output `out` of type T: `out`
// itself, or a block of `scratch`, which NarrowRange then rounds into `out`.
template <typename T>
Wide<T>* WideResult(T* out, int64_t count, Scratch& scratch) {
  if constexpr (!kIs16Bit<T>) {
    return out;
  } else {
    return scratch.Take(count);
  }
}

// Elements [begin, end) of a WideResult rounded into `out` (nothing to do unless 16-bit).
template <typename T>
void NarrowRange(const Wide<T>* wide, T* out, int64_t begin, int64_t end) {
  if constexpr (kIs16Bit<T>) NarrowFromFloat(wide + begin, out + begin, end - begin);
}

}  // namespace jsdl
