// Batch broadcasting: maps a flat output batch index to the element offset of
// each float operand. Operands have the output's batch rank and each batch dim
// equals the output's or is 1 (stride 0). Size-1 output dims are dropped and
// adjacent dims that are contiguous for every operand are merged, so the usual
// cases (no batch, one batch dim, full broadcast) cost at most one multiply.
#pragma once

#include <cstdint>
#include <string>

#include "xla/ffi/api/ffi.h"

namespace jsdl {

inline constexpr int kMaxBatchRank = 6;  // after merging

// Host and device code under nvcc, plain inline functions for the CPU handlers (g++).
#ifdef __CUDACC__
#define JSDL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define JSDL_HOST_DEVICE inline
#endif

// "#pragma unroll" for __host__ __device__ code without host-compiler warnings.
#ifdef __CUDA_ARCH__
#define JSDL_UNROLL _Pragma("unroll")
#else
#define JSDL_UNROLL
#endif

JSDL_HOST_DEVICE uint64_t UMulHi64(uint64_t a, uint64_t b) {
#ifdef __CUDA_ARCH__
  return __umul64hi(a, b);
#else
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#endif
}

// Division by an invariant divisor d >= 1 for dividends n < 2^63 without the
// 64-bit division subroutine (whose call spills registers): Granlund and
// Montgomery, "Division by invariant integers using multiplication" (1994),
// with l = ceil(log2 d) and multiplier = floor(2^64 (2^l - d) / d) + 1.
struct FastDivmod {
  int64_t divisor = 1;
  uint64_t multiplier = 1;
  int shift = 0;

  FastDivmod() = default;
  explicit FastDivmod(int64_t d) : divisor(d) {
    if (d < 1) return;  // only for empty outputs, which are never launched
    while ((uint64_t{1} << shift) < static_cast<uint64_t>(d)) ++shift;
    const unsigned __int128 two_l = static_cast<unsigned __int128>(1) << shift;
    multiplier = static_cast<uint64_t>(
        ((static_cast<unsigned __int128>(two_l - static_cast<uint64_t>(d)) << 64) /
         static_cast<uint64_t>(d)) + 1);
  }

  // n in [0, 2^63): quotient and remainder. umulhi(multiplier, n) <= n, so the
  // sum cannot overflow.
  JSDL_HOST_DEVICE int64_t Divmod(int64_t n, int64_t& remainder) const {
    const uint64_t u = static_cast<uint64_t>(n);
    const int64_t q = static_cast<int64_t>((UMulHi64(multiplier, u) + u) >> shift);
    remainder = n - q * divisor;
    return q;
  }
};

template <int kNumOperands>
struct BatchMap {
  int rank = 0;                             // merged dims, outermost first
  FastDivmod size[kMaxBatchRank];           // output extent of each merged dim
  int64_t stride[kNumOperands][kMaxBatchRank] = {};  // in elements; 0 = broadcast

  // b in [0, batch count). Fully unrolled with constant indices so the map
  // stays in the kernel parameter space (no local-memory copy).
  JSDL_HOST_DEVICE void Offsets(int64_t b, int64_t (&offset)[kNumOperands]) const {
JSDL_UNROLL
    for (int i = 0; i < kNumOperands; ++i) offset[i] = 0;
JSDL_UNROLL
    for (int j = kMaxBatchRank - 1; j >= 1; --j) {  // innermost first
      if (j < rank) {
        int64_t index;
        b = size[j].Divmod(b, index);
JSDL_UNROLL
        for (int i = 0; i < kNumOperands; ++i) offset[i] += index * stride[i][j];
      }
    }
    if (rank > 0) {  // what is left of b indexes the outermost dim
JSDL_UNROLL
      for (int i = 0; i < kNumOperands; ++i) offset[i] += b * stride[i][0];
    }
  }
};

// One float operand as seen by MakeBatchMap.
struct BatchOperand {
  const char* name;
  xla::ffi::Span<const int64_t> dims;  // full shape: batch dims then item dims
  int64_t item_elements;               // elements per batch item (e.g. k * n)
};

inline std::string DimsToString(xla::ffi::Span<const int64_t> dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + (dims.size() == 1 ? ",)" : ")");
}

// Builds the map for an output with batch dims out_batch[0..batch_rank).
// Operand ranks must already be checked to be batch_rank + item rank.
template <int kNumOperands>
xla::ffi::Error MakeBatchMap(const char* op, const int64_t* out_batch,
                             int batch_rank,
                             const BatchOperand (&operands)[kNumOperands],
                             BatchMap<kNumOperands>& map) {
  // Per-dimension strides of every operand over the unmerged batch dims.
  struct Dim {
    int64_t size;
    int64_t stride[kNumOperands];
  };
  Dim merged[64];  // innermost first; batch ranks above 64 are rejected below
  if (batch_rank > 64)
    return xla::ffi::Error::InvalidArgument(std::string(op) +
                                            ": too many batch dimensions");
  int64_t running[kNumOperands];
  for (int i = 0; i < kNumOperands; ++i) running[i] = operands[i].item_elements;
  int count = 0;
  for (int j = batch_rank - 1; j >= 0; --j) {
    Dim dim;
    dim.size = out_batch[j];
    for (int i = 0; i < kNumOperands; ++i) {
      const int64_t extent = operands[i].dims[j];
      if (extent != dim.size && extent != 1)
        return xla::ffi::Error::InvalidArgument(
            std::string(op) + ": batch dimension " + std::to_string(j) +
            " of " + operands[i].name + " " + DimsToString(operands[i].dims) +
            " is " + std::to_string(extent) + ", expected 1 or the output's " +
            std::to_string(dim.size));
      dim.stride[i] = extent == 1 ? 0 : running[i];
      running[i] *= extent;
    }
    if (dim.size == 1) continue;  // contributes nothing to any offset
    bool contiguous = count > 0;
    for (int i = 0; contiguous && i < kNumOperands; ++i)
      contiguous = dim.stride[i] ==
                   merged[count - 1].stride[i] * merged[count - 1].size;
    if (contiguous) {
      merged[count - 1].size *= dim.size;  // keeps the inner stride
    } else {
      merged[count++] = dim;
    }
  }
  if (count > kMaxBatchRank)
    return xla::ffi::Error::InvalidArgument(
        std::string(op) + ": the batch broadcasting pattern needs " +
        std::to_string(count) + " dimensions after merging; at most " +
        std::to_string(kMaxBatchRank) + " are supported");
  map = BatchMap<kNumOperands>();
  map.rank = count;
  for (int j = 0; j < count; ++j) {  // store outermost first
    const Dim& dim = merged[count - 1 - j];
    map.size[j] = FastDivmod(dim.size);
    for (int i = 0; i < kNumOperands; ++i) map.stride[i][j] = dim.stride[i];
  }
  return xla::ffi::Error::Success();
}

}  // namespace jsdl
