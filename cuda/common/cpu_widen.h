// 16-bit operands of the CPU handlers read in place, kLanes<V> values at a time, widened to
// float32 in vector registers, and float32 results rounded back as they are stored: the
// kernels' float32 loops (AVX2 and AVX-512 copies, cpu_vector.h) then run on every type, with
// no float32 copy of an operand. Until session 37 the handlers widened whole operands into fresh
// float32 copies once a call; reading in place made bfloat16 SpMM 1.5-3.0x faster (writing a
// copy, then reading it from the other core, cost more than converting at every read).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu_float.h"
#include "cpu_vector.h"

namespace jsdl {

template <typename T>
inline constexpr bool kIs16Bit = std::is_same_v<T, CpuBFloat16> || std::is_same_v<T, CpuFloat16>;

// kLanes<V> 16-bit values, as a memory operand of the asm below.
template <typename V, typename T>
struct Lanes16 {
  T lanes[kLanes<V>];
};

// kLanes<V> floats read from storage type T (float32, or 16-bit widened with cpu_float.h's
// formulas lane by lane; GCC vectorizes neither float16 conversion written for one value, which
// took 0.8 ns an element here), and written back rounded. The AVX2 and AVX-512 copies widen
// with one instruction (F16C's is exact), in asm: an intrinsic cannot be inlined into these
// functions, built for the baseline target, and GCC splits the widening of 16 lanes in two.
template <typename V, typename T>
JSDL_ALWAYS_INLINE V LoadFloats(const T* p) {
  V f;
  if constexpr (std::is_same_v<T, float>) {
    std::memcpy(&f, p, sizeof f);
#ifdef JSDL_CPU_X86
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
  } else if constexpr (std::is_same_v<T, CpuFloat16> && sizeof(V) > 16) {  // to nearest even:
    asm("vcvtps2ph $0, %1, %0" : "=m"(*reinterpret_cast<Lanes16<V, T>*>(p)) : "v"(f));
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

// The columns a loop reads at once from storage type T, as kParts float vectors V of sums. One
// vector (kLanes<V> values widened by LoadFloats), except bfloat16 pairs (kPairs) in AVX2 and
// AVX-512 vectors: 2 kLanes<V> values, split into their even and odd lanes with no shuffle (a
// bfloat16 is the high half of a float32: the even value shifted up, the odd masked), their sums
// kept in that order and merged again by Store. Widening with a shuffle (vpmovzxwd) takes the
// port that one of the two FMAs also needs: bfloat16 SpMM's blocks ran 1.15-1.3x faster in pairs
// (session 39).
template <typename V, typename T, bool kPairs = true>
struct Unit {
  static constexpr bool kSplit = kPairs && std::is_same_v<T, CpuBFloat16> && sizeof(V) > 16;
  static constexpr int kParts = kSplit ? 2 : 1;
  static constexpr int64_t kColumns = kParts * kLanes<V>;

  JSDL_ALWAYS_INLINE static void Load(const T* p, V* parts) {
    if constexpr (kSplit) {
      typename LaneTypes<V>::Uint32 pairs;
      std::memcpy(&pairs, p, sizeof pairs);
      parts[0] = BitCast<V>(pairs << 16);
      parts[1] = BitCast<V>(pairs & 0xffff0000u);
    } else {
      parts[0] = LoadFloats<V>(p);
    }
  }

  // The parts by value (odd: ignored unless split): a pointer into the caller's sums made GCC keep
  // them in memory, stored at every entry.
  JSDL_ALWAYS_INLINE static void Store(T* p, const V& even, const V& odd) {
    if constexpr (kSplit) {
      using Bits32 = typename LaneTypes<V>::Uint32;
      const Bits32 pairs =
          FloatToBFloat16Bits<Bits32>(even) | (FloatToBFloat16Bits<Bits32>(odd) << 16);
      std::memcpy(p, &pairs, sizeof pairs);
    } else {
      StoreFloats<V>(p, even);
    }
  }
};

// count values, in vectors V, the rest one by one.
template <typename V, typename From, typename To>
JSDL_ALWAYS_INLINE void ConvertVectors(const From* in, To* out, int64_t count) {
  const int64_t vectors_end = count - count % kLanes<V>;
  int64_t i = 0;
  for (; i < vectors_end; i += kLanes<V>) StoreFloats<V>(out + i, LoadFloats<V>(in + i));
  for (; i < count; ++i) out[i] = FromAcc<To>(ToAcc(in[i]));
}

}  // namespace jsdl
