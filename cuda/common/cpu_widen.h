// 16-bit operands of the CPU handlers widened to float32 once a call, and float32 results
// narrowed back: the kernels then run their float32 loops (vector registers; AVX2 and AVX-512
// copies, cpu_vector.h) on every type. A call reads each dense element many times (nnz / k on
// average in SpMM), so widening once costs less than converting at every read; it takes host
// memory for the float32 copies.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "cpu_float.h"
#include "cpu_parallel.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {

template <typename T>
inline constexpr bool kIs16Bit = std::is_same_v<T, CpuBFloat16> || std::is_same_v<T, CpuFloat16>;

// The type a kernel computes in for storage type T: float32 for the 16-bit types.
template <typename T>
using Wide = std::conditional_t<kIs16Bit<T>, float, T>;

// `data` (count elements) as Wide<T>: itself, or widened into `storage`.
template <typename T>
const Wide<T>* Widen(xla::ffi::ThreadPool& pool, const T* data, int64_t count,
                     std::vector<float>& storage) {
  if constexpr (!kIs16Bit<T>) {
    return data;
  } else {
    storage.resize(static_cast<size_t>(count));
    ParallelFor(pool, count, 1, [&](int64_t begin, int64_t end) {
      WidenToFloat(data + begin, storage.data() + begin, end - begin);
    });
    return storage.data();
  }
}

// Where a kernel writes its result (count elements) for an output `out` of type T: `out`
// itself, or `storage`, which NarrowInto then rounds into `out`.
template <typename T>
Wide<T>* WideResult(T* out, int64_t count, std::vector<float>& storage) {
  if constexpr (!kIs16Bit<T>) {
    return out;
  } else {
    storage.resize(static_cast<size_t>(count));
    return storage.data();
  }
}

template <typename T>
void NarrowInto(xla::ffi::ThreadPool& pool, const std::vector<float>& storage, T* out) {
  if constexpr (kIs16Bit<T>) {
    ParallelFor(pool, static_cast<int64_t>(storage.size()), 1, [&](int64_t begin, int64_t end) {
      NarrowFromFloat(storage.data() + begin, out + begin, end - begin);
    });
  }
}

}  // namespace jsdl
