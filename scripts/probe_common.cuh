// What the tensor-core probes (mma_probe.cu, wgmma_probe.cu, wgmma_tile_probe.cu) share: the
// error check, the device's SMs and clock, and the timing of a launch (CUDA events, median of
// repeats, after one warm-up).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
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

// Median milliseconds of `repeats` runs of launch() (kernels on the default stream).
template <typename Launch>
double MedianMs(Launch launch, int repeats = 7) {
  launch();  // warm-up
  PROBE_CHECK(cudaGetLastError());
  PROBE_CHECK(cudaDeviceSynchronize());
  cudaEvent_t start, stop;
  PROBE_CHECK(cudaEventCreate(&start));
  PROBE_CHECK(cudaEventCreate(&stop));
  std::vector<float> ms(repeats);
  for (float& t : ms) {
    PROBE_CHECK(cudaEventRecord(start));
    launch();
    PROBE_CHECK(cudaEventRecord(stop));
    PROBE_CHECK(cudaEventSynchronize(stop));
    PROBE_CHECK(cudaEventElapsedTime(&t, start, stop));
  }
  PROBE_CHECK(cudaGetLastError());
  PROBE_CHECK(cudaEventDestroy(start));
  PROBE_CHECK(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct ProbeDevice {
  int num_sms = 0, clock_khz = 0;
};

// The current device's SMs and clock, printed as the output's first line.
inline ProbeDevice DescribeDevice() {
  ProbeDevice d;
  int device = 0;
  PROBE_CHECK(cudaGetDevice(&device));
  PROBE_CHECK(cudaDeviceGetAttribute(&d.num_sms, cudaDevAttrMultiProcessorCount, device));
  PROBE_CHECK(cudaDeviceGetAttribute(&d.clock_khz, cudaDevAttrClockRate, device));
  cudaDeviceProp prop;
  PROBE_CHECK(cudaGetDeviceProperties(&prop, device));
  std::printf("%s: %d SMs, %d MHz (a FLOP-a-clock column assumes this clock)\n", prop.name,
              d.num_sms, d.clock_khz / 1000);
  return d;
}
