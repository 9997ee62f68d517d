// CPU XLA FFI handlers for jsdl_csr_softmax and its backward: the same operands and checks as
// the CUDA handlers (csr_softmax_operands.h), row by row on the intra-op thread pool; the
// softmax in float32 vectors (the copies of cpu_vector.h; exp from cpu_exp.h).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../common/cpu_exp.h"
#include "../common/cpu_float.h"
#include "../common/cpu_parallel.h"
#include "../common/cpu_pattern.h"
#include "../common/cpu_vector.h"
#include "../common/cpu_widen.h"
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

// The entries [begin, count) left after a row's vectors V (fewer than its lanes): one vector
// of 8 lanes in [begin, e8) and one of 4 in [e8, e4) where they fit, then [e4, count) one by
// one (rows of a local attention window, or of a 98%-sparse matrix, are shorter than 16 lanes;
// one by one through std::exp, rows of 10-12 entries took 2.2x the time). Each step as in
// SoftmaxRow.
template <typename V>
JSDL_ALWAYS_INLINE void TailParts(int64_t begin, int64_t count, int64_t& e8, int64_t& e4) {
  e8 = e4 = begin;
  if constexpr (sizeof(V) > sizeof(Float8)) e8 = e4 = count - begin >= 8 ? begin + 8 : begin;
  if constexpr (sizeof(V) > sizeof(Float4)) e4 = count - e8 >= 4 ? e8 + 4 : e8;
}

template <typename W, typename T>
JSDL_ALWAYS_INLINE float TailMax(const T* x, int64_t begin, int64_t end, float top) {
  if (begin == end) return top;
  return std::max(top, FoldToFloat(LoadFloats<W>(x + begin), MaxLanes{}));
}

template <typename W, typename T>
JSDL_ALWAYS_INLINE float TailExp(const T* x, T* y, int64_t begin, int64_t end, float top) {
  if (begin == end) return 0;
  const W e = ExpNonPositive(LoadFloats<W>(x + begin) - top);
  if constexpr (std::is_same_v<T, float>) StoreFloats<W>(y + begin, e);
  return FoldToFloat(e, AddLanes{});
}

template <typename W, typename T>
JSDL_ALWAYS_INLINE void TailDivide(const T* x, T* y, int64_t begin, int64_t end, float top,
                                   float sum) {
  if (begin == end) return;
  if constexpr (std::is_same_v<T, float>)
    StoreFloats<W>(y + begin, LoadFloats<W>(y + begin) / sum);
  else
    StoreFloats<W>(y + begin, ExpNonPositive(LoadFloats<W>(x + begin) - top) / sum);
}

// Rows shorter than a vector V in one vector loaded to end where the row ends: its first
// kLanes<V> - count lanes hold earlier rows' entries (read, not used). `before` entries may be
// read before x (0 for the buffer's first rows, which take the general path).
template <typename V>
JSDL_ALWAYS_INLINE bool ShortRow(int64_t count, int64_t before) {
  return count < kLanes<V> && before >= kLanes<V> - count;
}

// True in the lanes of such a vector that lie in the row.
template <typename V>
JSDL_ALWAYS_INLINE auto RowLanes(int64_t count) {
  typename LaneTypes<V>::Int32 lane;
  for (int i = 0; i < kLanes<V>; ++i) lane[i] = i;
  return lane >= static_cast<int32_t>(kLanes<V> - count);
}

// The row's lanes of `f` (its last count) into y, through a local copy: a vector store would
// overwrite the earlier rows' outputs.
template <typename V, typename T>
JSDL_ALWAYS_INLINE void StoreRowLanes(T* y, const V& f, int64_t count) {
  T lanes[kLanes<V>];
  StoreFloats<V>(lanes, f);
  for (int64_t i = 0; i < count; ++i) y[i] = lanes[kLanes<V> - count + i];
}

// A row's softmax in float32 vectors V (T: float32, or 16-bit widened as it is read): the max,
// then the sum of the exponentials (kept in y for float32; 16-bit y would round them, so those
// are computed again), then each divided by the sum; the rest of the row in TailParts. NaN and
// infinity as in the pure-JAX lowering: a NaN entry, or a row of -inf only, makes the row NaN.
template <typename V, typename T>
JSDL_ALWAYS_INLINE void SoftmaxRow(const T* x, T* y, int64_t count, int64_t before) {
  constexpr bool kKeep = std::is_same_v<T, float>;
  // A row of one vector (a window of 16 entries in AVX-512) in registers, straight through: the
  // loops below took 1.8x its time (they keep the exponentials in y and read them again).
  if (count == kLanes<V>) {
    const V v = LoadFloats<V>(x);
    const V e = ExpNonPositive(v - FoldToFloat(v, MaxLanes{}));
    StoreFloats<V>(y, e / FoldToFloat(e, AddLanes{}));
    return;
  }
  // A shorter row (a narrower window; about 10 entries at 98% sparsity) as well, the lanes before
  // it at -inf (exponential 0), where the tails below would take single entries through
  // std::exp, twice (a window of 7 took 2.2x a window of 16's time), or 16-bit 4-lane vectors
  // (1.7x at 12). Float32 rows of 4-lane vectors are faster in the tails (a window of 4: 0.7x).
  if (ShortRow<V>(count, before) && (kIs16Bit<T> || count % 4 != 0)) {
    V v = LoadFloats<V>(x - (kLanes<V> - count));
    v = RowLanes<V>(count) ? v : V{} - std::numeric_limits<float>::infinity();
    const V e = ExpNonPositive(v - FoldToFloat(v, MaxLanes{}));
    StoreRowLanes<V>(y, e / FoldToFloat(e, AddLanes{}), count);
    return;
  }
  const int64_t vectors_end = count - count % kLanes<V>;
  int64_t e8, e4;
  TailParts<V>(vectors_end, count, e8, e4);
  V top_lanes = V{} - std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vectors_end; i += kLanes<V>)
    top_lanes = MaxLanes{}(top_lanes, LoadFloats<V>(x + i));
  float top = FoldToFloat(top_lanes, MaxLanes{});
  if (vectors_end < count) {
    if constexpr (sizeof(V) > sizeof(Float8)) top = TailMax<Float8>(x, vectors_end, e8, top);
    if constexpr (sizeof(V) > sizeof(Float4)) top = TailMax<Float4>(x, e8, e4, top);
    for (int64_t i = e4; i < count; ++i) top = std::max(top, ToAcc(x[i]));
  }

  V sum_lanes = {};
  for (int64_t i = 0; i < vectors_end; i += kLanes<V>) {
    const V e = ExpNonPositive(LoadFloats<V>(x + i) - top);
    sum_lanes += e;
    if constexpr (kKeep) StoreFloats<V>(y + i, e);
  }
  float sum = FoldToFloat(sum_lanes, AddLanes{});
  if (vectors_end < count) {
    if constexpr (sizeof(V) > sizeof(Float8)) sum += TailExp<Float8>(x, y, vectors_end, e8, top);
    if constexpr (sizeof(V) > sizeof(Float4)) sum += TailExp<Float4>(x, y, e8, e4, top);
    // The last 0-3 through std::exp: ExpNonPositive on one value made rows of about 10 entries
    // 1.1x slower.
    for (int64_t i = e4; i < count; ++i) sum += std::exp(ToAcc(x[i]) - top);
  }

  for (int64_t i = 0; i < vectors_end; i += kLanes<V>) {
    if constexpr (kKeep)
      StoreFloats<V>(y + i, LoadFloats<V>(y + i) / sum);
    else
      StoreFloats<V>(y + i, ExpNonPositive(LoadFloats<V>(x + i) - top) / sum);
  }
  if (vectors_end < count) {
    if constexpr (sizeof(V) > sizeof(Float8)) TailDivide<Float8>(x, y, vectors_end, e8, top, sum);
    if constexpr (sizeof(V) > sizeof(Float4)) TailDivide<Float4>(x, y, e8, e4, top, sum);
    for (int64_t i = e4; i < count; ++i) y[i] = FromAcc<T>(std::exp(ToAcc(x[i]) - top) / sum);
  }
}

// A row of the softmax's backward in float32 vectors V: dot = rowsum(probs * grad), then
// out = probs * (grad - dot); the rest of the row in TailParts' smaller vectors, then one by one.
template <typename W, typename T>
JSDL_ALWAYS_INLINE float TailDot(const T* p, const T* g, int64_t begin, int64_t end) {
  if (begin == end) return 0;
  return FoldToFloat(LoadFloats<W>(p + begin) * LoadFloats<W>(g + begin), AddLanes{});
}

template <typename W, typename T>
JSDL_ALWAYS_INLINE void TailGrad(const T* p, const T* g, T* y, int64_t begin, int64_t end,
                                 float dot) {
  if (begin == end) return;
  StoreFloats<W>(y + begin, LoadFloats<W>(p + begin) * (LoadFloats<W>(g + begin) - dot));
}

template <typename V, typename T>
JSDL_ALWAYS_INLINE void SoftmaxGradRow(const T* p, const T* g, T* y, int64_t count,
                                       int64_t before) {
  // 16-bit rows shorter than V as SoftmaxRow's, the lanes before the row at 0 (a window of 10:
  // 1.3x faster). Float32 ones are faster in the tails, which have no exp (0.8x this way).
  if (kIs16Bit<T> && ShortRow<V>(count, before)) {
    const auto in_row = RowLanes<V>(count);
    const V vp = in_row ? LoadFloats<V>(p - (kLanes<V> - count)) : V{};
    const V vg = in_row ? LoadFloats<V>(g - (kLanes<V> - count)) : V{};
    StoreRowLanes<V>(y, vp * (vg - FoldToFloat(vp * vg, AddLanes{})), count);
    return;
  }
  const int64_t vectors_end = count - count % kLanes<V>;
  int64_t e8, e4;
  TailParts<V>(vectors_end, count, e8, e4);
  V dot_lanes = {};
  for (int64_t i = 0; i < vectors_end; i += kLanes<V>)
    dot_lanes += LoadFloats<V>(p + i) * LoadFloats<V>(g + i);
  float dot = FoldToFloat(dot_lanes, AddLanes{});
  if constexpr (sizeof(V) > sizeof(Float8)) dot += TailDot<Float8>(p, g, vectors_end, e8);
  if constexpr (sizeof(V) > sizeof(Float4)) dot += TailDot<Float4>(p, g, e8, e4);
  for (int64_t i = e4; i < count; ++i) dot += ToAcc(p[i]) * ToAcc(g[i]);

  for (int64_t i = 0; i < vectors_end; i += kLanes<V>)
    StoreFloats<V>(y + i, LoadFloats<V>(p + i) * (LoadFloats<V>(g + i) - dot));
  if constexpr (sizeof(V) > sizeof(Float8)) TailGrad<Float8>(p, g, y, vectors_end, e8, dot);
  if constexpr (sizeof(V) > sizeof(Float4)) TailGrad<Float4>(p, g, y, e8, e4, dot);
  for (int64_t i = e4; i < count; ++i) y[i] = FromAcc<T>(ToAcc(p[i]) * (ToAcc(g[i]) - dot));
}

#ifdef JSDL_CPU_X86
template <typename T>
JSDL_TARGET_AVX2 void SoftmaxRowAvx2(const T* x, T* y, int64_t count, int64_t before) {
  SoftmaxRow<Float8>(x, y, count, before);
}
template <typename T>
JSDL_TARGET_AVX512 void SoftmaxRowAvx512(const T* x, T* y, int64_t count, int64_t before) {
  SoftmaxRow<Float16>(x, y, count, before);
}
template <typename T>
JSDL_TARGET_AVX2 void SoftmaxGradRowAvx2(const T* p, const T* g, T* y, int64_t count,
                                         int64_t before) {
  SoftmaxGradRow<Float8>(p, g, y, count, before);
}
template <typename T>
JSDL_TARGET_AVX512 void SoftmaxGradRowAvx512(const T* p, const T* g, T* y, int64_t count,
                                           int64_t before) {
  SoftmaxGradRow<Float16>(p, g, y, count, before);
}
#endif

ffi::Error CsrSoftmaxCpuImpl(ffi::ThreadPool pool, ffi::AnyBuffer values,
                             ffi::AnyBuffer row_offsets, ffi::AnyBuffer row_indices,
                             ffi::Result<ffi::AnyBuffer> out) {
  const ffi::AnyBuffer inputs[1] = {values};
  const char* const names[1] = {"values"};
  const VectorLoops loops = UsedVectorLoops().load(std::memory_order_relaxed);
  return RunCpuRowOp(kSoftmaxOp, pool, inputs, names, row_offsets, row_indices, out,
                     [loops](const auto (&in)[1], auto* y, int32_t first, int32_t last) {
    using T = std::remove_pointer_t<decltype(y)>;
    if constexpr (std::is_same_v<Acc<T>, float>) {
      switch (loops) {
#ifdef JSDL_CPU_X86
        case VectorLoops::kAvx512:
          return SoftmaxRowAvx512(in[0] + first, y + first, last - first, first);
        case VectorLoops::kAvx2:
          return SoftmaxRowAvx2(in[0] + first, y + first, last - first, first);
#endif
        default: return SoftmaxRow<Float4>(in[0] + first, y + first, last - first, first);
      }
    } else {  // float64: std::exp, the exponentials kept in y
      double top = -std::numeric_limits<double>::infinity();
      for (int32_t j = first; j < last; ++j) top = std::max(top, in[0][j]);
      double sum = 0;
      for (int32_t j = first; j < last; ++j) sum += y[j] = std::exp(in[0][j] - top);
      for (int32_t j = first; j < last; ++j) y[j] /= sum;
    }
  });
}

ffi::Error CsrSoftmaxGradCpuImpl(ffi::ThreadPool pool, ffi::AnyBuffer probs, ffi::AnyBuffer grad,
                                 ffi::AnyBuffer row_offsets, ffi::AnyBuffer row_indices,
                                 ffi::Result<ffi::AnyBuffer> out) {
  const ffi::AnyBuffer inputs[2] = {probs, grad};
  const char* const names[2] = {"probs", "grad"};
  const VectorLoops loops = UsedVectorLoops().load(std::memory_order_relaxed);
  return RunCpuRowOp(kGradOp, pool, inputs, names, row_offsets, row_indices, out,
                     [loops](const auto (&in)[2], auto* y, int32_t first, int32_t last) {
    using T = std::remove_pointer_t<decltype(y)>;
    const T *p = in[0] + first, *g = in[1] + first;
    if constexpr (std::is_same_v<Acc<T>, float>) {
      switch (loops) {
#ifdef JSDL_CPU_X86
        case VectorLoops::kAvx512:
          return SoftmaxGradRowAvx512(p, g, y + first, last - first, first);
        case VectorLoops::kAvx2: return SoftmaxGradRowAvx2(p, g, y + first, last - first, first);
#endif
        default: return SoftmaxGradRow<Float4>(p, g, y + first, last - first, first);
      }
    } else {  // float64
      double dot = 0;  // rowsum(probs * grad)
      for (int32_t j = 0; j < last - first; ++j) dot += p[j] * g[j];
      for (int32_t j = 0; j < last - first; ++j) y[first + j] = p[j] * (g[j] - dot);
    }
  });
}

}  // namespace
}  // namespace jsdl

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCsrSoftmaxCpuFfi, jsdl::CsrSoftmaxCpuImpl,
                              jsdl::CsrSoftmaxBinding<xla::ffi::ThreadPool>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCsrSoftmaxGradCpuFfi, jsdl::CsrSoftmaxGradCpuImpl,
                              jsdl::CsrSoftmaxGradBinding<xla::ffi::ThreadPool>());
