// CPU XLA FFI handler for jsdl_sddmm: the same operands and checks as the CUDA handler
// (sddmm_operands.h); each entry is a dot product of its lhs row and rhs row, row by row on the
// intra-op thread pool. 16-bit operands are widened to float32 once a call (cpu_widen.h).
#include <cstdint>
#include <cstring>
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

// The same for float32, in two 16-byte vectors. (A copy built for AVX2 ran slower at d = 64:
// a call into AVX2 code per dot product cost more than its wider vectors saved.)
float Dot(const float* lhs, const float* rhs, int64_t d) {
  constexpr int kStep = 2 * kLanes<Float4>;
  Float4 lanes0 = {}, lanes1 = {};
  int64_t t = 0;
  for (; t + kStep <= d; t += kStep) {
    Float4 l0, r0, l1, r1;
    std::memcpy(&l0, lhs + t, sizeof l0);
    std::memcpy(&r0, rhs + t, sizeof r0);
    std::memcpy(&l1, lhs + t + kLanes<Float4>, sizeof l1);
    std::memcpy(&r1, rhs + t + kLanes<Float4>, sizeof r1);
    lanes0 += l0 * r0;
    lanes1 += l1 * r1;
  }
  const Float4 both = lanes0 + lanes1;
  float sum = (both[0] + both[1]) + (both[2] + both[3]);
  for (; t < d; ++t) sum += lhs[t] * rhs[t];
  return sum;
}

// Rows [begin, end) of the flattened (batch item, row) range: every entry of those rows, in W
// (float32 or float64).
template <typename W>
void SddmmRows(const SddmmOperands& call, const W* lhs, const W* rhs,
               const int32_t* row_offsets, const int32_t* column_indices, W* out,
               int64_t begin, int64_t end) {
  const int64_t d = call.d;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t b = item / call.m, row = item % call.m;
    if (row_offsets[row] == row_offsets[row + 1]) continue;
    int64_t offset[2];  // lhs, rhs
    call.batch_map.Offsets(b, offset);
    const W* l = lhs + offset[0] + row * d;
    W* y = out + b * call.nnz;
    for (int32_t j = row_offsets[row]; j < row_offsets[row + 1]; ++j)
      y[j] = Dot(l, rhs + offset[1] + column_indices[j] * d, d);
  }
}

ffi::Error SddmmCpuImpl(ffi::ThreadPool pool, ffi::AnyBuffer lhs, ffi::AnyBuffer rhs,
                        ffi::AnyBuffer row_offsets, ffi::AnyBuffer column_indices,
                        ffi::AnyBuffer row_indices, ffi::AnyBuffer tile_offsets,
                        ffi::AnyBuffer tile_entries, ffi::Result<ffi::AnyBuffer> out,
                        bool /*tf32: the CPU sums in float32 at every precision*/) {
  SddmmOperands call;
  JSDL_RETURN_IF_ERROR(call.Check(lhs, rhs, row_offsets, column_indices, row_indices,
                                  tile_offsets, tile_entries, *out));
  if (call.batch == 0 || call.nnz == 0) return ffi::Error::Success();  // nothing to write
  const auto* offsets = static_cast<const int32_t*>(row_offsets.untyped_data());
  const auto* columns = static_cast<const int32_t*>(column_indices.untyped_data());
  JSDL_RETURN_IF_ERROR(CheckRowOffsets(SddmmOperands::kOp, offsets, call.m, call.nnz));
  JSDL_RETURN_IF_ERROR(CheckColumns(SddmmOperands::kOp, columns, call.nnz, call.k));

  return DispatchCpuFloat(out->element_type(), SddmmOperands::kOp, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using W = Wide<T>;  // float32 for the 16-bit types
    std::vector<float> wide_lhs, wide_rhs, wide_out;
    const W* lhs_data = Widen(pool, static_cast<const T*>(lhs.untyped_data()),
                              lhs.element_count(), wide_lhs);
    const W* rhs_data = Widen(pool, static_cast<const T*>(rhs.untyped_data()),
                              rhs.element_count(), wide_rhs);
    T* out_data = static_cast<T*>(out->untyped_data());
    W* dots = WideResult(out_data, call.batch * call.nnz, wide_out);
    const int64_t cost = (call.nnz / call.m + 1) * (call.d + 1);
    ParallelFor(pool, call.batch * call.m, cost, [&](int64_t begin, int64_t end) {
      SddmmRows(call, lhs_data, rhs_data, offsets, columns, dots, begin, end);
    });
    NarrowInto(pool, wide_out, out_data);
    return ffi::Error::Success();
  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlSddmmCpuFfi, jsdl::SddmmCpuImpl,
                              jsdl::SddmmBinding<xla::ffi::ThreadPool>().Attr<bool>("tf32"));
