// The checks of a jsdl_sddmm call's operands, shared by the CUDA and the CPU handler: shapes,
// dtypes, the pattern arrays' lengths and the batch broadcasting map.
#pragma once

#include <cstdint>
#include <string>

#include "../common/batch_map.cuh"
#include "../common/ffi_checks.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {

struct SddmmOperands {
  static constexpr const char* kOp = "jsdl_sddmm";
  int64_t m = 0, k = 0, d = 0, nnz = 0;
  int64_t batch = 0;      // product of the output batch dims
  bool indexed = false;   // whether the pattern has its tile index
  BatchMap<2> batch_map;  // lhs, rhs

  ffi::Error Check(const ffi::AnyBuffer& lhs, const ffi::AnyBuffer& rhs,
                   const ffi::AnyBuffer& row_offsets, const ffi::AnyBuffer& column_indices,
                   const ffi::AnyBuffer& row_indices, const ffi::AnyBuffer& tile_offsets,
                   const ffi::AnyBuffer& tile_entries, const ffi::AnyBuffer& entry_rows,
                   const ffi::AnyBuffer& out) {
    const auto out_dims = out.dimensions();
    if (out_dims.size() < 1) return ShapeError(kOp, "out", out, "rank >= 1 (*batch, nnz)");
    const size_t batch_rank = out_dims.size() - 1;
    nnz = out_dims[batch_rank];
    const ffi::DataType dtype = out.element_type();
    JSDL_RETURN_IF_ERROR(CheckFloatDtype(kOp, "out", out));

    JSDL_RETURN_IF_ERROR(CheckRank(kOp, "lhs", lhs, batch_rank + 2,
                                   "(*batch, m, d) with the output's batch rank"));
    JSDL_RETURN_IF_ERROR(CheckRank(kOp, "rhs", rhs, batch_rank + 2,
                                   "(*batch, k, d) with the output's batch rank"));
    JSDL_RETURN_IF_ERROR(CheckDtype(kOp, "lhs", lhs, dtype));
    JSDL_RETURN_IF_ERROR(CheckDtype(kOp, "rhs", rhs, dtype));
    m = lhs.dimensions()[batch_rank];
    d = lhs.dimensions()[batch_rank + 1];
    k = rhs.dimensions()[batch_rank];
    if (rhs.dimensions()[batch_rank + 1] != d)
      return ShapeError(kOp, "rhs", rhs, "last dim d = " + std::to_string(d) + " (from lhs)");
    JSDL_RETURN_IF_ERROR(CheckPatternArrays(kOp, row_offsets, column_indices, row_indices,
                                            tile_offsets, tile_entries, entry_rows, m, k, nnz,
                                            indexed));
    if (nnz > 0 && (m == 0 || k == 0))  // no row (column) for an entry's lhs (rhs) read
      return ShapeError(kOp, "column_indices", column_indices,
                        "no entries for an empty lhs or rhs");

    const BatchOperand operands[2] = {{"lhs", lhs.dimensions(), m * d},
                                      {"rhs", rhs.dimensions(), k * d}};
    JSDL_RETURN_IF_ERROR(MakeBatchMap(kOp, out_dims.begin(), static_cast<int>(batch_rank),
                                      operands, batch_map));
    batch = Product(out_dims, batch_rank);
    return ffi::Error::Success();
  }
};

// The FFI binding of jsdl_sddmm up to its output, the same on both platforms but for the context
// (PlatformStream on CUDA, ThreadPool on CPU). Both add the attribute tf32.
template <typename PlatformContext>
auto SddmmBinding() {
  return WithPatternArgs(ffi::Ffi::Bind()
                             .Ctx<PlatformContext>()
                             .template Arg<ffi::AnyBuffer>()  // lhs
                             .template Arg<ffi::AnyBuffer>())  // rhs
      .template Ret<ffi::AnyBuffer>();  // out
}

}  // namespace jsdl
