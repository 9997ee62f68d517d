// CPU XLA FFI handler for jsdl_sddmm: the same operands and checks as the CUDA handler
// (sddmm_operands.h); each entry is a dot product of its lhs row and rhs row, row by row on the
// intra-op thread pool, float32 in the widest vectors the CPU runs (cpu_vector.h). 16-bit
// operands are widened as they are read (an lhs row once, as all its entries read it) and each
// dot product rounded (cpu_widen.h).
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../common/cpu_float.h"
#include "../common/cpu_parallel.h"
#include "../common/cpu_pattern.h"
#include "../common/cpu_vector.h"
#include "../common/cpu_widen.h"
#include "../cpu_handlers.h"
#include "sddmm_operands.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {
namespace {

// lhs . rhs over d, with partial sums that the compiler may keep in vector registers (one
// running sum is a dependent chain it may not reorder).
template <typename A>
A Dot(const A* lhs, const A* rhs, int64_t d) {
  constexpr int kPartials = 8;
  A partials[kPartials] = {};
  int64_t t = 0;
  for (; t + kPartials <= d; t += kPartials)
    for (int u = 0; u < kPartials; ++u) partials[u] += lhs[t + u] * rhs[t + u];
  A sum = 0;
  for (; t < d; ++t) sum += lhs[t] * rhs[t];
  for (int u = 0; u < kPartials; ++u) sum += partials[u];
  return sum;
}

// The same in float32, in two vectors V, from storage types L and R (float32, or 16-bit widened
// as it is read): always inlined, so that it takes its caller's instruction set (SddmmRows'
// copies).
template <typename V, typename L, typename R>
JSDL_ALWAYS_INLINE float DotVec(const L* lhs, const R* rhs, int64_t d) {
  constexpr int kStep = 2 * kLanes<V>;
  V lanes0 = {}, lanes1 = {};
  int64_t t = 0;
  for (; t + kStep <= d; t += kStep) {
    lanes0 += LoadFloats<V>(lhs + t) * LoadFloats<V>(rhs + t);
    lanes1 += LoadFloats<V>(lhs + t + kLanes<V>) * LoadFloats<V>(rhs + t + kLanes<V>);
  }
  Float4 rest = {};  // what is left in 16-byte steps (all of a short d in the wide copies)
  for (; t + kLanes<Float4> <= d; t += kLanes<Float4>) {
    rest += LoadFloats<Float4>(lhs + t) * LoadFloats<Float4>(rhs + t);
  }
  float sum = FoldToFloat(FoldToFloat4(lanes0 + lanes1, AddLanes{}) + rest, AddLanes{});
  for (; t < d; ++t) sum += ToAcc(lhs[t]) * ToAcc(rhs[t]);
  return sum;
}

// A call's operands and output, in their storage type T.
template <typename T>
struct SddmmData {
  const SddmmOperands& call;
  const T* lhs;
  const T* rhs;
  const int32_t* row_offsets;
  const int32_t* column_indices;
  T* out;
};

// Rows [begin, end) of the flattened (batch item, row) range: every entry of those rows;
// float32 dot products in vectors V, each rounded to T (void: Dot, for float64).
template <typename V, typename T>
JSDL_ALWAYS_INLINE void SddmmRows(const SddmmData<T>& data, int64_t begin, int64_t end) {
  const SddmmOperands& call = data.call;
  const int32_t* row_offsets = data.row_offsets;
  const int64_t d = call.d;
  std::vector<float> wide_lhs(kIs16Bit<T> ? d : 0);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t b = item / call.m, row = item % call.m;
    if (row_offsets[row] == row_offsets[row + 1]) continue;
    int64_t offset[2];  // lhs, rhs
    call.batch_map.Offsets(b, offset);
    const T* l = data.lhs + offset[0] + row * d;
    T* y = data.out + b * call.nnz;
    // A 16-bit lhs row, read by every entry of the row, is widened once into `wide_lhs`.
    if constexpr (kIs16Bit<T>) ConvertVectors<V>(l, wide_lhs.data(), d);
    for (int32_t j = row_offsets[row]; j < row_offsets[row + 1]; ++j) {
      const T* r = data.rhs + offset[1] + data.column_indices[j] * d;
      if constexpr (std::is_void_v<V>)
        y[j] = Dot(l, r, d);
      else if constexpr (kIs16Bit<T>)
        y[j] = FromAcc<T>(DotVec<V>(wide_lhs.data(), r, d));
      else
        y[j] = DotVec<V>(l, r, d);
    }
  }
}

// float32 row ranges in copies per instruction set, a whole range a call (session 35's AVX2 copy
// of the dot product alone, called per entry, ran 1.8x slower at d = 64).
#ifdef JSDL_CPU_X86
template <typename T>
JSDL_TARGET_AVX2 void SddmmRowsAvx2(const SddmmData<T>& data, int64_t begin, int64_t end) {
  SddmmRows<Float8>(data, begin, end);
}
template <typename T>
JSDL_TARGET_AVX512 void SddmmRowsAvx512(const SddmmData<T>& data, int64_t begin, int64_t end) {
  SddmmRows<Float16>(data, begin, end);
}
#endif

template <typename T>
void SddmmRowRange(const SddmmData<T>& data, int64_t begin, int64_t end, VectorLoops loops) {
  if constexpr (std::is_same_v<Acc<T>, float>) {
    switch (loops) {
#ifdef JSDL_CPU_X86
      case VectorLoops::kAvx512: return SddmmRowsAvx512(data, begin, end);
      case VectorLoops::kAvx2: return SddmmRowsAvx2(data, begin, end);
#endif
      default: return SddmmRows<Float4>(data, begin, end);
    }
  } else {
    SddmmRows<void>(data, begin, end);
  }
}

ffi::Error SddmmCpuImpl(ffi::ThreadPool pool, ffi::AnyBuffer lhs, ffi::AnyBuffer rhs,
                        ffi::AnyBuffer row_offsets, ffi::AnyBuffer column_indices,
                        ffi::AnyBuffer row_indices, ffi::AnyBuffer tile_offsets,
                        ffi::AnyBuffer tile_entries, ffi::AnyBuffer entry_rows,
                        ffi::Result<ffi::AnyBuffer> out,
                        bool /*tf32: the CPU sums in float32 at every precision*/) {
  SddmmOperands call;
  JSDL_RETURN_IF_ERROR(call.Check(lhs, rhs, row_offsets, column_indices, row_indices,
                                  tile_offsets, tile_entries, entry_rows, *out));
  if (call.batch == 0 || call.nnz == 0) return ffi::Error::Success();  // nothing to write
  const auto* offsets = static_cast<const int32_t*>(row_offsets.untyped_data());
  const auto* columns = static_cast<const int32_t*>(column_indices.untyped_data());
  JSDL_RETURN_IF_ERROR(CheckRowOffsets(SddmmOperands::kOp, offsets, call.m, call.nnz));
  JSDL_RETURN_IF_ERROR(CheckColumns(SddmmOperands::kOp, columns, call.nnz, call.k));

  return DispatchCpuFloat(out->element_type(), SddmmOperands::kOp, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t cost = (call.nnz / call.m + 1) * (call.d + 1);
    const VectorLoops loops = UsedVectorLoops().load(std::memory_order_relaxed);
    const SddmmData<T> data{call, static_cast<const T*>(lhs.untyped_data()),
                            static_cast<const T*>(rhs.untyped_data()), offsets, columns,
                            static_cast<T*>(out->untyped_data())};
    ParallelFor(pool, call.batch * call.m, cost, [&](int64_t begin, int64_t end) {
      SddmmRowRange(data, begin, end, loops);
    });
    return ffi::Error::Success();
  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlSddmmCpuFfi, jsdl::SddmmCpuImpl,
                              jsdl::SddmmBinding<xla::ffi::ThreadPool>().Attr<bool>("tf32"));
