// The checks of a row operation's operands (jsdl_csr_softmax and its backward), shared by the
// CUDA and the CPU handlers: shapes, dtypes, the pattern arrays and the batch broadcasting map.
#pragma once

#include <cstdint>
#include <string>

#include "../common/batch_map.cuh"
#include "../common/ffi_checks.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {

inline constexpr const char* kSoftmaxOp = "jsdl_csr_softmax";
inline constexpr const char* kGradOp = "jsdl_csr_softmax_grad";

struct RowShape {
  int64_t m, nnz, batch;
  size_t batch_rank;
};

// Validates out (*b, nnz), the float inputs (*b_i, nnz) and the pattern
// arrays, and builds the batch map of the inputs.
template <int kNumInputs>
inline ffi::Error CheckRowOp(const char* op, const ffi::AnyBuffer (&inputs)[kNumInputs],
                             const char* const (&names)[kNumInputs],
                             const ffi::AnyBuffer& row_offsets,
                             const ffi::AnyBuffer& row_indices, const ffi::AnyBuffer& out,
                             RowShape& shape, BatchMap<kNumInputs>& batch_map) {
  const auto out_dims = out.dimensions();
  JSDL_RETURN_IF_ERROR(CheckFloatDtype(op, "out", out));
  if (out_dims.size() < 1) return ShapeError(op, "out", out, "rank >= 1 (*batch, nnz)");
  shape.batch_rank = out_dims.size() - 1;
  shape.nnz = out_dims[shape.batch_rank];
  BatchOperand operands[kNumInputs];
  for (int i = 0; i < kNumInputs; ++i) {
    JSDL_RETURN_IF_ERROR(CheckRank(op, names[i], inputs[i], shape.batch_rank + 1,
                                   "(*batch, nnz) with the output's batch rank"));
    JSDL_RETURN_IF_ERROR(CheckDtype(op, names[i], inputs[i], out.element_type()));
    if (inputs[i].dimensions()[shape.batch_rank] != shape.nnz)
      return ShapeError(op, names[i], inputs[i],
                        "last dim nnz = " + std::to_string(shape.nnz) + " (from out)");
    operands[i] = {names[i], inputs[i].dimensions(), shape.nnz};
  }
  int64_t offsets_length = 0;
  JSDL_RETURN_IF_ERROR(
      CheckIndexArray(op, "row_offsets", row_offsets, -1, &offsets_length));
  if (offsets_length < 1)
    return ShapeError(op, "row_offsets", row_offsets, "(m + 1,) with m >= 0");
  shape.m = offsets_length - 1;
  JSDL_RETURN_IF_ERROR(CheckIndexArray(op, "row_indices", row_indices, shape.m));
  JSDL_RETURN_IF_ERROR(CheckInt32Range(op, "nnz", shape.nnz));
  JSDL_RETURN_IF_ERROR(MakeBatchMap(op, out_dims.begin(),
                                    static_cast<int>(shape.batch_rank), operands,
                                    batch_map));
  shape.batch = Product(out_dims, shape.batch_rank);
  return ffi::Error::Success();
}

// The FFI bindings of jsdl_csr_softmax (values) and jsdl_csr_softmax_grad (probs, grad): the
// float inputs, row_offsets and row_indices, then the output; the same on both platforms but for
// the context (PlatformStream on CUDA, ThreadPool on CPU).
template <typename PlatformContext>
auto CsrSoftmaxBinding() {
  return ffi::Ffi::Bind()
      .Ctx<PlatformContext>()
      .template Arg<ffi::AnyBuffer>()  // values
      .template Arg<ffi::AnyBuffer>()  // row_offsets
      .template Arg<ffi::AnyBuffer>()  // row_indices
      .template Ret<ffi::AnyBuffer>();  // out
}

template <typename PlatformContext>
auto CsrSoftmaxGradBinding() {
  return ffi::Ffi::Bind()
      .Ctx<PlatformContext>()
      .template Arg<ffi::AnyBuffer>()  // probs
      .template Arg<ffi::AnyBuffer>()  // grad
      .template Arg<ffi::AnyBuffer>()  // row_offsets
      .template Arg<ffi::AnyBuffer>()  // row_indices
      .template Ret<ffi::AnyBuffer>();  // out
}

}  // namespace jsdl
