// Hopper's warpgroup mma (wgmma, sm_90a only): operands in shared memory read by descriptor,
// accumulators in a warpgroup's registers, issued asynchronously in groups. Used by the SDDMM
// wgmma tile (cuda/sddmm/sddmm_wgmma_kernel.cuh) and the probes (scripts/wgmma_probe.cu,
// wgmma_tile_probe.cu). Outside sm_90a's features (other architectures of the same build, or a
// plain sm_90 PTX) the fences compile to nothing and the mma traps: the host runs these kernels
// only on a 9.0 device of a build with sm_90a (JSDL_SM90A).
#pragma once

#include <cstdint>

namespace jsdl {

// Swizzle modes of a descriptor (bits 62-63).
enum class WgmmaSwizzle : uint64_t { kNone = 0, k128B = 1 };

// A shared-memory matrix descriptor: start address, leading and stride byte offsets (each >> 4,
// 14 bits), swizzle mode. With k128B, rows of 128 bytes in atoms of 8 rows (1024-byte aligned),
// 16-byte chunk c of row r stored at chunk c ^ (r % 8); the stride is the atoms' distance.
__device__ __forceinline__ uint64_t WgmmaDescriptor(const void* smem, uint32_t leading,
                                                    uint32_t stride,
                                                    WgmmaSwizzle swizzle = WgmmaSwizzle::kNone) {
  const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  return static_cast<uint64_t>((address & 0x3ffff) >> 4) |
         static_cast<uint64_t>((leading >> 4) & 0x3fff) << 16 |
         static_cast<uint64_t>((stride >> 4) & 0x3fff) << 32 |
         static_cast<uint64_t>(swizzle) << 62;
}

// Operand slices of 64 rows x 128 bytes (32 float32 or 64 16-bit values of d), as TMA writes
// them with the 128-byte swizzle: the word offset of 32-bit word w (0-31) of row r.
__host__ __device__ constexpr int Swizzled128Word(int r, int w) {
  return r * 32 + (((w / 4) ^ (r % 8)) * 4) + w % 4;
}

// The descriptor of such a slice's k-step `step` (32 bytes: 8 float32, 16 16-bit values): the
// step's offset inside the 128-byte rows, atoms of 8 rows 1024 bytes apart.
__device__ __forceinline__ uint64_t Swizzled128StepDescriptor(const uint32_t* slice, int step) {
  return WgmmaDescriptor(slice + step * 8, 16, 1024, WgmmaSwizzle::k128B);
}

// (row, column) in a warpgroup's m64n64 float32 accumulators of this thread's accumulator i
// (0-31): warp w of the group holds rows 16w..16w+15; register 4j + e of lane l sits at row
// 16w + l / 4 + 8 (e / 2), column 8j + 2 (l % 4) + e % 2 (checked by wgmma_tile_probe.cu).
__device__ __forceinline__ int2 WgmmaAccumulatorAt(int i) {
  const int warp = threadIdx.x % 128 / 32, lane = threadIdx.x % 32, j = i / 4, e = i % 4;
  return {16 * warp + lane / 4 + 8 * (e / 2), 8 * j + 2 * (lane % 4) + e % 2};
}

// Before a warpgroup's first wgmma, and after other instructions touched its accumulators.
__device__ __forceinline__ void WgmmaFence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}

// Closes the group of wgmma issued since the last commit.
__device__ __forceinline__ void WgmmaCommit() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}

// Waits until at most kInFlight committed groups are pending.
template <int kInFlight>
__device__ __forceinline__ void WgmmaWait() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kInFlight) : "memory");
#endif
}

// Shared memory written by ordinary stores, read next by wgmma (the async proxy).
__device__ __forceinline__ void FenceSharedForWgmma() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// Sets this warpgroup's registers a thread to kCount (more: kMore; fewer: !kMore), every warp of
// the warpgroup together: a warp-specialized block lends its copy warpgroup's registers to its
// wgmma warpgroups (the block's total stays within what it was launched with).
template <bool kMore, int kCount>
__device__ __forceinline__ void WarpgroupRegisters() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if constexpr (kMore)
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kCount));
  else
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kCount));
#endif
}

// Pins registers at this point: accumulators (the compiler sees wgmma's registers written when it
// is issued, so without this it could move their reads above a wait) and A fragments (which
// wgmma reads after it is issued: pinned after the wait, they are not reused before it).
template <int kN>
__device__ __forceinline__ void WgmmaPin(float (&d)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
template <int kN>
__device__ __forceinline__ void WgmmaPin(uint32_t (&a)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+r"(a[i])::"memory");
}

// The asm operands of a warpgroup's 32 accumulators a thread (m64n64, float32): %0 to %31.
#define JSDL_WGMMA_ACCUMULATORS(d)                                                            \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),         \
      "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), \
      "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),           \
      "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),           \
      "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])

// d = (accumulate ? d : 0) + A B^T for A 64 x 8 and B 64 x 8 TF32 (k-major, by descriptor):
// m64n64k8, 32 accumulators a thread.
__device__ __forceinline__ void WgmmaTf32(float (&d)[32], uint64_t a, uint64_t b,
                                          int accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, "
      "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1;\n}\n"
      : JSDL_WGMMA_ACCUMULATORS(d)
      : "l"(a), "l"(b), "r"(accumulate));
#else
  __trap();  // built without sm_90a
#endif
}

// The same with A from registers: 4 TF32 values a thread, a warp's 16 rows of the 64 laid out as
// mma.sync m16n8k8's A fragment ((row, k) = (l / 4, l % 4), (l / 4 + 8, l % 4), (l / 4, l % 4 + 4),
// (l / 4 + 8, l % 4 + 4) for lane l; scripts/wgmma_tile_probe.cu checks it). wgmma reads them
// after it is issued: they must stay unchanged until the wait (WgmmaPin them after it).
__device__ __forceinline__ void WgmmaTf32RegA(float (&d)[32], const uint32_t (&a)[4], uint64_t b,
                                              int accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, "
      "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, "
      "%36, p, 1, 1;\n}\n"
      : JSDL_WGMMA_ACCUMULATORS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
#else
  __trap();  // built without sm_90a
#endif
}

// The same for 16-bit values, m64n64k16 (both operands k-major, not transposed): T is
// __nv_bfloat16 or __half (kBf16 picks the instruction's type).
template <bool kBf16>
__device__ __forceinline__ void Wgmma16Bit(float (&d)[32], uint64_t a, uint64_t b,
                                           int accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define JSDL_WGMMA_16BIT(type)                                                                 \
  asm volatile(                                                                                \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                             \
      "wgmma.mma_async.sync.aligned.m64n64k16.f32." type "." type " "                          \
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, " \
      "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, 0, " \
      "0;\n}\n"                                                                                \
      : JSDL_WGMMA_ACCUMULATORS(d)                                                             \
      : "l"(a), "l"(b), "r"(accumulate))
  if constexpr (kBf16) {
    JSDL_WGMMA_16BIT("bf16");
  } else {
    JSDL_WGMMA_16BIT("f16");
  }
#undef JSDL_WGMMA_16BIT
#else
  __trap();  // built without sm_90a
#endif
}

// The same with A from registers: 4 registers of two 16-bit values a thread, a warp's 16 rows
// of the 64 laid out as mma.sync m16n8k16's A fragment (register j of lane l: row
// l / 4 + 8 (j % 2), k 2 (l % 4) + 8 (j / 2) and the next k in the high half). As
// WgmmaTf32RegA, they must stay unchanged until the wait.
template <bool kBf16>
__device__ __forceinline__ void Wgmma16BitRegA(float (&d)[32], const uint32_t (&a)[4], uint64_t b,
                                               int accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define JSDL_WGMMA_16BIT_REG_A(type)                                                           \
  asm volatile(                                                                                \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                             \
      "wgmma.mma_async.sync.aligned.m64n64k16.f32." type "." type " "                          \
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, " \
      "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, " \
      "%36, p, 1, 1, 0;\n}\n"                                                                   \
      : JSDL_WGMMA_ACCUMULATORS(d)                                                             \
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate))
  if constexpr (kBf16) {
    JSDL_WGMMA_16BIT_REG_A("bf16");
  } else {
    JSDL_WGMMA_16BIT_REG_A("f16");
  }
#undef JSDL_WGMMA_16BIT_REG_A
#else
  __trap();  // built without sm_90a
#endif
}

}  // namespace jsdl
