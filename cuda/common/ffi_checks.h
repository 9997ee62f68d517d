// Shape and dtype validation for FFI handlers. Every failure is an
// InvalidArgument naming the target and the operand.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "batch_map.cuh"
#include "ffi_common.h"
#include "tile_index.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {

namespace ffi = xla::ffi;

inline ffi::Error ShapeError(const char* op, const char* name,
                             const ffi::AnyBuffer& buf,
                             const std::string& expected) {
  return ffi::Error::InvalidArgument(std::string(op) + ": " + name +
                                     " has shape " +
                                     DimsToString(buf.dimensions()) +
                                     ", expected " + expected);
}

inline ffi::Error CheckRank(const char* op, const char* name,
                            const ffi::AnyBuffer& buf, size_t rank,
                            const char* layout) {
  if (buf.dimensions().size() != rank)
    return ShapeError(op, name, buf,
                      "rank " + std::to_string(rank) + " " + layout);
  return ffi::Error::Success();
}

// The output fixes the float dtype of the call.
inline ffi::Error CheckFloatDtype(const char* op, const char* name,
                                  const ffi::AnyBuffer& buf) {
  switch (buf.element_type()) {
    case ffi::DataType::F32:
    case ffi::DataType::F64:
    case ffi::DataType::BF16:
    case ffi::DataType::F16:
      return ffi::Error::Success();
    default:
      return ffi::Error::InvalidArgument(
          std::string(op) + ": " + name + " has dtype " +
          DataTypeName(buf.element_type()) +
          ", expected float32, float64, bfloat16 or float16");
  }
}

// A float operand must have the same dtype as the output.
inline ffi::Error CheckDtype(const char* op, const char* name,
                             const ffi::AnyBuffer& buf,
                             ffi::DataType expected) {
  if (buf.element_type() != expected)
    return ffi::Error::InvalidArgument(
        std::string(op) + ": " + name + " has dtype " +
        DataTypeName(buf.element_type()) + ", expected " +
        DataTypeName(expected) + " (the output's dtype)");
  return ffi::Error::Success();
}

// Checks a rank-1 int32 pattern array of the given length (-1: any length,
// which is then returned through *length).
inline ffi::Error CheckIndexArray(const char* op, const char* name,
                                  const ffi::AnyBuffer& buf, int64_t expected,
                                  int64_t* length = nullptr) {
  if (buf.element_type() != ffi::DataType::S32)
    return ffi::Error::InvalidArgument(std::string(op) + ": " + name +
                                       " has dtype " +
                                       DataTypeName(buf.element_type()) +
                                       ", expected int32");
  if (buf.dimensions().size() != 1)
    return ShapeError(op, name, buf, "rank 1");
  const int64_t actual = buf.dimensions()[0];
  if (expected >= 0 && actual != expected)
    return ShapeError(op, name, buf, "(" + std::to_string(expected) + ",)");
  if (length) *length = actual;
  return ffi::Error::Success();
}

// int32 pattern arrays address at most INT32_MAX rows and entries.
inline ffi::Error CheckInt32Range(const char* op, const char* what,
                                  int64_t value) {
  if (value > std::numeric_limits<int32_t>::max())
    return ffi::Error::InvalidArgument(std::string(op) + ": " + what + " = " +
                                       std::to_string(value) +
                                       " does not fit the int32 pattern arrays");
  return ffi::Error::Success();
}

// Product of dims[0..count).
inline int64_t Product(ffi::Span<const int64_t> dims, size_t count) {
  int64_t p = 1;
  for (size_t i = 0; i < count; ++i) p *= dims[i];
  return p;
}

// The pattern's tile index (tile_index.h): both arrays empty (none), or full for an m x k
// pattern of nnz entries. indexed: whether it is there.
inline ffi::Error CheckTileIndex(const char* op, const ffi::AnyBuffer& tile_offsets,
                                 const ffi::AnyBuffer& tile_entries, int64_t m, int64_t k,
                                 int64_t nnz, bool& indexed) {
  int64_t length = 0;
  JSDL_RETURN_IF_ERROR(CheckIndexArray(op, "tile_offsets", tile_offsets, -1, &length));
  indexed = length > 0;
  if (indexed)
    JSDL_RETURN_IF_ERROR(
        CheckIndexArray(op, "tile_offsets", tile_offsets, TileIndexCount(m, k) + 1));
  return CheckIndexArray(op, "tile_entries", tile_entries, indexed ? nnz : 0);
}

// The pattern arrays of an m x k pattern of nnz entries that the SpMM and SDDMM targets take:
// row_offsets (m + 1), column_indices (nnz), row_indices (m), the tile index (see above) and
// entry_rows (nnz, the row of every entry); also that m and nnz fit int32.
inline ffi::Error CheckPatternArrays(const char* op, const ffi::AnyBuffer& row_offsets,
                                     const ffi::AnyBuffer& column_indices,
                                     const ffi::AnyBuffer& row_indices,
                                     const ffi::AnyBuffer& tile_offsets,
                                     const ffi::AnyBuffer& tile_entries,
                                     const ffi::AnyBuffer& entry_rows, int64_t m, int64_t k,
                                     int64_t nnz, bool& indexed) {
  JSDL_RETURN_IF_ERROR(CheckIndexArray(op, "row_offsets", row_offsets, m + 1));
  JSDL_RETURN_IF_ERROR(CheckIndexArray(op, "column_indices", column_indices, nnz));
  JSDL_RETURN_IF_ERROR(CheckIndexArray(op, "row_indices", row_indices, m));
  JSDL_RETURN_IF_ERROR(CheckTileIndex(op, tile_offsets, tile_entries, m, k, nnz, indexed));
  JSDL_RETURN_IF_ERROR(CheckIndexArray(op, "entry_rows", entry_rows, nnz));
  JSDL_RETURN_IF_ERROR(CheckInt32Range(op, "m", m));
  return CheckInt32Range(op, "nnz", nnz);
}

// An FFI binding followed by those six pattern arrays (csr.py's FFI_PATTERN).
template <typename Binding>
auto WithPatternArgs(Binding binding) {
  return std::move(binding)
      .template Arg<ffi::AnyBuffer>()  // row_offsets
      .template Arg<ffi::AnyBuffer>()  // column_indices
      .template Arg<ffi::AnyBuffer>()  // row_indices
      .template Arg<ffi::AnyBuffer>()  // tile_offsets
      .template Arg<ffi::AnyBuffer>()  // tile_entries
      .template Arg<ffi::AnyBuffer>();  // entry_rows
}

}  // namespace jsdl
