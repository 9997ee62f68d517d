// What the CPU handlers check of a pattern's data before they read through it (the CUDA kernels
// assume a valid pattern; CSR.validate() checks it in JAX). Reading out of bounds on the host
// would crash the process, so an invalid pattern is an error here; the checks read the pattern
// once (m + nnz integers), against the nnz x n or nnz x d work of the call.
#pragma once

#include <cstdint>
#include <string>

#include "xla/ffi/api/ffi.h"

namespace jsdl {

inline xla::ffi::Error InvalidPattern(const char* op, const std::string& what) {
  return xla::ffi::Error::InvalidArgument(std::string(op) + ": invalid sparsity pattern: " + what +
                                          " (CSR.validate() checks a pattern)");
}

// Offsets from 0 to nnz, never decreasing: every entry belongs to one row.
inline xla::ffi::Error CheckRowOffsets(const char* op, const int32_t* offsets, int64_t m,
                                       int64_t nnz) {
  if (offsets[0] != 0) return InvalidPattern(op, "row_offsets[0] is not 0");
  for (int64_t i = 0; i < m; ++i)
    if (offsets[i + 1] < offsets[i] || offsets[i + 1] > nnz)
      return InvalidPattern(op, "row_offsets[" + std::to_string(i + 1) + "] = " +
                                    std::to_string(offsets[i + 1]) +
                                    " is not within [row_offsets[" + std::to_string(i) +
                                    "], nnz = " + std::to_string(nnz) + "]");
  if (offsets[m] != nnz) return InvalidPattern(op, "row_offsets[m] is not nnz");
  return xla::ffi::Error::Success();
}

// Column indices in [0, columns).
inline xla::ffi::Error CheckColumns(const char* op, const int32_t* columns, int64_t nnz,
                                    int64_t count) {
  bool inside = true;
  for (int64_t j = 0; j < nnz; ++j) inside &= columns[j] >= 0 && columns[j] < count;
  if (inside) return xla::ffi::Error::Success();
  return InvalidPattern(op, "a column index lies outside [0, " + std::to_string(count) + ")");
}

}  // namespace jsdl
