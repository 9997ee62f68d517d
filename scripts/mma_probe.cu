// What mma.sync reaches on this GPU: the tensor-core rate the SDDMM tiles
// (sddmm_mma_kernel.cuh) and any tensor-core SpMM are bounded by, measured
// without memory traffic. Each warp runs kChains independent accumulator
// chains of one mma shape in a loop; blocks of W warps, B blocks an SM, so the
// rate shows how many warps a scheduler needs to keep the tensor pipe busy.
// Shapes: m16n8k8 TF32 (the SDDMM tiles' mma, mma.cuh) and m16n8k16 bfloat16.
// Timed with CUDA events over a launch of many iterations, median of repeats.
//
// Build and run (GPU machine, repository root):
//   nvcc -std=c++17 -O3 -arch=sm_90 scripts/mma_probe.cu -o /tmp/mma_probe && /tmp/mma_probe
// Prints: shape, warps a block, blocks an SM, warps a scheduler, TFLOP/s, FLOP a clock an SM.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>

#include "../cuda/common/mma.cuh"
#include "probe_common.cuh"

namespace {

constexpr int kChains = 8;      // independent accumulators a warp: enough to hide mma latency
constexpr int kIterations = 4096;

__device__ __forceinline__ void MmaBf16(float (&c)[4], const uint32_t (&a)[4],
                                        const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
      "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// kBf16: m16n8k16 bfloat16, else m16n8k8 TF32. Operands come from the thread
// index (no loads); `out` keeps the sums alive (written only when `sink`).
template <bool kBf16>
__global__ void MmaLoop(float* out, int sink) {
  const uint32_t seed = threadIdx.x * 2654435761u;
  uint32_t a[4] = {seed, seed ^ 1u, seed ^ 2u, seed ^ 3u}, b[2] = {seed ^ 4u, seed ^ 5u};
  for (auto& v : a) v = (v & 0x007fffffu) | 0x3f800000u;  // floats in [1, 2), or bf16 pairs
  for (auto& v : b) v = (v & 0x007fffffu) | 0x3f800000u;
  float c[kChains][4] = {};
  for (int it = 0; it < kIterations; ++it) {
#pragma unroll
    for (int j = 0; j < kChains; ++j) {
      if constexpr (kBf16) {
        MmaBf16(c[j], a, b);
      } else {
        jsdl::MmaTf32(c[j], a, b);
      }
    }
  }
  if (sink) {
    float s = 0.0f;
    for (auto& chain : c)
      for (float v : chain) s += v;
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
  }
}

template <bool kBf16>
void Probe(int num_sms, int clock_khz, float* out) {
  const double flops_per_mma = 2.0 * 16 * 8 * (kBf16 ? 16 : 8);
  for (int warps : {4, 8, 16}) {
    for (int blocks_per_sm : {1, 2, 4}) {
      int resident = 0;  // blocks an SM can hold (registers, 64 warps)
      PROBE_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, MmaLoop<kBf16>,
                                                                32 * warps, 0));
      if (resident < blocks_per_sm) continue;  // would run in waves, not side by side
      const dim3 grid(num_sms * blocks_per_sm), block(32 * warps);
      const double seconds = MedianMs([&] { MmaLoop<kBf16><<<grid, block>>>(out, 0); }) * 1e-3;
      const double flops = flops_per_mma * kChains * kIterations * grid.x * warps;
      const double per_clock_sm = flops / seconds / (clock_khz * 1e3) / num_sms;
      std::printf("%-14s warps/block=%2d blocks/SM=%d warps/scheduler=%2d %7.1f TFLOP/s %6.0f FLOP/clk/SM\n",
                  kBf16 ? "bf16 m16n8k16" : "tf32 m16n8k8", warps, blocks_per_sm,
                  warps * blocks_per_sm / 4, flops / seconds * 1e-12, per_clock_sm);
    }
  }
}

}  // namespace

int main() {
  const ProbeDevice device = DescribeDevice();
  float* out = nullptr;
  PROBE_CHECK(cudaMalloc(&out, sizeof(float) * device.num_sms * 4 * 512));
  Probe<false>(device.num_sms, device.clock_khz, out);
  Probe<true>(device.num_sms, device.clock_khz, out);
  PROBE_CHECK(cudaFree(out));
  return 0;
}
