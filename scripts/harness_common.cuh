// What the standalone kernel runners (spmm_harness.cu, sddmm_harness.cu) share:
// a CSR pattern from a DLMC .smtx file or random rows, dtype conversions, host
// to device copies, rows by decreasing length (the CSR type's row order) and a
// timing loop that ends with one launch between cudaProfilerStart/Stop for
// `ncu --profile-from-start off`. It includes what it uses itself (XLA's FFI error type, the
// tile index's shape), so a runner without an op's *_ffi.cu (spmm_union_probe.cu) needs nothing
// more.
#pragma once

#include "xla/ffi/api/ffi.h"

#include "../cuda/common/phase_clock.cuh"
#include "../cuda/common/tile_index.h"

#include <cuda_bf16.h>
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace harness {

#define HARNESS_CHECK(call)                                                            \
  do {                                                                                 \
    const cudaError_t err_ = (call);                                                   \
    if (err_ != cudaSuccess) {                                                         \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,              \
                   cudaGetErrorString(err_));                                          \
      std::exit(1);                                                                    \
    }                                                                                  \
  } while (0)

struct Pattern {
  int64_t m = 0, k = 0;
  std::vector<int32_t> offsets, columns;
  int64_t nnz() const { return static_cast<int64_t>(columns.size()); }
};

// .smtx: "m, k, nnz", then the m + 1 row offsets, then the nnz column indices.
inline Pattern ReadSmtx(const char* path) {
  std::ifstream file(path);
  std::string header, offsets, columns;
  if (!std::getline(file, header) || !std::getline(file, offsets)) {
    std::fprintf(stderr, "%s: not a .smtx file (gunzip DLMC files first)\n", path);
    std::exit(2);
  }
  std::getline(file, columns);  // absent when nnz = 0
  std::replace(header.begin(), header.end(), ',', ' ');
  Pattern p;
  int64_t nnz = 0;
  std::istringstream(header) >> p.m >> p.k >> nnz;
  std::istringstream off(offsets), col(columns);
  for (int32_t v; off >> v;) p.offsets.push_back(v);
  for (int32_t v; col >> v;) p.columns.push_back(v);
  if (static_cast<int64_t>(p.offsets.size()) != p.m + 1 || p.nnz() != nnz ||
      p.offsets.back() != nnz) {
    std::fprintf(stderr, "%s: inconsistent sizes\n", path);
    std::exit(2);
  }
  return p;
}

// Rows of binomial(k, density) distinct sorted columns.
inline Pattern RandomPattern(int64_t m, int64_t k, double density, std::mt19937_64& rng) {
  Pattern p;
  p.m = m;
  p.k = k;
  p.offsets.push_back(0);
  std::binomial_distribution<int64_t> length(k, density);
  std::vector<int32_t> all(k);
  std::iota(all.begin(), all.end(), 0);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t len = length(rng);
    for (int64_t j = 0; j < len; ++j)  // partial Fisher-Yates: the first len are a sample
      std::swap(all[j], all[j + std::uniform_int_distribution<int64_t>(0, k - 1 - j)(rng)]);
    std::vector<int32_t> row(all.begin(), all.begin() + len);
    std::sort(row.begin(), row.end());
    p.columns.insert(p.columns.end(), row.begin(), row.end());
    p.offsets.push_back(static_cast<int32_t>(p.columns.size()));
  }
  return p;
}

// PATTERN: "m,k,density" (random rows) or an uncompressed .smtx path.
inline Pattern PatternFromArgument(const char* argument) {
  long long m = 0, k = 0;
  double density = 0;
  if (std::sscanf(argument, "%lld,%lld,%lf", &m, &k, &density) == 3) {
    std::mt19937_64 rng(2020);
    return RandomPattern(m, k, density, rng);
  }
  return ReadSmtx(argument);
}

template <typename T>
T FromDouble(double x) {
  if constexpr (std::is_same_v<T, float>) return static_cast<float>(x);
  else return __float2bfloat16_rn(static_cast<float>(x));
}
template <typename T>
double ToDouble(T x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return __bfloat162float(x);
}

// n values uniform in [-1, 1], rounded to T; `exact` gets what T holds, as float64.
template <typename T>
std::vector<T> RandomValues(int64_t n, std::mt19937_64& rng, std::vector<double>& exact) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<T> values(n);
  exact.resize(n);
  for (int64_t i = 0; i < n; ++i) exact[i] = ToDouble(values[i] = FromDouble<T>(uniform(rng)));
  return values;
}

template <typename U>
U* ToDevice(const std::vector<U>& host) {
  U* device = nullptr;
  HARNESS_CHECK(cudaMalloc(&device, std::max<size_t>(host.size(), 1) * sizeof(U)));
  if (!host.empty())
    HARNESS_CHECK(cudaMemcpy(device, host.data(), host.size() * sizeof(U),
                             cudaMemcpyHostToDevice));
  return device;
}

template <typename U>
std::vector<U> ToHost(const U* device, int64_t n) {
  std::vector<U> host(n);
  if (n > 0)
    HARNESS_CHECK(cudaMemcpy(host.data(), device, n * sizeof(U), cudaMemcpyDeviceToHost));
  return host;
}

// Rows by decreasing length, as the CSR type's row order (ties keep their order).
inline std::vector<int32_t> RowsByLength(const Pattern& p) {
  std::vector<int32_t> rows(p.m);
  std::iota(rows.begin(), rows.end(), 0);
  std::stable_sort(rows.begin(), rows.end(), [&](int32_t a, int32_t b) {
    return p.offsets[a + 1] - p.offsets[a] > p.offsets[b + 1] - p.offsets[b];
  });
  return rows;
}

// Median over `batches` of the time per launch in batches of back-to-back
// launches (CUDA events), after a warm-up. With JSDL_HARNESS_GRAPH=1 a batch is one CUDA graph
// of the launches, captured once (as XLA's command buffers run the handlers): the host's
// launch work, about 4-5 us a launch and more than a small kernel, leaves the timed loop.
template <typename Launch>
double TimeLaunches(cudaStream_t stream, int batches, Launch launch) {
  constexpr int kLaunchesPerBatch = 50;
  const char* graph_env = std::getenv("JSDL_HARNESS_GRAPH");
  const bool graph = graph_env && graph_env[0] == '1';
  cudaEvent_t start, stop;
  HARNESS_CHECK(cudaEventCreate(&start));
  HARNESS_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 5; ++i) launch();  // warm-up
  cudaGraphExec_t batch_graph = nullptr;
  if (graph) {
    cudaGraph_t captured;
    HARNESS_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
    for (int i = 0; i < kLaunchesPerBatch; ++i) launch();
    HARNESS_CHECK(cudaStreamEndCapture(stream, &captured));
    HARNESS_CHECK(cudaGraphInstantiate(&batch_graph, captured, 0));
    HARNESS_CHECK(cudaGraphDestroy(captured));
    HARNESS_CHECK(cudaGraphLaunch(batch_graph, stream));  // warm-up (the graph's upload)
  }
  std::vector<float> per_launch_us;
  for (int b = 0; b < batches; ++b) {
    HARNESS_CHECK(cudaEventRecord(start, stream));
    if (graph) {
      HARNESS_CHECK(cudaGraphLaunch(batch_graph, stream));
    } else {
      for (int i = 0; i < kLaunchesPerBatch; ++i) launch();
    }
    HARNESS_CHECK(cudaEventRecord(stop, stream));
    HARNESS_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    HARNESS_CHECK(cudaEventElapsedTime(&ms, start, stop));
    per_launch_us.push_back(ms * 1000.f / kLaunchesPerBatch);
  }
  std::sort(per_launch_us.begin(), per_launch_us.end());
  if (batch_graph) HARNESS_CHECK(cudaGraphExecDestroy(batch_graph));
  HARNESS_CHECK(cudaEventDestroy(start));
  HARNESS_CHECK(cudaEventDestroy(stop));
  return per_launch_us[per_launch_us.size() / 2];
}

// TimeLaunches, then one more launch for ncu (--profile-from-start off).
template <typename Launch>
double TimeAndProfile(cudaStream_t stream, int batches, Launch launch) {
  const double us = TimeLaunches(stream, batches, launch);
  HARNESS_CHECK(cudaProfilerStart());
  launch();
  HARNESS_CHECK(cudaStreamSynchronize(stream));
  HARNESS_CHECK(cudaProfilerStop());
  return us;
}

__global__ void EmptyKernel() {}

// The loop's floor: an empty one-warp kernel timed as TimeLaunches times a call, so a small
// call's time reads against what any launch costs there.
inline double EmptyLaunchMicros(cudaStream_t stream, int batches) {
  return TimeLaunches(stream, batches, [&] {
    EmptyKernel<<<1, 32, 0, stream>>>();
    HARNESS_CHECK(cudaGetLastError());
  });
}

// An output buffer of `count` elements (one at least).
template <typename T>
T* DeviceOutput(int64_t count) {
  T* out = nullptr;
  HARNESS_CHECK(cudaMalloc(&out, std::max<int64_t>(count, 1) * sizeof(T)));
  return out;
}

inline cudaStream_t NewStream() {
  cudaStream_t stream;
  HARNESS_CHECK(cudaStreamCreate(&stream));
  return stream;
}

// Relative L2 error of `got` against `want`.
template <typename T>
double RelativeError(const std::vector<T>& got, const std::vector<double>& want) {
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = ToDouble(got[i]) - want[i];
    err2 += d * d;
    ref2 += want[i] * want[i];
  }
  return ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
}

// The op's launch result: exits on an error (the handler's own checks).
inline void ExitOnError(const xla::ffi::Error& error) {
  if (!error.success()) {
    std::fprintf(stderr, "launch failed: %s\n", error.message().c_str());
    std::exit(1);
  }
}

// Command line: PATTERN SIZE [DTYPE] [batches], SIZE named size_name (N or D)
// and DTYPE one of `dtypes` (the first by default). False, with the usage or
// the error printed, when they are bad.
// The tile index (csr.py _tile_index): entries listed tile by tile (row-major
// 64 x 64 tiles, CSR order within a tile) and where each tile's list starts;
// both empty when the matrix has more tiles than max(nnz, 2^16).
inline void TileIndex(const Pattern& p, std::vector<int32_t>& offsets, std::vector<int32_t>& entries) {
  const int64_t tiles = jsdl::TileIndexCount(p.m, p.k);
  offsets.clear();
  entries.clear();
  if (tiles > std::max<int64_t>(p.nnz(), 1 << 16)) return;
  constexpr int64_t kEdge = jsdl::kTileIndexEdge;
  const int64_t per_row = (p.k + kEdge - 1) / kEdge;
  std::vector<int64_t> key(p.nnz());
  offsets.assign(tiles + 1, 0);
  for (int64_t i = 0; i < p.m; ++i)
    for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
      key[e] = i / kEdge * per_row + p.columns[e] / kEdge;
      ++offsets[key[e] + 1];
    }
  std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
  std::vector<int32_t> next(offsets.begin(), offsets.end() - 1);
  entries.resize(p.nnz());
  for (int64_t e = 0; e < p.nnz(); ++e) entries[next[key[e]]++] = static_cast<int32_t>(e);
}

struct Arguments {
  Pattern pattern;
  int64_t size = 0;
  std::string dtype;
  int batches = 21;
};

inline bool ParseArguments(int argc, char** argv, const char* size_name,
                           std::initializer_list<const char*> dtypes, Arguments& a) {
  std::string names;
  for (const char* d : dtypes) names += std::string(names.empty() ? "" : "|") + d;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PATTERN %s [%s] [batches]\n", argv[0], size_name,
                 names.c_str());
    return false;
  }
  a.pattern = PatternFromArgument(argv[1]);
  a.size = std::atoll(argv[2]);
  a.dtype = argc > 3 ? argv[3] : *dtypes.begin();
  a.batches = argc > 4 ? std::atoi(argv[4]) : 21;
  const bool known = std::find(dtypes.begin(), dtypes.end(), a.dtype) != dtypes.end();
  if (a.size < 1 || a.batches < 1 || !known) {
    std::fprintf(stderr, "%s and batches must be positive, the dtype one of %s\n", size_name,
                 names.c_str());
    return false;
  }
  return true;
}

// One line of results; 2 nnz x size flops a call.
inline void PrintResult(const Pattern& p, const char* size_name, int64_t size,
                        const std::string& dtype, const char* variant_env, double us,
                        double rel_err) {
  const char* variant = std::getenv(variant_env);
  std::printf("m=%lld k=%lld %s=%lld nnz=%lld dtype=%s variant=%s us=%.3f tflops=%.3f "
              "rel_err=%.2e\n",
              static_cast<long long>(p.m), static_cast<long long>(p.k), size_name,
              static_cast<long long>(size), static_cast<long long>(p.nnz()), dtype.c_str(),
              variant ? variant : "auto", us, 2.0 * p.nnz() * size / us * 1e-6, rel_err);
}

// Built with -DJSDL_PHASE_CLOCK (cuda/common/phase_clock.cuh): one more launch, then where its
// blocks' time went, as the median and largest SM cycles between consecutive phase points, and
// when they ran (the global timer: the spread of the blocks' starts and the launch's span).
template <typename Launch>
void ReportPhaseClocks(cudaStream_t stream, Launch launch) {
#ifdef JSDL_PHASE_CLOCK
  constexpr int kPoints = 2 + jsdl::kPhaseClockPoints;
  std::vector<long long> clocks(size_t{jsdl::kPhaseClockBlocks} * kPoints, 0);
  HARNESS_CHECK(cudaMemcpyToSymbol(jsdl::phase_clock, clocks.data(), clocks.size() * 8));
  launch();
  HARNESS_CHECK(cudaStreamSynchronize(stream));
  HARNESS_CHECK(cudaMemcpyFromSymbol(clocks.data(), jsdl::phase_clock, clocks.size() * 8));
  std::vector<const long long*> blocks;  // the blocks that recorded a start
  for (size_t i = 0; i < clocks.size(); i += kPoints)
    if (clocks[i] != 0) blocks.push_back(&clocks[i]);
  if (blocks.empty()) return;
  long long first = blocks[0][0], last_start = first, last_end = blocks[0][1];
  for (const long long* c : blocks) {
    first = std::min(first, c[0]);
    last_start = std::max(last_start, c[0]);
    last_end = std::max(last_end, c[1]);
  }
  std::printf("  phases: %zu blocks, starts spread %lld ns, span %lld ns; SM cycles", blocks.size(),
              last_start - first, last_end - first);
  for (int i = 1; i < jsdl::kPhaseClockPoints; ++i) {
    std::vector<long long> d;
    for (const long long* c : blocks)
      if (c[2 + i] != 0) d.push_back(c[2 + i] - c[2 + i - 1]);
    if (d.empty()) break;
    std::sort(d.begin(), d.end());
    std::printf("  %d-%d median %lld max %lld", i - 1, i, d[d.size() / 2], d.back());
  }
  std::printf("\n");
#else
  (void)stream, (void)launch;
#endif
}

// What follows a runner's setup: one launch checked against its float64
// reference `ref`, the timing and the result line. out holds ref.size() values,
// or with `checked` out_size values of which ref holds those at the indices
// `checked` lists. 0, or 3 when the relative error exceeds `tolerance`.
template <typename T, typename Launch>
int CheckTimeAndReport(cudaStream_t stream, Launch launch, const T* out,
                       const std::vector<double>& ref, double tolerance, int batches,
                       const Pattern& p, const char* size_name, int64_t size,
                       const std::string& dtype, const char* variant_env,
                       const std::vector<int64_t>* checked = nullptr, int64_t out_size = 0) {
  launch();
  HARNESS_CHECK(cudaStreamSynchronize(stream));
  std::vector<T> got = ToHost(out, checked ? out_size : static_cast<int64_t>(ref.size()));
  if (checked) {
    std::vector<T> picked(checked->size());
    for (size_t i = 0; i < checked->size(); ++i) picked[i] = got[(*checked)[i]];
    got.swap(picked);
  }
  const double rel_err = RelativeError(got, ref);
  const double us = TimeAndProfile(stream, batches, launch);
  PrintResult(p, size_name, size, dtype, variant_env, us, rel_err);
  std::printf("  an empty kernel in the same loop: %.3f us a launch\n",
              EmptyLaunchMicros(stream, batches));
  ReportPhaseClocks(stream, launch);
  return rel_err <= tolerance ? 0 : 3;
}

}  // namespace harness
