// Standalone SpMM runner, for Nsight Compute: ncu segfaults under the JAX
// process on the device machine (docs/gpu-runs.md, sessions 4-10), so this
// program runs the package's own launch path (jsdl::Launch: the heuristic, or
// the variant JSDL_SPMM_VARIANT names) without JAX. It builds a CSR pattern
// (an uncompressed DLMC .smtx, or random rows of binomial length), draws
// fresh random values, checks one launch against a float64 host reference,
// times batches of launches with CUDA events (median per launch) and wraps
// one more launch in cudaProfilerStart/Stop for `ncu --profile-from-start off`.
//
// Build (repository root, on the GPU machine):
//   nvcc -std=c++17 -O3 -arch=sm_90 -I$(python3 -c "import jax; print(jax.ffi.include_dir())") \
//     scripts/spmm_harness.cu -o /tmp/spmm_harness
// Run:  /tmp/spmm_harness PATTERN N [float32|bfloat16] [batches]
//   PATTERN: path.smtx (gunzip DLMC files first) or m,k,density (e.g. 512,512,0.1)
// Profile: ncu --profile-from-start off --set full /tmp/spmm_harness PATTERN N
#include "../cuda/spmm/spmm_ffi.cu"

#include <cuda_profiler_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

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
};

// .smtx: "m, k, nnz", then the m + 1 row offsets, then the nnz column indices.
Pattern ReadSmtx(const char* path) {
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
  if (static_cast<int64_t>(p.offsets.size()) != p.m + 1 ||
      static_cast<int64_t>(p.columns.size()) != nnz || p.offsets.back() != nnz) {
    std::fprintf(stderr, "%s: inconsistent sizes\n", path);
    std::exit(2);
  }
  return p;
}

// Rows of binomial(k, density) distinct sorted columns.
Pattern RandomPattern(int64_t m, int64_t k, double density, std::mt19937_64& rng) {
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

template <typename U>
U* ToDevice(const std::vector<U>& host) {
  U* device = nullptr;
  HARNESS_CHECK(cudaMalloc(&device, std::max<size_t>(host.size(), 1) * sizeof(U)));
  if (!host.empty())
    HARNESS_CHECK(cudaMemcpy(device, host.data(), host.size() * sizeof(U),
                             cudaMemcpyHostToDevice));
  return device;
}

template <typename T>
int Run(const Pattern& p, int64_t n, int batches, const char* dtype) {
  const int64_t m = p.m, k = p.k, nnz = static_cast<int64_t>(p.columns.size());
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  // Values and dense data rounded to T first, so the reference sees what the kernel sees.
  std::vector<T> values(nnz), dense(k * n);
  std::vector<double> values64(nnz), dense64(k * n);
  for (int64_t e = 0; e < nnz; ++e) values64[e] = ToDouble(values[e] = FromDouble<T>(uniform(rng)));
  for (int64_t i = 0; i < k * n; ++i) dense64[i] = ToDouble(dense[i] = FromDouble<T>(uniform(rng)));
  // Rows by decreasing length, as the CSR type's row order (ties keep their order).
  std::vector<int32_t> rows(m);
  std::iota(rows.begin(), rows.end(), 0);
  std::stable_sort(rows.begin(), rows.end(), [&](int32_t a, int32_t b) {
    return p.offsets[a + 1] - p.offsets[a] > p.offsets[b + 1] - p.offsets[b];
  });

  jsdl::SpmmArgs<T> args{};
  args.values = ToDevice(values);
  args.dense = ToDevice(dense);
  args.row_offsets = ToDevice(p.offsets);
  args.column_indices = ToDevice(p.columns);
  args.row_indices = ToDevice(rows);
  T* out = nullptr;
  HARNESS_CHECK(cudaMalloc(&out, std::max<int64_t>(m * n, 1) * sizeof(T)));
  args.out = out;
  args.m = m;
  args.k = k;
  args.n = n;
  args.nnz = nnz;
  args.batch = 1;
  cudaStream_t stream;
  HARNESS_CHECK(cudaStreamCreate(&stream));
  auto launch = [&] {
    const xla::ffi::Error error = jsdl::Launch<T>(stream, args);
    if (!error.success()) {
      std::fprintf(stderr, "launch failed: %s\n", error.message().c_str());
      std::exit(1);
    }
  };

  launch();
  HARNESS_CHECK(cudaStreamSynchronize(stream));
  std::vector<T> result(m * n);
  HARNESS_CHECK(cudaMemcpy(result.data(), out, result.size() * sizeof(T),
                           cudaMemcpyDeviceToHost));
  double err2 = 0, ref2 = 0;
  std::vector<double> ref(n);
  for (int64_t i = 0; i < m; ++i) {
    std::fill(ref.begin(), ref.end(), 0.0);
    for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e)
      for (int64_t j = 0; j < n; ++j) ref[j] += values64[e] * dense64[p.columns[e] * n + j];
    for (int64_t j = 0; j < n; ++j) {
      const double d = ToDouble(result[i * n + j]) - ref[j];
      err2 += d * d;
      ref2 += ref[j] * ref[j];
    }
  }
  const double rel_err = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);

  // Median over `batches` of the time per launch in a batch of back-to-back launches.
  constexpr int kLaunchesPerBatch = 50;
  cudaEvent_t start, stop;
  HARNESS_CHECK(cudaEventCreate(&start));
  HARNESS_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 5; ++i) launch();  // warm-up
  std::vector<float> per_launch_us;
  for (int b = 0; b < batches; ++b) {
    HARNESS_CHECK(cudaEventRecord(start, stream));
    for (int i = 0; i < kLaunchesPerBatch; ++i) launch();
    HARNESS_CHECK(cudaEventRecord(stop, stream));
    HARNESS_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    HARNESS_CHECK(cudaEventElapsedTime(&ms, start, stop));
    per_launch_us.push_back(ms * 1000.f / kLaunchesPerBatch);
  }
  std::sort(per_launch_us.begin(), per_launch_us.end());
  const double us = per_launch_us[per_launch_us.size() / 2];

  HARNESS_CHECK(cudaProfilerStart());  // one steady-state launch for ncu
  launch();
  HARNESS_CHECK(cudaStreamSynchronize(stream));
  HARNESS_CHECK(cudaProfilerStop());

  const char* variant = std::getenv("JSDL_SPMM_VARIANT");
  std::printf("m=%lld k=%lld n=%lld nnz=%lld dtype=%s variant=%s us=%.3f tflops=%.3f "
              "rel_err=%.2e\n",
              static_cast<long long>(m), static_cast<long long>(k),
              static_cast<long long>(n), static_cast<long long>(nnz), dtype,
              variant ? variant : "auto", us, 2.0 * nnz * n / us * 1e-6, rel_err);
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 3e-2;
  return rel_err <= tolerance ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PATTERN N [float32|bfloat16] [batches]\n", argv[0]);
    return 2;
  }
  Pattern pattern;
  int64_t m = 0, k = 0;
  double density = 0;
  if (std::sscanf(argv[1], "%lld,%lld,%lf", reinterpret_cast<long long*>(&m),
                  reinterpret_cast<long long*>(&k), &density) == 3) {
    std::mt19937_64 rng(2020);
    pattern = RandomPattern(m, k, density, rng);
  } else {
    pattern = ReadSmtx(argv[1]);
  }
  const int64_t n = std::atoll(argv[2]);
  const std::string dtype = argc > 3 ? argv[3] : "float32";
  const int batches = argc > 4 ? std::atoi(argv[4]) : 21;
  if (n < 1 || batches < 1 || (dtype != "float32" && dtype != "bfloat16")) {
    std::fprintf(stderr, "N and batches must be positive, the dtype float32 or bfloat16\n");
    return 2;
  }
  return dtype == "float32" ? Run<float>(pattern, n, batches, "float32")
                            : Run<__nv_bfloat16>(pattern, n, batches, "bfloat16");
}
