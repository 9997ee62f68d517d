// CPU XLA FFI handlers for jsdl_csr_softmax and its backward: the same operands and checks as
// the CUDA handlers (csr_softmax_operands.h), row by row on the intra-op thread pool.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../common/cpu_float.h"
#include "../common/cpu_parallel.h"
#include "../common/cpu_pattern.h"
#include "../cpu_handlers.h"
#include "csr_softmax_operands.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {
namespace {

// Checks, then calls row(in, out, first, last) for the entries [first, last) of every row of
// every batch item, with the inputs' pointers at that item.
template <int kNumInputs, typename Row>
ffi::Error RunCpuRowOp(const char* op, ffi::ThreadPool& pool,
                       const ffi::AnyBuffer (&inputs)[kNumInputs],
                       const char* const (&names)[kNumInputs], ffi::AnyBuffer row_offsets,
                       ffi::AnyBuffer row_indices, ffi::Result<ffi::AnyBuffer> out, Row row) {
  RowShape shape;
  BatchMap<kNumInputs> batch_map;
  JSDL_RETURN_IF_ERROR(CheckRowOp(op, inputs, names, row_offsets, row_indices, *out, shape,
                                  batch_map));
  if (shape.batch == 0 || shape.nnz == 0 || shape.m == 0) return ffi::Error::Success();
  const auto* offsets = static_cast<const int32_t*>(row_offsets.untyped_data());
  JSDL_RETURN_IF_ERROR(CheckRowOffsets(op, offsets, shape.m, shape.nnz));

  return DispatchCpuFloat(out->element_type(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t cost = 4 * (shape.nnz / shape.m + 1);
    ParallelFor(pool, shape.batch * shape.m, cost, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t b = item / shape.m, i = item % shape.m;
        int64_t offset[kNumInputs];
        batch_map.Offsets(b, offset);
        const T* in[kNumInputs];
        for (int a = 0; a < kNumInputs; ++a)
          in[a] = static_cast<const T*>(inputs[a].untyped_data()) + offset[a];
        row(in, static_cast<T*>(out->untyped_data()) + b * shape.nnz, offsets[i],
            offsets[i + 1]);
      }
    });
    return ffi::Error::Success();
  });
}

ffi::Error CsrSoftmaxCpuImpl(ffi::ThreadPool pool, ffi::AnyBuffer values,
                             ffi::AnyBuffer row_offsets, ffi::AnyBuffer row_indices,
                             ffi::Result<ffi::AnyBuffer> out) {
  const ffi::AnyBuffer inputs[1] = {values};
  const char* const names[1] = {"values"};
  return RunCpuRowOp(kSoftmaxOp, pool, inputs, names, row_offsets, row_indices, out,
                     [](const auto (&in)[1], auto* y, int32_t first, int32_t last) {
    using T = std::remove_pointer_t<decltype(y)>;
    using A = Acc<T>;
    A top = -std::numeric_limits<A>::infinity();
    for (int32_t j = first; j < last; ++j) top = std::max(top, ToAcc(in[0][j]));
    A sum = 0;
    if constexpr (std::is_same_v<T, A>) {  // the exponentials kept in y: one exp an entry
      for (int32_t j = first; j < last; ++j) sum += y[j] = std::exp(in[0][j] - top);
      for (int32_t j = first; j < last; ++j) y[j] /= sum;
    } else {  // 16-bit y would round them: computed twice instead
      for (int32_t j = first; j < last; ++j) sum += std::exp(ToAcc(in[0][j]) - top);
      for (int32_t j = first; j < last; ++j)
        y[j] = FromAcc<T>(std::exp(ToAcc(in[0][j]) - top) / sum);
    }
  });
}

ffi::Error CsrSoftmaxGradCpuImpl(ffi::ThreadPool pool, ffi::AnyBuffer probs, ffi::AnyBuffer grad,
                                 ffi::AnyBuffer row_offsets, ffi::AnyBuffer row_indices,
                                 ffi::Result<ffi::AnyBuffer> out) {
  const ffi::AnyBuffer inputs[2] = {probs, grad};
  const char* const names[2] = {"probs", "grad"};
  return RunCpuRowOp(kGradOp, pool, inputs, names, row_offsets, row_indices, out,
                     [](const auto (&in)[2], auto* y, int32_t first, int32_t last) {
    using T = std::remove_pointer_t<decltype(y)>;
    using A = Acc<T>;
    A dot = 0;  // rowsum(probs * grad)
    for (int32_t j = first; j < last; ++j) dot += ToAcc(in[0][j]) * ToAcc(in[1][j]);
    for (int32_t j = first; j < last; ++j)
      y[j] = FromAcc<T>(ToAcc(in[0][j]) * (ToAcc(in[1][j]) - dot));
  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCsrSoftmaxCpuFfi, jsdl::CsrSoftmaxCpuImpl,
                              jsdl::CsrSoftmaxBinding<xla::ffi::ThreadPool>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCsrSoftmaxGradCpuFfi, jsdl::CsrSoftmaxGradCpuImpl,
                              jsdl::CsrSoftmaxGradBinding<xla::ffi::ThreadPool>());
