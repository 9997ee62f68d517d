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

// Each output row's sums stay in registers: 8 float32 vectors V (fewer a walk over the row's
// entries cost more: 4 took 1.15x and 1 took 2x the time a column of 8). They are read from the
// dense rows in units U (cpu_widen.h: one vector, or a bfloat16 pair), kUnits at a time: the
// first kUnits - 1 from column c0 on, the last from column `last`; relu, then stored to the same
// columns.
template <typename U, int kUnits, typename V, typename T>
JSDL_ALWAYS_INLINE void SumUnits(const SpmmRow<T>& row, int64_t n, int64_t c0, int64_t last,
                                 bool relu) {
  // Every loop over the sums unrolled: one left rolled (GCC's choice for the 16-bit roundings)
  // indexes them at run time, and they were then kept in memory, stored at every entry.
  const int64_t last_offset = last - c0;
  V sums[kUnits * U::kParts];
#pragma GCC unroll 16
  for (V& s : sums) s = V{} + row.start;
  for (int32_t j = row.first; j < row.last; ++j) {
    const float value = ToAcc(row.values[j]);
    const T* x = row.dense + row.columns[j] * n + c0;
#pragma GCC unroll 16
    for (int u = 0; u < kUnits; ++u) {
      V parts[U::kParts];
      U::Load(x + (u + 1 < kUnits ? u * U::kColumns : last_offset), parts);
#pragma GCC unroll 2
      for (int p = 0; p < U::kParts; ++p) sums[u * U::kParts + p] += value * parts[p];
    }
  }
#pragma GCC unroll 16
  for (V& s : sums)
    if (relu) s = s < 0 ? V{} : s;  // NaN < 0 is false: NaN stays
#pragma GCC unroll 16
  for (int u = 0; u < kUnits; ++u)
    U::Store(row.out + (u + 1 < kUnits ? c0 + u * U::kColumns : last), sums[u * U::kParts],
             sums[u * U::kParts + U::kParts - 1]);
}

// The units per block: 8 vectors of sums.
template <typename U>
inline constexpr int kBlockUnits = 8 / U::kParts;

// The full blocks of a row; returns where the columns left over start.
template <typename U, typename V, typename T>
JSDL_ALWAYS_INLINE int64_t SumBlocks(const SpmmRow<T>& row, int64_t n, bool relu) {
  constexpr int64_t kWidth = kBlockUnits<U> * U::kColumns;
  int64_t c0 = 0;
  for (; c0 + kWidth <= n; c0 += kWidth)
    SumUnits<U, kBlockUnits<U>, V>(row, n, c0, c0 + kWidth - U::kColumns, relu);
  return c0;
}

// The row's last kUnits units, ending at column n (n >= kUnits * U::kColumns): the last unit
// starts at n - U::kColumns and so overlaps the one before (those columns get the same sums
// again), and no columns are left for narrower passes, which would walk the row's entries again
// for a few columns each.
template <typename U, int kUnits, typename V, typename T>
JSDL_ALWAYS_INLINE void SumTail(const SpmmRow<T>& row, int64_t n, bool relu) {
  constexpr int64_t kStep = U::kColumns;
  SumUnits<U, kUnits, V>(row, n, (n - 1) / kStep * kStep - (kUnits - 1) * kStep, n - kStep, relu);
}

// A row in full blocks (bfloat16 in pairs: Unit), then the 1-8 vectors left in one SumTail of
// single vectors (pairs there would read more columns twice: n = 40 in 2 pairs of 32, not 3
// vectors of 16; 1.2x slower at n = 40 in a first try). A
// row narrower than V goes to narrower vectors, down to Float4; returns the columns done (0 or n:
// rows under 4 columns are left to the scalar SumBlock).
template <typename V, typename T>
JSDL_ALWAYS_INLINE int64_t SumFloatRow(const SpmmRow<T>& row, int64_t n, bool relu) {
  using Single = Unit<V, T, false>;
  constexpr int64_t kStep = kLanes<V>;
  if (n < kStep) {
    if constexpr (sizeof(V) > sizeof(Float8)) {
      if (n >= kLanes<Float8>) return SumFloatRow<Float8>(row, n, relu);
    }
    if constexpr (sizeof(V) > sizeof(Float4)) return SumFloatRow<Float4>(row, n, relu);
    return 0;
  }
  const int64_t c0 = SumBlocks<Unit<V, T>, V>(row, n, relu);
  switch ((n - c0 + kStep - 1) / kStep) {
    case 0: break;
    case 1: SumTail<Single, 1, V>(row, n, relu); break;
    case 2: SumTail<Single, 2, V>(row, n, relu); break;
    case 3: SumTail<Single, 3, V>(row, n, relu); break;
    case 4: SumTail<Single, 4, V>(row, n, relu); break;
    case 5: SumTail<Single, 5, V>(row, n, relu); break;
    case 6: SumTail<Single, 6, V>(row, n, relu); break;
    case 7: SumTail<Single, 7, V>(row, n, relu); break;
    default: SumTail<Single, 8, V>(row, n, relu);
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
                       ffi::AnyBuffer entry_rows, ffi::Result<ffi::AnyBuffer> out,
                       bool has_bias, bool relu,
                       bool /*tf32: the CPU sums in float32 at every precision*/) {
  constexpr const char* kOp = SpmmOperands::kOp;
  SpmmOperands call;
  JSDL_RETURN_IF_ERROR(call.Check(values, dense, bias, row_offsets, column_indices, row_indices,
                                  tile_offsets, tile_entries, entry_rows, *out, has_bias));
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
