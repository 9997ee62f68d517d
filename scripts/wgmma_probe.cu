// What Hopper's wgmma reaches on this GPU, beside mma.sync (mma_probe.cu): the
// tensor-core rate an SDDMM tile on wgmma (a warpgroup's m64n64 accumulators,
// operands read from shared memory by descriptor) would be bounded by, without
// memory traffic. Each warpgroup issues kSteps wgmma on one accumulator set,
// commits them as a group and keeps one group in flight (wait_group 1); blocks
// of G warpgroups, B blocks an SM. Shapes: m64n64k8 TF32 and m64n64k16
// bfloat16, both operands in shared memory (no swizzle; the values are
// whatever the buffer holds: the rate does not depend on them). Timed with
// CUDA events, median of repeats. Needs sm_90a (wgmma is not in sm_90).
//
// Build and run (GPU machine, repository root):
//   nvcc -std=c++17 -O3 -arch=sm_90a scripts/wgmma_probe.cu -o /tmp/wgmma_probe && /tmp/wgmma_probe
// Prints: shape, warpgroups a block, blocks an SM, warps a scheduler, TFLOP/s, FLOP a clock an SM.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>

#include "../cuda/common/wgmma.cuh"
#include "probe_common.cuh"

namespace {

constexpr int kSteps = 4;  // wgmma a group
constexpr int kIterations = 2048;
constexpr int kOperandBytes = 8192;  // an operand's shared memory: 64 rows of 128 bytes

template <bool kBf16>
__global__ void WgmmaLoop(float* out, int sink) {
  __shared__ __align__(128) unsigned char operands[2][kOperandBytes];
  for (int i = threadIdx.x; i < 2 * kOperandBytes / 4; i += blockDim.x)
    reinterpret_cast<uint32_t*>(operands)[i] = 0x3f800000u + i;  // floats near 1 (or bf16 pairs)
  __syncthreads();
  const uint64_t a = jsdl::WgmmaDescriptor(operands[0], 128, 256);
  const uint64_t b = jsdl::WgmmaDescriptor(operands[1], 128, 256);
  float d[32] = {};
  for (int it = 0; it < kIterations; ++it) {
    jsdl::WgmmaFence();
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {  // the next 32 bytes of k
      if constexpr (kBf16) {
        jsdl::Wgmma16Bit<true>(d, a + 2 * s, b + 2 * s, 1);
      } else {
        jsdl::WgmmaTf32(d, a + 2 * s, b + 2 * s, 1);
      }
    }
    jsdl::WgmmaCommit();
    jsdl::WgmmaWait<1>();
  }
  jsdl::WgmmaWait<0>();
  jsdl::WgmmaPin(d);
  if (sink) {
    float total = 0.0f;
    for (float v : d) total += v;
    out[blockIdx.x * blockDim.x + threadIdx.x] = total;
  }
}

template <bool kBf16>
void Probe(int num_sms, int clock_khz, float* out) {
  const double flops_per_wgmma = 2.0 * 64 * 64 * (kBf16 ? 16 : 8);
  for (int groups : {1, 2, 4}) {
    for (int blocks_per_sm : {1, 2, 4}) {
      int resident = 0;
      PROBE_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, WgmmaLoop<kBf16>,
                                                                128 * groups, 0));
      if (resident < blocks_per_sm) continue;  // would run in waves, not side by side
      const dim3 grid(num_sms * blocks_per_sm), block(128 * groups);
      const double seconds =
          MedianMs([&] { WgmmaLoop<kBf16><<<grid, block>>>(out, 0); }) * 1e-3;
      const double flops = flops_per_wgmma * kSteps * kIterations * grid.x * groups;
      const double per_clock_sm = flops / seconds / (clock_khz * 1e3) / num_sms;
      std::printf("%-16s warpgroups/block=%d blocks/SM=%d warps/scheduler=%2d %7.1f TFLOP/s "
                  "%6.0f FLOP/clk/SM\n",
                  kBf16 ? "bf16 m64n64k16" : "tf32 m64n64k8", groups, blocks_per_sm,
                  groups * blocks_per_sm, flops / seconds * 1e-12, per_clock_sm);
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
