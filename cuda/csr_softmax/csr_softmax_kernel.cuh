// Softmax over the entries of each CSR row, and its backward
// out = p * (g - sum_row(p * g)). One warp per row, lanes over consecutive
// entries; reductions in Acc<T> (float32 for 16-bit types).
#pragma once

#include <math_constants.h>

#include <cstdint>

#include "../common/batch_map.cuh"
#include "../common/dtype.cuh"
#include "../common/warp.cuh"

namespace jsdl {

struct CsrSoftmaxConfig {
  static constexpr int kWarpsPerBlock = 4;  // rows per block
};

// Operand pointers are (*b_i, nnz); the output is (*b, nnz).
template <typename T, int kNumInputs>
struct CsrSoftmaxArgs {
  const T* in[kNumInputs];  // softmax: values; grad: probs, grad
  const int32_t* row_offsets;
  const int32_t* row_indices;
  T* out;
  int64_t m, nnz;
  int64_t batch;
  BatchMap<kNumInputs> batch_map;
};

__device__ __forceinline__ float Exp(float x) { return expf(x); }
__device__ __forceinline__ double Exp(double x) { return exp(x); }
__device__ __forceinline__ float NegInf(float) { return -CUDART_INF_F; }
__device__ __forceinline__ double NegInf(double) { return -CUDART_INF; }

// Row range of this warp's slot, or false if the slot is past m.
template <typename Args>
__device__ __forceinline__ bool RowRange(const Args& args, int64_t& start,
                                         int64_t& end) {
  const int64_t slot = static_cast<int64_t>(blockIdx.x) *
                           CsrSoftmaxConfig::kWarpsPerBlock + threadIdx.y;
  if (slot >= args.m) return false;
  const int64_t row = __ldg(args.row_indices + slot);
  start = __ldg(args.row_offsets + row);
  end = __ldg(args.row_offsets + row + 1);
  return true;
}

// Three passes over the row: max, sum of exp(x - max), normalise. Like
// jax.nn.softmax, a row of only -inf gives NaN. Empty rows write nothing.
template <typename T>
__global__ void CsrSoftmaxKernel(const CsrSoftmaxArgs<T, 1> args) {
  using A = Acc<T>;
  int64_t start, end;
  if (!RowRange(args, start, end) || start == end) return;  // whole warp
  const int lane = threadIdx.x;
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[1];
    args.batch_map.Offsets(b, offset);
    const T* in = args.in[0] + offset[0];
    T* out = args.out + b * args.nnz;

    A row_max = NegInf(A());
    for (int64_t e = start + lane; e < end; e += 32)
      row_max = max(row_max, LoadAcc(in + e));
    row_max = WarpMax(row_max);

    A sum = A(0);
    for (int64_t e = start + lane; e < end; e += 32)
      sum += Exp(LoadAcc(in + e) - row_max);
    const A inv_sum = A(1) / WarpSum(sum);

    for (int64_t e = start + lane; e < end; e += 32)
      out[e] = FromAcc<T>(Exp(LoadAcc(in + e) - row_max) * inv_sum);
  }
}

// out = p * (g - sum_row(p * g)).
template <typename T>
__global__ void CsrSoftmaxGradKernel(const CsrSoftmaxArgs<T, 2> args) {
  using A = Acc<T>;
  int64_t start, end;
  if (!RowRange(args, start, end) || start == end) return;  // whole warp
  const int lane = threadIdx.x;
  for (int64_t b = blockIdx.z; b < args.batch; b += gridDim.z) {
    int64_t offset[2];
    args.batch_map.Offsets(b, offset);
    const T* probs = args.in[0] + offset[0];
    const T* grad = args.in[1] + offset[1];
    T* out = args.out + b * args.nnz;

    A dot = A(0);
    for (int64_t e = start + lane; e < end; e += 32)
      dot += LoadAcc(probs + e) * LoadAcc(grad + e);
    dot = WarpSum(dot);

    for (int64_t e = start + lane; e < end; e += 32)
      out[e] = FromAcc<T>(LoadAcc(probs + e) * (LoadAcc(grad + e) - dot));
  }
}

}  // namespace jsdl
