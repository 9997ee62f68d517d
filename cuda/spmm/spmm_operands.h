// The checks of a jsdl_spmm call's operands, shared by the CUDA and the CPU handler: shapes,
// dtypes, the pattern arrays' lengths and the batch broadcasting map.
#pragma once

#include <cstdint>
#include <string>

#include "../common/batch_map.cuh"
#include "../common/ffi_checks.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {

struct SpmmOperands {
  static constexpr const char* kOp = "jsdl_spmm";
  int64_t m = 0, k = 0, n = 0, nnz = 0;
  int64_t batch = 0;         // product of the output batch dims
  int64_t values_batch = 0;  // product of the values' batch dims
  bool indexed = false;      // whether the pattern has its tile index
  BatchMap<3> batch_map;     // values, dense, bias

  ffi::Error Check(const ffi::AnyBuffer& values, const ffi::AnyBuffer& dense,
                   const ffi::AnyBuffer& bias, const ffi::AnyBuffer& row_offsets,
                   const ffi::AnyBuffer& column_indices, const ffi::AnyBuffer& row_indices,
                   const ffi::AnyBuffer& tile_offsets, const ffi::AnyBuffer& tile_entries,
                   const ffi::AnyBuffer& entry_rows, const ffi::AnyBuffer& out, bool has_bias) {
    const auto out_dims = out.dimensions();
    if (out_dims.size() < 2)
      return ShapeError(kOp, "out", out, "rank >= 2 (*batch, m, n)");
    const size_t batch_rank = out_dims.size() - 2;
    m = out_dims[batch_rank];
    n = out_dims[batch_rank + 1];
    const ffi::DataType dtype = out.element_type();
    JSDL_RETURN_IF_ERROR(CheckFloatDtype(kOp, "out", out));

    JSDL_RETURN_IF_ERROR(CheckRank(kOp, "values", values, batch_rank + 1,
                                   "(*batch, nnz) with the output's batch rank"));
    JSDL_RETURN_IF_ERROR(CheckRank(kOp, "dense", dense, batch_rank + 2,
                                   "(*batch, k, n) with the output's batch rank"));
    JSDL_RETURN_IF_ERROR(CheckDtype(kOp, "values", values, dtype));
    JSDL_RETURN_IF_ERROR(CheckDtype(kOp, "dense", dense, dtype));
    nnz = values.dimensions()[batch_rank];
    k = dense.dimensions()[batch_rank];
    if (dense.dimensions()[batch_rank + 1] != n)
      return ShapeError(kOp, "dense", dense, "last dim n = " + std::to_string(n) + " (from out)");
    JSDL_RETURN_IF_ERROR(CheckPatternArrays(kOp, row_offsets, column_indices, row_indices,
                                            tile_offsets, tile_entries, entry_rows, m, k, nnz,
                                            indexed));
    if (has_bias) {
      JSDL_RETURN_IF_ERROR(CheckRank(kOp, "bias", bias, batch_rank + 1,
                                     "(*batch, m) with the output's batch rank"));
      JSDL_RETURN_IF_ERROR(CheckDtype(kOp, "bias", bias, dtype));
      if (bias.dimensions()[batch_rank] != m)
        return ShapeError(kOp, "bias", bias, "last dim m = " + std::to_string(m) + " (from out)");
    } else if (bias.element_count() != 0) {
      return ShapeError(kOp, "bias", bias, "(0,) since has_bias is false");
    }

    // Without a bias its map entry takes the output's batch dims: never read,
    // and a contiguous full-size operand never prevents merging dims.
    const BatchOperand operands[3] = {{"values", values.dimensions(), nnz},
                                      {"dense", dense.dimensions(), k * n},
                                      {"bias", has_bias ? bias.dimensions() : out_dims, m}};
    JSDL_RETURN_IF_ERROR(MakeBatchMap(kOp, out_dims.begin(), static_cast<int>(batch_rank),
                                      operands, batch_map));
    batch = Product(out_dims, batch_rank);
    values_batch = Product(values.dimensions(), batch_rank);
    return ffi::Error::Success();
  }
};

// The FFI binding of jsdl_spmm up to its output, the same on both platforms but for the context
// (PlatformStream on CUDA, ThreadPool on CPU). The CUDA handler adds its work buffer as a
// second result; then both add the attributes has_bias, relu and tf32.
template <typename PlatformContext>
auto SpmmBinding() {
  return WithPatternArgs(ffi::Ffi::Bind()
                             .Ctx<PlatformContext>()
                             .template Arg<ffi::AnyBuffer>()  // values
                             .template Arg<ffi::AnyBuffer>()  // dense
                             .template Arg<ffi::AnyBuffer>())  // bias
      .template Ret<ffi::AnyBuffer>();  // out
}

}  // namespace jsdl
