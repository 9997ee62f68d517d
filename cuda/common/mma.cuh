// Tensor-core helpers (sm_80+): the TF32 mma.sync shape m16n8k8 and its
// operand rounding. float32 inputs rounded to TF32 lose 13 mantissa bits (what
// XLA's DEFAULT precision allows); bfloat16 and float16 values are exact in
// TF32, so for them the products are exact and accumulate in float32.
#pragma once

#include <cstdint>

namespace jsdl {

// x rounded to TF32 (to nearest; the low 13 mantissa bits zero), as float32
// bits. sm_90 rounds ties to even in one instruction (F2FP; CUTLASS's
// round-to-nearest TF32 converter does the same there); sm_80 has only ties
// away from zero, which ptxas expands to 3-4 instructions: with it the 3xTF32
// tiles, whose split rounds every fragment value twice, ran 865 instructions
// a slice, 608 with F2FP (SASS, session 19).
__device__ __forceinline__ uint32_t ToTf32(float x) {
  uint32_t r;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm("cvt.rn.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#else
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#endif
  return r;
}

// 3xTF32 (split TF32): x = big + small with big = TF32(x) and small = x - big,
// so that a product a*b is big_a*big_b + big_a*small_b + small_a*big_b up to
// small_a*small_b (about 2^-22 relative): float32's precision on TF32 tensor
// cores, at three mmas a product. small stays float32 bits: the tensor cores
// read an operand's top 19 bits (CUTLASS's fast 3xTF32 relies on it too), so
// it enters truncated, off by at most 2^-21 of x with either sign (small's
// sign is x's rounding error's, not x's). Rounding it cost an instruction a
// value, 64 of the 3xTF32 tiles' 546 a slice (session 23). x holds a
// fragment's float32 bits.
template <int kN>
__device__ __forceinline__ void SplitTf32(const uint32_t (&x)[kN], uint32_t (&big)[kN],
                                          uint32_t (&small)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) {
    const float v = __uint_as_float(x[i]);
    big[i] = ToTf32(v);
    small[i] = __float_as_uint(v - __uint_as_float(big[i]));
  }
}

// x - TF32(x) for TF32(x) as the tensor cores take float32 bits (the low 13 dropped, a
// truncation): exact. The 3xTF32 tiles fed by TMA (raw float32 in shared memory) use it.
__device__ __forceinline__ uint32_t Tf32Residue(uint32_t x) {
  return __float_as_uint(__uint_as_float(x) - __uint_as_float(x & 0xffffe000u));
}

// c += a @ b for one warp: a 16x8 (row-major fragment, 4 registers), b 8x8
// (column-major, 2 registers), c 16x8 (4 registers). With g = lane / 4 and
// t = lane % 4: a = {(g, t), (g + 8, t), (g, t + 4), (g + 8, t + 4)},
// b = {(t, g), (t + 4, g)}, c = {(g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1)}.
__device__ __forceinline__ void MmaTf32(float (&c)[4], const uint32_t (&a)[4],
                                        const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, "
      "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Four 8 x 4 blocks of 32-bit words from shared memory, one ldmatrix.x4: lanes
// 8q..8q+7 give the addresses of block q's rows (16 bytes each, 16-byte
// aligned) and lane l receives word (l / 4, l % 4) of block q in r[q]. A 32-bit
// word is a pair of the b16 elements ldmatrix moves, so a TF32 block lands in
// the (g, t) layout of the mma operands above.
__device__ __forceinline__ void LoadBlocksX4(uint32_t (&r)[4], const uint32_t* row) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// The same, each block transposed: lane l receives the 16-bit elements (2 (l % 4), l / 4) and
// (2 (l % 4) + 1, l / 4) of block q (row, column of the rows addressed) in r[q]'s low and high
// halves. From rows of k x columns of m, the A fragment of an m16n8k16 (or wgmma register A).
__device__ __forceinline__ void LoadBlocksX4Transposed(uint32_t (&r)[4], const void* row) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

}  // namespace jsdl
