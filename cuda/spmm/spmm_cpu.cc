// CPU XLA FFI handler for jsdl_spmm: the same operands and checks as the CUDA handler
// (spmm_operands.h). Each output row is a sum of the dense rows its entries select, taken in
// blocks of columns whose sums stay in registers; rows go to the intra-op thread pool. 16-bit
// operands are widened to float32 as they are read, and the sums rounded as they are stored
// (cpu_widen.h).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "../common/cpu_float.h"
#include "../common/cpu_parallel.h"
#include "../common/cpu_pattern.h"
#include "../common/cpu_vector.h"
#include "../common/cpu_widen.h"
#include "../cpu_handlers.h"
#include "spmm_operands.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {
namespace {

constexpr int kMaxBlock = 64;  // columns summed at once

// One output row's pointers and its entries [first, last), in storage type T (16-bit values
// are widened as they are read, and the sums rounded as they are written).
template <typename T>
struct SpmmRow {
  const T* values;  // the row's batch item of A's values
  const T* dense;   // the row's batch item of the dense operand
  const int32_t* columns;
  int32_t first, last;
  Acc<T> start;  // the bias, or 0
  T* out;
};

// Columns [c0, c0 + width) of a row, width <= kMaxBlock.
template <typename T>
void SumBlock(const SpmmRow<T>& row, int64_t n, int64_t c0, int64_t width, bool relu) {
  using A = Acc<T>;
  A sums[kMaxBlock];
  for (int64_t c = 0; c < width; ++c) sums[c] = row.start;
  for (int32_t j = row.first; j < row.last; ++j) {
    const A value = ToAcc(row.values[j]);
    const T* x = row.dense + row.columns[j] * n + c0;
    for (int64_t c = 0; c < width; ++c) sums[c] += value * ToAcc(x[c]);
  }
  for (int64_t c = 0; c < width; ++c)  // NaN stays NaN through relu, as in jnp.maximum
    row.out[c0 + c] = FromAcc<T>(relu && sums[c] < A(0) ? A(0) : sums[c]);
}

// The full blocks of 8 float32 vectors V of a row, their sums in registers (T: float32, or 16-bit
// widened as it is read); returns where the columns left over start.
template <typename V, typename T>
JSDL_ALWAYS_INLINE int64_t SumFloatBlocks(const SpmmRow<T>& row, int64_t n, bool relu) {
  constexpr int kVectors = 8;
  constexpr int64_t kWidth = kVectors * kLanes<V>;
  int64_t c0 = 0;
  for (; c0 + kWidth <= n; c0 += kWidth) {
    V sums[kVectors];
    for (V& s : sums) s = V{} + row.start;
    for (int32_t j = row.first; j < row.last; ++j) {
      const float value = ToAcc(row.values[j]);
      const T* x = row.dense + row.columns[j] * n + c0;
      for (int v = 0; v < kVectors; ++v) sums[v] += value * LoadFloats<V>(x + v * kLanes<V>);
    }
    for (int v = 0; v < kVectors; ++v) {
      if (relu) sums[v] = sums[v] < 0 ? V{} : sums[v];  // NaN < 0 is false: NaN stays
      StoreFloats<V>(row.out + c0 + v * kLanes<V>, sums[v]);
    }
  }
  return c0;
}

// The row's last kVectors vectors V, ending at column n (n >= kVectors * lanes): the last vector
// starts at n - lanes and so overlaps the one before (those lanes get the same sums again), and
// no columns are left for narrower passes, which would walk the row's entries again for a few
// columns each.
template <typename V, int kVectors, typename T>
JSDL_ALWAYS_INLINE void SumFloatTail(const SpmmRow<T>& row, int64_t n, bool relu) {
  constexpr int64_t kStep = kLanes<V>;
  const int64_t c0 = (n - 1) / kStep * kStep - (kVectors - 1) * kStep, last = n - kStep;
  V sums[kVectors];
  for (V& s : sums) s = V{} + row.start;
  for (int32_t j = row.first; j < row.last; ++j) {
    const float value = ToAcc(row.values[j]);
    const T* x = row.dense + row.columns[j] * n;
    for (int v = 0; v + 1 < kVectors; ++v) sums[v] += value * LoadFloats<V>(x + c0 + v * kStep);
    sums[kVectors - 1] += value * LoadFloats<V>(x + last);
  }
  for (int v = 0; v < kVectors; ++v) {
    if (relu) sums[v] = sums[v] < 0 ? V{} : sums[v];  // NaN < 0 is false: NaN stays
    StoreFloats<V>(row.out + (v + 1 < kVectors ? c0 + v * kStep : last), sums[v]);
  }
}

// A row in blocks of 8 vectors V (fewer vectors a block walk the entries more often: 4 took
// 1.15x and 1 took 2x the time a column of 8), then the 1-8 vectors left in one SumFloatTail.
// A row narrower than V goes to narrower vectors, down to Float4; returns the columns done (0 or
// n: rows under 4 columns are left to the scalar SumBlock).
template <typename V, typename T>
JSDL_ALWAYS_INLINE int64_t SumFloatRow(const SpmmRow<T>& row, int64_t n, bool relu) {
  constexpr int64_t kStep = kLanes<V>;
  if (n < kStep) {
    if constexpr (sizeof(V) > sizeof(Float8)) {
      if (n >= kLanes<Float8>) return SumFloatRow<Float8>(row, n, relu);
    }
    if constexpr (sizeof(V) > sizeof(Float4)) return SumFloatRow<Float4>(row, n, relu);
    return 0;
  }
  const int64_t c0 = SumFloatBlocks<V>(row, n, relu);
  switch ((n - c0 + kStep - 1) / kStep) {
    case 0: break;
    case 1: SumFloatTail<V, 1>(row, n, relu); break;
    case 2: SumFloatTail<V, 2>(row, n, relu); break;
    case 3: SumFloatTail<V, 3>(row, n, relu); break;
    case 4: SumFloatTail<V, 4>(row, n, relu); break;
    case 5: SumFloatTail<V, 5>(row, n, relu); break;
    case 6: SumFloatTail<V, 6>(row, n, relu); break;
    case 7: SumFloatTail<V, 7>(row, n, relu); break;
    default: SumFloatTail<V, 8>(row, n, relu);
  }
  return n;
}

#ifdef JSDL_CPU_X86
template <typename T>
JSDL_TARGET_AVX2 int64_t SumFloatRowAvx2(const SpmmRow<T>& row, int64_t n, bool relu) {
  return SumFloatRow<Float8>(row, n, relu);
}
template <typename T>
JSDL_TARGET_AVX512 int64_t SumFloatRowAvx512(const SpmmRow<T>& row, int64_t n, bool relu) {
  return SumFloatRow<Float16>(row, n, relu);
}
#endif

template <typename T>
void SumRow(const SpmmRow<T>& row, int64_t n, bool relu, VectorLoops loops) {
  int64_t c0 = 0;
  if constexpr (std::is_same_v<Acc<T>, float>) {
    switch (loops) {
#ifdef JSDL_CPU_X86
      case VectorLoops::kAvx512: c0 = SumFloatRowAvx512(row, n, relu); break;
      case VectorLoops::kAvx2: c0 = SumFloatRowAvx2(row, n, relu); break;
#endif
      default: c0 = SumFloatRow<Float4>(row, n, relu);
    }
  }
  for (; c0 < n; c0 += kMaxBlock) SumBlock(row, n, c0, std::min<int64_t>(kMaxBlock, n - c0), relu);
}

ffi::Error SpmmCpuImpl(ffi::ThreadPool pool, ffi::AnyBuffer values, ffi::AnyBuffer dense,
                       ffi::AnyBuffer bias, ffi::AnyBuffer row_offsets,
                       ffi::AnyBuffer column_indices, ffi::AnyBuffer row_indices,
                       ffi::AnyBuffer tile_offsets, ffi::AnyBuffer tile_entries,
                       ffi::Result<ffi::AnyBuffer> out, bool has_bias, bool relu,
                       bool /*tf32: the CPU sums in float32 at every precision*/) {
  constexpr const char* kOp = SpmmOperands::kOp;
  SpmmOperands call;
  JSDL_RETURN_IF_ERROR(call.Check(values, dense, bias, row_offsets, column_indices, row_indices,
                                  tile_offsets, tile_entries, *out, has_bias));
  if (call.batch == 0 || call.m == 0 || call.n == 0) return ffi::Error::Success();
  const auto* offsets = static_cast<const int32_t*>(row_offsets.untyped_data());
  const auto* columns = static_cast<const int32_t*>(column_indices.untyped_data());
  JSDL_RETURN_IF_ERROR(CheckRowOffsets(kOp, offsets, call.m, call.nnz));
  JSDL_RETURN_IF_ERROR(CheckColumns(kOp, columns, call.nnz, call.k));

  return DispatchCpuFloat(out->element_type(), kOp, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* values_data = static_cast<const T*>(values.untyped_data());
    const T* dense_data = static_cast<const T*>(dense.untyped_data());
    const T* bias_data = static_cast<const T*>(bias.untyped_data());
    T* out_data = static_cast<T*>(out->untyped_data());
    const VectorLoops loops = UsedVectorLoops().load(std::memory_order_relaxed);
    // A row costs its entries times n multiply-adds, plus writing n outputs.
    const int64_t cost = (call.nnz / call.m + 1) * call.n;
    ParallelFor(pool, call.batch * call.m, cost, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t b = item / call.m, i = item % call.m;
        int64_t offset[3];  // values, dense, bias
        call.batch_map.Offsets(b, offset);
        const SpmmRow<T> row{values_data + offset[0], dense_data + offset[1], columns,
                             offsets[i], offsets[i + 1],
                             has_bias ? ToAcc(bias_data[offset[2] + i]) : Acc<T>(0),
                             out_data + item * call.n};
        SumRow(row, call.n, relu, loops);
      }
    });
    return ffi::Error::Success();
  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlSpmmCpuFfi, jsdl::SpmmCpuImpl,
                              jsdl::SpmmBinding<xla::ffi::ThreadPool>()
                                  .Attr<bool>("has_bias")
                                  .Attr<bool>("relu")
                                  .Attr<bool>("tf32"));
