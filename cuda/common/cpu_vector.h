// 16-byte float vectors (GCC and Clang vector extensions: SSE on x86-64, NEON on AArch64) for
// the CPU handlers' float32 paths. Written out because the compilers do not keep a plain array
// of sums in registers across the gathered rows of a sparse row.
#pragma once

#include <cstring>

namespace jsdl {

using Float4 = float __attribute__((vector_size(16)));
inline constexpr int kFloat4Lanes = 4;

inline Float4 LoadFloat4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void StoreFloat4(float* p, Float4 v) { std::memcpy(p, &v, sizeof v); }

inline float Sum(Float4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

}  // namespace jsdl
