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

template <typename T>
inline constexpr bool kIs16Bit = std::is_same_v<T, CpuBFloat16> || std::is_same_v<T, CpuFloat16>;

// The type a kernel computes in for storage type T: float32 for the 16-bit types.
template <typename T>
using Wide = std::conditional_t<kIs16Bit<T>, float, T>;

// kLanes<V> 16-bit values, as a memory operand of the asm below.
template <typename V, typename T>
struct Lanes16 {
  T lanes[kLanes<V>];
};

// kLanes<V> floats read from storage type T (float32, or 16-bit widened with cpu_float.h's
// formulas lane by lane), and written back rounded: for the loops below, and for kernels that
// read 16-bit operands in place. GCC vectorizes neither float16 conversion written for one value
// (it branches, or finds no vector type): 0.8 ns an element on this machine.
template <typename V, typename T>
JSDL_ALWAYS_INLINE V LoadFloats(const T* p) {
  V f;
  if constexpr (std::is_same_v<T, float>) {
    std::memcpy(&f, p, sizeof f);
#ifdef JSDL_CPU_X86
    // The AVX2 and AVX-512 copies widen with one instruction (F16C's is exact), in asm: an
    // intrinsic cannot be inlined into this function, built for the baseline target, and GCC
    // splits the widening of 16 lanes into halves.
  } else if constexpr (std::is_same_v<T, CpuFloat16> && sizeof(V) > 16) {
    asm("vcvtph2ps %1, %0" : "=v"(f) : "m"(*reinterpret_cast<const Lanes16<V, T>*>(p)));
  } else if constexpr (sizeof(V) > 16) {
    typename LaneTypes<V>::Uint32 bits;
    asm("vpmovzxwd %1, %0" : "=v"(bits) : "m"(*reinterpret_cast<const Lanes16<V, T>*>(p)));
    f = BFloat16BitsToFloat<V>(bits);
#endif
  } else {
    typename LaneTypes<V>::Uint16 h;
    std::memcpy(&h, p, sizeof h);
    const auto bits = __builtin_convertvector(h, typename LaneTypes<V>::Uint32);
    if constexpr (std::is_same_v<T, CpuBFloat16>)
      f = BFloat16BitsToFloat<V>(bits);
    else
      f = HalfBitsToFloat<V>(bits);
  }
  return f;
}

template <typename V, typename T>
JSDL_ALWAYS_INLINE void StoreFloats(T* p, const V& f) {
  if constexpr (std::is_same_v<T, float>) {
    std::memcpy(p, &f, sizeof f);
#ifdef JSDL_CPU_X86
  } else if constexpr (std::is_same_v<T, CpuFloat16> && sizeof(V) > 16) {
    asm("vcvtps2ph $0, %1, %0" : "=m"(*reinterpret_cast<Lanes16<V, T>*>(p)) : "v"(f));  // nearest even
#endif
  } else {
    using Bits32 = typename LaneTypes<V>::Uint32;
    Bits32 bits;
    if constexpr (std::is_same_v<T, CpuBFloat16>)
      bits = FloatToBFloat16Bits<Bits32>(f);
    else
      bits = FloatToHalfBits<Bits32>(f);
#ifdef JSDL_CPU_X86
    if constexpr (sizeof(V) == sizeof(Float16)) {  // AVX-512: one instruction (GCC: several)
      asm("vpmovdw %1, %0" : "=m"(*reinterpret_cast<Lanes16<V, T>*>(p)) : "v"(bits));
      return;
    }
#endif
    const auto h = __builtin_convertvector(bits, typename LaneTypes<V>::Uint16);
    std::memcpy(p, &h, sizeof h);
  }
}

// Whole arrays, in vectors V, the rest one by one.
template <typename V, typename From, typename To>
JSDL_ALWAYS_INLINE void ConvertVectors(const From* in, To* out, int64_t count) {
  const int64_t vectors_end = count - count % kLanes<V>;
  int64_t i = 0;
  for (; i < vectors_end; i += kLanes<V>) StoreFloats<V>(out + i, LoadFloats<V>(in + i));
  for (; i < count; ++i) out[i] = FromAcc<To>(ToAcc(in[i]));
}
#ifdef JSDL_CPU_X86
template <typename From, typename To>
JSDL_TARGET_AVX2 void ConvertAvx2(const From* in, To* out, int64_t count) {
  ConvertVectors<Float8>(in, out, count);
}
template <typename From, typename To>
JSDL_TARGET_AVX512 void ConvertAvx512(const From* in, To* out, int64_t count) {
  ConvertVectors<Float16>(in, out, count);
}
#endif

// In the copy the handlers take (cpu_vector.h).
template <typename From, typename To>
void Convert(const From* in, To* out, int64_t count) {
  switch (UsedVectorLoops().load(std::memory_order_relaxed)) {
#ifdef JSDL_CPU_X86
    case VectorLoops::kAvx512: return ConvertAvx512(in, out, count);
    case VectorLoops::kAvx2: return ConvertAvx2(in, out, count);
#endif
    default: return ConvertVectors<Float4>(in, out, count);
  }
}

// `data` (count elements) as Wide<T>: itself, or widened into a block of `scratch`.
template <typename T>
const Wide<T>* Widen(xla::ffi::ThreadPool& pool, const T* data, int64_t count, Scratch& scratch) {
  if constexpr (!kIs16Bit<T>) {
    return data;
  } else {
    float* wide = scratch.Take(count);
    ParallelFor(pool, count, 1, [&](int64_t begin, int64_t end) {
      Convert(data + begin, wide + begin, end - begin);
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
  if constexpr (kIs16Bit<T>) Convert(wide + begin, out + begin, end - begin);
}

}  // namespace jsdl
