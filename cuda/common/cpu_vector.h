// Float vectors (GCC and Clang vector extensions) for the CPU handlers' float32 paths, written out
// because the compilers do not keep a plain array of sums in registers across the gathered rows
// of a sparse row. Float4 (16 bytes: SSE on x86-64, NEON on AArch64) runs everywhere; on x86-64
// a handler also builds its loop for AVX2 and FMA with Float8 and picks it at run time. Loops
// over these types are always_inline templates, so that each copy takes its caller's instruction
// set (and no Float8 crosses a function built without AVX); vectors move through memcpy.
#pragma once

#include <atomic>

namespace jsdl {

using Float4 = float __attribute__((vector_size(16)));
using Float8 = float __attribute__((vector_size(32)));

template <typename V>
inline constexpr int kLanes = sizeof(V) / sizeof(float);

#define JSDL_ALWAYS_INLINE __attribute__((always_inline)) inline

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JSDL_CPU_AVX2 1
// For the copies of a loop built for AVX2 and FMA.
#define JSDL_TARGET_AVX2 __attribute__((target("avx2,fma")))
// Whether this CPU runs them (asked once).
inline bool CpuHasAvx2() {
  static const bool has = [] {
    __builtin_cpu_init();  // idempotent; needed if this runs before the library's constructors
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}
#else
inline bool CpuHasAvx2() { return false; }
#endif

// Whether the handlers take their AVX2 loops: where the CPU has them, unless switched off
// (_jsdl_cpu.use_avx2, so that tests and timing reach the portable loops too).
inline std::atomic<bool>& UseAvx2() {
  static std::atomic<bool> use{CpuHasAvx2()};
  return use;
}

}  // namespace jsdl
