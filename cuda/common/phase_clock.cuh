// Phase clocks for the standalone runners (scripts/*_harness.cu built with -DJSDL_PHASE_CLOCK):
// thread 0 of each block records the global timer at a kernel's start and end and the SM clock at
// its phase boundaries, so that a run can say where a block's time goes (Nsight Compute gives a
// kernel's totals only) and how the blocks spread over the launch. Compiled out otherwise.
#pragma once

#ifdef JSDL_PHASE_CLOCK
namespace jsdl {

inline constexpr int kPhaseClockBlocks = 1 << 16;
inline constexpr int kPhaseClockPoints = 4;  // SM clocks a block, point 0 the kernel's start
// Per block: the global timer (ns) at point 0 and at the last point recorded, then the points.
__device__ long long phase_clock[kPhaseClockBlocks][2 + kPhaseClockPoints];

__device__ __forceinline__ void PhaseClock(int point) {
  const long long block = blockIdx.x + gridDim.x * (blockIdx.y + static_cast<long long>(gridDim.y) *
                                                                     blockIdx.z);
  if (threadIdx.x != 0 || block >= kPhaseClockBlocks) return;
  long long ns;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(ns));
  phase_clock[block][point == 0 ? 0 : 1] = ns;
  phase_clock[block][2 + point] = clock64();
}

}  // namespace jsdl
#define JSDL_PHASE_CLOCK_AT(point) ::jsdl::PhaseClock(point)
#else
#define JSDL_PHASE_CLOCK_AT(point)
#endif

// Where one call launches two instrumented kernels whose blocks would share the records (the
// SpMM densify kernel, 1, and the wgmma tile after it, 0), -DJSDL_PHASE_CLOCK_KERNEL picks the
// one that records (default 0).
#ifndef JSDL_PHASE_CLOCK_KERNEL
#define JSDL_PHASE_CLOCK_KERNEL 0
#endif
#define JSDL_PHASE_CLOCK_OF(kernel, point) \
  if constexpr (JSDL_PHASE_CLOCK_KERNEL == (kernel)) JSDL_PHASE_CLOCK_AT(point)
