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

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define PROBE_CHECK(call)                                                          \
  do {                                                                             \
    const cudaError_t err_ = (call);                                               \
    if (err_ != cudaSuccess) {                                                     \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(err_));            \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

namespace {

constexpr int kSteps = 4;  // wgmma a group
constexpr int kIterations = 2048;
constexpr int kOperandBytes = 8192;  // an operand's shared memory: 64 rows of 128 bytes

// A shared-memory matrix descriptor without swizzle: start address, leading and
// stride byte offsets (each >> 4, 14 bits), swizzle mode 0 in bits 62-63.
__device__ __forceinline__ uint64_t Descriptor(const void* smem, uint32_t leading,
                                               uint32_t stride) {
  const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  return static_cast<uint64_t>((address & 0x3ffff) >> 4) |
         static_cast<uint64_t>((leading >> 4) & 0x3fff) << 16 |
         static_cast<uint64_t>((stride >> 4) & 0x3fff) << 32;
}

__device__ __forceinline__ void Fence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void Commit() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int kInFlight>
__device__ __forceinline__ void Wait() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kInFlight) : "memory");
#endif
}

// d += A (64 x k) B^T (k x 64): k = 8 in TF32 or 16 in bfloat16, a warpgroup's 32
// accumulators a thread.
template <bool kBf16>
__device__ __forceinline__ void Wgmma(float (&d)[32], uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if constexpr (kBf16) {
    asm volatile(
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, 1, 1, 1, 0, 0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
        : "l"(a), "l"(b));
  } else {
    asm volatile(
        "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, 1, 1, 1;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
        : "l"(a), "l"(b));
  }
#else
  __trap();  // built without sm_90a
#endif
}

template <bool kBf16>
__global__ void WgmmaLoop(float* out, int sink) {
  __shared__ __align__(128) unsigned char operands[2][kOperandBytes];
  for (int i = threadIdx.x; i < 2 * kOperandBytes / 4; i += blockDim.x)
    reinterpret_cast<uint32_t*>(operands)[i] = 0x3f800000u + i;  // floats near 1 (or bf16 pairs)
  __syncthreads();
  const uint64_t a = Descriptor(operands[0], 128, 256), b = Descriptor(operands[1], 128, 256);
  float d[32] = {};
  for (int it = 0; it < kIterations; ++it) {
    Fence();
#pragma unroll
    for (int s = 0; s < kSteps; ++s) Wgmma<kBf16>(d, a + 2 * s, b + 2 * s);  // next 32 bytes of k
    Commit();
    Wait<1>();
  }
  Wait<0>();
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
      WgmmaLoop<kBf16><<<grid, block>>>(out, 0);  // warm-up
      PROBE_CHECK(cudaGetLastError());
      PROBE_CHECK(cudaDeviceSynchronize());
      cudaEvent_t start, stop;
      PROBE_CHECK(cudaEventCreate(&start));
      PROBE_CHECK(cudaEventCreate(&stop));
      std::vector<float> ms(7);
      for (float& t : ms) {
        PROBE_CHECK(cudaEventRecord(start));
        WgmmaLoop<kBf16><<<grid, block>>>(out, 0);
        PROBE_CHECK(cudaEventRecord(stop));
        PROBE_CHECK(cudaEventSynchronize(stop));
        PROBE_CHECK(cudaEventElapsedTime(&t, start, stop));
      }
      PROBE_CHECK(cudaEventDestroy(start));
      PROBE_CHECK(cudaEventDestroy(stop));
      std::sort(ms.begin(), ms.end());
      const double seconds = ms[ms.size() / 2] * 1e-3;
      const double flops = flops_per_wgmma * kSteps * kIterations * grid.x * groups;
      const double per_clock_sm = flops / seconds / (clock_khz * 1e3) / num_sms;
      std::printf("%-16s warpgroups/block=%d blocks/SM=%d warps/scheduler=%2d %7.1f TFLOP/s %6.0f FLOP/clk/SM\n",
                  kBf16 ? "bf16 m64n64k16" : "tf32 m64n64k8", groups, blocks_per_sm,
                  groups * blocks_per_sm, flops / seconds * 1e-12, per_clock_sm);
    }
  }
}

}  // namespace

int main() {
  int device = 0, num_sms = 0, clock_khz = 0;
  PROBE_CHECK(cudaGetDevice(&device));
  PROBE_CHECK(cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, device));
  PROBE_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
  cudaDeviceProp prop;
  PROBE_CHECK(cudaGetDeviceProperties(&prop, device));
  std::printf("%s: %d SMs, %d MHz (the FLOP-a-clock column assumes this clock)\n", prop.name,
              num_sms, clock_khz / 1000);
  float* out = nullptr;
  PROBE_CHECK(cudaMalloc(&out, sizeof(float) * num_sms * 4 * 512));
  Probe<false>(num_sms, clock_khz, out);
  Probe<true>(num_sms, clock_khz, out);
  PROBE_CHECK(cudaFree(out));
  return 0;
}
