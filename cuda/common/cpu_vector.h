// Float vectors (GCC and Clang vector extensions) for the CPU handlers' float32 paths, written out
// because the compilers do not keep a plain array of sums in registers across the gathered rows
// of a sparse row. Float4 (16 bytes: SSE on x86-64, NEON on AArch64) runs everywhere; on x86-64
// a handler also builds its loops for AVX2, FMA and F16C (Float8) and for AVX-512 (Float16), and
// picks one at run time. Loops over these types are always_inline templates, so that each copy
// takes its caller's instruction set (and no wide vector crosses a function built without it);
// vectors move through memcpy.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace jsdl {

using Float4 = float __attribute__((vector_size(16)));
using Float8 = float __attribute__((vector_size(32)));
using Float16 = float __attribute__((vector_size(64)));

template <typename V>
inline constexpr int kLanes = sizeof(V) / sizeof(float);

// The integer lanes beside float (one value) or a float vector: 32-bit signed and unsigned, and
// 16-bit (the storage of bfloat16 and float16). Spelled out: GCC drops vector_size in templates.
template <typename F>
struct LaneTypes {
  using Int32 = int32_t;
  using Uint32 = uint32_t;
  using Uint16 = uint16_t;
};
#define JSDL_LANE_TYPES(V)                                                 \
  template <>                                                              \
  struct LaneTypes<V> {                                                    \
    using Int32 = int32_t __attribute__((vector_size(sizeof(V))));         \
    using Uint32 = uint32_t __attribute__((vector_size(sizeof(V))));       \
    using Uint16 = uint16_t __attribute__((vector_size(sizeof(V) / 2)));   \
  };
JSDL_LANE_TYPES(Float4)
JSDL_LANE_TYPES(Float8)
JSDL_LANE_TYPES(Float16)
#undef JSDL_LANE_TYPES

#define JSDL_ALWAYS_INLINE __attribute__((always_inline)) inline

// Lane-wise steps for FoldToFloat4 and FoldToFloat (functors, not lambdas: a lambda would not
// take its caller's instruction set).
struct AddLanes {
  template <typename V>
  JSDL_ALWAYS_INLINE V operator()(const V& a, const V& b) const { return a + b; }
};
struct MaxLanes {  // as std::max(a, b): a NaN in b is passed over, one in a kept
  template <typename V>
  JSDL_ALWAYS_INLINE V operator()(const V& a, const V& b) const { return a < b ? b : a; }
};

// v's halves combined by op until 4 lanes are left (a tree: a lane at a time is a chain of
// dependent steps).
template <typename V, typename Op>
JSDL_ALWAYS_INLINE Float4 FoldToFloat4(const V& v, Op op) {
  static_assert(sizeof(V) == 16 || sizeof(V) == 32 || sizeof(V) == 64);
  if constexpr (sizeof(V) == sizeof(Float4)) {
    return v;
  } else {
    using Half = std::conditional_t<sizeof(V) == sizeof(Float8), Float4, Float8>;
    Half low, high;
    std::memcpy(&low, &v, sizeof low);
    std::memcpy(&high, reinterpret_cast<const char*>(&v) + sizeof low, sizeof high);
    return FoldToFloat4(op(low, high), op);
  }
}

// v folded to one float by op, the same tree down to the last lane.
template <typename V, typename Op>
JSDL_ALWAYS_INLINE float FoldToFloat(const V& v, Op op) {
  const Float4 f = FoldToFloat4(v, op);
  return op(op(f[0], f[1]), op(f[2], f[3]));
}

// The copies of the float32 loops, narrowest first.
enum class VectorLoops : int { kPortable, kAvx2, kAvx512 };
inline constexpr const char* kVectorLoopsNames[] = {"portable", "avx2", "avx512"};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JSDL_CPU_X86 1
#define JSDL_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define JSDL_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))
// The widest copy this CPU (and its OS) runs, asked once.
inline VectorLoops WidestVectorLoops() {
  static const VectorLoops widest = [] {
    __builtin_cpu_init();  // idempotent; needed if this runs before the library's constructors
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
        !__builtin_cpu_supports("f16c"))
      return VectorLoops::kPortable;
    return __builtin_cpu_supports("avx512f") ? VectorLoops::kAvx512 : VectorLoops::kAvx2;
  }();
  return widest;
}
#else
inline VectorLoops WidestVectorLoops() { return VectorLoops::kPortable; }
#endif

// The copy the handlers take: the widest, unless told otherwise (_jsdl_cpu.use_vector_loops, so
// that tests and timing reach the narrower copies too).
inline std::atomic<VectorLoops>& UsedVectorLoops() {
  static std::atomic<VectorLoops> used{WidestVectorLoops()};
  return used;
}

}  // namespace jsdl
