// XLA FFI handlers for jsdl_csr_softmax and jsdl_csr_softmax_grad (see
// docs/architecture.md, "FFI targets").
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "../common/batch_map.cuh"
#include "../common/cuda_check.h"
#include "../common/dtype.cuh"
#include "../common/ffi_checks.h"
#include "../common/warp.cuh"
#include "../handlers.h"
#include "csr_softmax_kernel.cuh"
#include "csr_softmax_operands.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {
namespace {

dim3 RowGrid(const RowShape& shape) {
  constexpr int kWarps = CsrSoftmaxConfig::kWarpsPerBlock;
  return dim3(static_cast<unsigned>((shape.m + kWarps - 1) / kWarps), 1,
              CappedGridDim(shape.batch));
}

const dim3 kRowBlock(32, CsrSoftmaxConfig::kWarpsPerBlock);

// Checks, then launches `launch(args)` with CsrSoftmaxArgs<T, kNumInputs> for the dtype.
template <int kNumInputs, typename Launch>
ffi::Error RunRowOp(const char* op, cudaStream_t stream,
                    const ffi::AnyBuffer (&inputs)[kNumInputs],
                    const char* const (&names)[kNumInputs], ffi::AnyBuffer row_offsets,
                    ffi::AnyBuffer row_indices, ffi::Result<ffi::AnyBuffer> out,
                    Launch launch) {
  RowShape shape;
  BatchMap<kNumInputs> batch_map;
  JSDL_RETURN_IF_ERROR(CheckRowOp(op, inputs, names, row_offsets, row_indices, *out,
                                  shape, batch_map));
  // Empty rows own no entries, so every output entry is written by some row.
  if (shape.batch == 0 || shape.nnz == 0 || shape.m == 0) return ffi::Error::Success();

  return DispatchFloat(out->element_type(), op, [&](auto tag) -> ffi::Error {
    using T = typename decltype(tag)::type;
    CsrSoftmaxArgs<T, kNumInputs> args{};
    for (int i = 0; i < kNumInputs; ++i)
      args.in[i] = reinterpret_cast<const T*>(inputs[i].untyped_data());
    args.row_offsets = reinterpret_cast<const int32_t*>(row_offsets.untyped_data());
    args.row_indices = reinterpret_cast<const int32_t*>(row_indices.untyped_data());
    args.out = reinterpret_cast<T*>(out->untyped_data());
    args.m = shape.m;
    args.nnz = shape.nnz;
    args.batch = shape.batch;
    args.batch_map = batch_map;
    return launch(args, RowGrid(shape), stream);
  });
}

ffi::Error CsrSoftmaxImpl(cudaStream_t stream, ffi::AnyBuffer values,
                          ffi::AnyBuffer row_offsets, ffi::AnyBuffer row_indices,
                          ffi::Result<ffi::AnyBuffer> out) {
  const ffi::AnyBuffer inputs[1] = {values};
  const char* const names[1] = {"values"};
  return RunRowOp(kSoftmaxOp, stream, inputs, names, row_offsets, row_indices, out,
                  [](auto& args, dim3 grid, cudaStream_t stream) -> ffi::Error {
                    using T = std::remove_const_t<std::remove_pointer_t<decltype(args.out)>>;
                    CsrSoftmaxKernel<T><<<grid, kRowBlock, 0, stream>>>(args);
                    JSDL_CHECK_LAUNCH("CsrSoftmaxKernel");
                    return ffi::Error::Success();
                  });
}

ffi::Error CsrSoftmaxGradImpl(cudaStream_t stream, ffi::AnyBuffer probs,
                              ffi::AnyBuffer grad, ffi::AnyBuffer row_offsets,
                              ffi::AnyBuffer row_indices,
                              ffi::Result<ffi::AnyBuffer> out) {
  const ffi::AnyBuffer inputs[2] = {probs, grad};
  const char* const names[2] = {"probs", "grad"};
  return RunRowOp(kGradOp, stream, inputs, names, row_offsets, row_indices, out,
                  [](auto& args, dim3 grid, cudaStream_t stream) -> ffi::Error {
                    using T = std::remove_const_t<std::remove_pointer_t<decltype(args.out)>>;
                    CsrSoftmaxGradKernel<T><<<grid, kRowBlock, 0, stream>>>(args);
                    JSDL_CHECK_LAUNCH("CsrSoftmaxGradKernel");
                    return ffi::Error::Success();
                  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCsrSoftmaxFfi, jsdl::CsrSoftmaxImpl,
                              jsdl::CsrSoftmaxBinding<xla::ffi::PlatformStream<cudaStream_t>>(),
                              {xla::ffi::Traits::kCmdBufferCompatible});

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCsrSoftmaxGradFfi, jsdl::CsrSoftmaxGradImpl,
                              jsdl::CsrSoftmaxGradBinding<xla::ffi::PlatformStream<cudaStream_t>>(),
                              {xla::ffi::Traits::kCmdBufferCompatible});
