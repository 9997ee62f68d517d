// Probe (session 50, not the package's kernel): SpMM in float32 where a warp takes R rows
// together over the union of their columns, so each dense value read from shared memory feeds
// R multiply-adds (zeros where a row lacks the column). The wide stream kernel reads one panel
// value a multiply-add; at 70% sparsity 4 rows hold about 76% of the columns, so they read 63%
// of what they read one at a time and do 2.5x the multiply-adds, a quarter of a read's cost
// each. R = 1 is the same walk one row at a time. Measured (docs/kernels.md, session 50): the
// unions lost (R = 4: 0.98x the heuristic's choice on ResNet-50's 70% layer, 1.07-2.3x slower
// elsewhere); R = 1 in one wave of 16-warp blocks, three an SM, beat it 1.09-1.13x on four
// one-wave calls.
//
// Grid: (row blocks of W warps x G groups of R rows, 64-column tiles); a block copies its
// k x 64 panel to shared memory, then each warp walks its groups: the 4 8-lane groups of a warp
// take every 4th union entry, lane l holds columns 4l..4l+3 and 32+4l..32+4l+3 of each of the R
// rows; shuffles sum the 4 parts and part q stores rows q, q + 4, ...
//
// Build (repository root): nvcc -std=c++17 -O3 -arch=sm_90a \
//   -I$(python3 -c "import jax; print(jax.ffi.include_dir())") scripts/spmm_union_probe.cu \
//   -o /tmp/spmm_union_probe
// Run: /tmp/spmm_union_probe PATTERN N R W G [batches]   (N a multiple of 64; R 1, 2, 4 or 8)
#include "harness_common.cuh"

namespace {

using namespace harness;

constexpr int kTileCols = 64;  // a panel row: 16 float4, two a lane of an 8-lane group

template <int R>
struct UnionValues;  // R values of one union entry, in one or two vector loads
template <>
struct UnionValues<1> {
  __device__ static void Load(const float* p, float* v) { v[0] = __ldg(p); }
};
template <>
struct UnionValues<2> {
  __device__ static void Load(const float* p, float* v) {
    const float2 a = __ldg(reinterpret_cast<const float2*>(p));
    v[0] = a.x, v[1] = a.y;
  }
};
template <>
struct UnionValues<4> {
  __device__ static void Load(const float* p, float* v) {
    const float4 a = __ldg(reinterpret_cast<const float4*>(p));
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w;
  }
};
template <>
struct UnionValues<8> {
  __device__ static void Load(const float* p, float* v) {
    UnionValues<4>::Load(p, v);
    UnionValues<4>::Load(p + 4, v + 4);
  }
};

template <int R>
__global__ void __launch_bounds__(512) UnionSpmm(const int* group_offsets, const int* columns,
                                                  const float* values, const float* dense,
                                                  float* out, int m, int k, int n, int groups,
                                                  int groups_per_block) {
  extern __shared__ float4 panel[];  // k rows x 16 float4
  const int c0 = blockIdx.y * kTileCols;
  for (int i = threadIdx.x; i < k * 16; i += blockDim.x)
    panel[i] = __ldg(reinterpret_cast<const float4*>(dense + int64_t{i >> 4} * n + c0) + (i & 15));
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, part = lane >> 3, l = lane & 7;
  const int first = blockIdx.x * groups_per_block;
  const int last = min(groups, first + groups_per_block);
  for (int g = first + warp; g < last; g += blockDim.x >> 5) {
    float acc[R][8] = {};
    const int end = group_offsets[g + 1];
#pragma unroll 4
    for (int u = group_offsets[g] + part; u < end; u += 4) {
      const int c = __ldg(columns + u);
      float v[R];
      UnionValues<R>::Load(values + int64_t{u} * R, v);
      const float4 a = panel[c * 16 + l], b = panel[c * 16 + 8 + l];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        acc[r][0] = fmaf(v[r], a.x, acc[r][0]), acc[r][1] = fmaf(v[r], a.y, acc[r][1]);
        acc[r][2] = fmaf(v[r], a.z, acc[r][2]), acc[r][3] = fmaf(v[r], a.w, acc[r][3]);
        acc[r][4] = fmaf(v[r], b.x, acc[r][4]), acc[r][5] = fmaf(v[r], b.y, acc[r][5]);
        acc[r][6] = fmaf(v[r], b.z, acc[r][6]), acc[r][7] = fmaf(v[r], b.w, acc[r][7]);
      }
    }
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        acc[r][j] += __shfl_xor_sync(0xffffffffu, acc[r][j], 8);
        acc[r][j] += __shfl_xor_sync(0xffffffffu, acc[r][j], 16);
      }
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int row = g * R + r;
      if (r % 4 != part || row >= m) continue;
      float4* o = reinterpret_cast<float4*>(out + int64_t{row} * n + c0);
      o[l] = make_float4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
      o[8 + l] = make_float4(acc[r][4], acc[r][5], acc[r][6], acc[r][7]);
    }
  }
}

// Groups of R consecutive rows: each group's sorted union of columns and, for each, the R rows'
// values (0 where a row lacks it).
struct Unions {
  std::vector<int32_t> offsets{0}, columns;
  std::vector<float> values;
};

Unions BuildUnions(const Pattern& p, const std::vector<float>& vals, int R) {
  Unions u;
  std::vector<int32_t> slot(p.k, -1);
  for (int64_t g0 = 0; g0 < p.m; g0 += R) {
    std::vector<int32_t> cols;
    for (int64_t i = g0; i < std::min<int64_t>(p.m, g0 + R); ++i)
      for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) cols.push_back(p.columns[e]);
    std::sort(cols.begin(), cols.end());
    cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
    const size_t base = u.columns.size();
    for (size_t j = 0; j < cols.size(); ++j) slot[cols[j]] = static_cast<int32_t>(base + j);
    u.columns.insert(u.columns.end(), cols.begin(), cols.end());
    u.values.resize(u.columns.size() * R, 0.f);
    for (int64_t i = g0; i < std::min<int64_t>(p.m, g0 + R); ++i)
      for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e)
        u.values[size_t(slot[p.columns[e]]) * R + (i - g0)] += vals[e];
    u.offsets.push_back(static_cast<int32_t>(u.columns.size()));
  }
  return u;
}

template <int R>
int Run(const Pattern& p, int64_t n, int warps, int groups_per_warp, int batches) {
  const int64_t m = p.m, k = p.k, nnz = p.nnz();
  std::mt19937_64 rng(12345);
  std::vector<double> values64, dense64;
  const std::vector<float> values = RandomValues<float>(nnz, rng, values64);
  const std::vector<float> dense = RandomValues<float>(k * n, rng, dense64);
  const Unions u = BuildUnions(p, values, R);
  const int groups = static_cast<int>(u.offsets.size()) - 1;
  const int groups_per_block = warps * groups_per_warp;
  const dim3 grid((groups + groups_per_block - 1) / groups_per_block, n / kTileCols);
  // Before any CUDA call, so the CPU machine's tests read it (tests/test_build.py).
  std::printf("R=%d W=%d G=%d grid=%ux%u union entries %zu (%.3f of nnz, %.3f of R x nnz)\n", R,
              warps, groups_per_warp, grid.x, grid.y, u.columns.size(),
              double(u.columns.size()) / std::max<int64_t>(nnz, 1),
              double(u.columns.size()) * R / std::max<int64_t>(nnz, 1));
  std::fflush(stdout);
  std::vector<double> ref(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e)
      for (int64_t c = 0; c < n; ++c) ref[i * n + c] += values64[e] * dense64[p.columns[e] * n + c];

  const int* d_offsets = ToDevice(u.offsets);
  const int* d_columns = ToDevice(u.columns);
  const float* d_values = ToDevice(u.values);
  const float* d_dense = ToDevice(dense);
  float* d_out = DeviceOutput<float>(m * n);
  const size_t smem = size_t(k) * kTileCols * sizeof(float);
  HARNESS_CHECK(cudaFuncSetAttribute(UnionSpmm<R>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(smem)));
  const cudaStream_t stream = NewStream();
  auto launch = [&] {
    UnionSpmm<R><<<grid, warps * 32, smem, stream>>>(d_offsets, d_columns, d_values, d_dense,
                                                      d_out, m, k, n, groups, groups_per_block);
    HARNESS_CHECK(cudaGetLastError());
  };
  return CheckTimeAndReport(stream, launch, d_out, ref, 1e-5, batches, p, "n", n, "float32",
                            "JSDL_SPMM_VARIANT");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s PATTERN N R W G [batches]\n", argv[0]);
    return 2;
  }
  const Pattern p = PatternFromArgument(argv[1]);
  const int64_t n = std::atoll(argv[2]);
  const int r = std::atoi(argv[3]), w = std::atoi(argv[4]), g = std::atoi(argv[5]);
  const int batches = argc > 6 ? std::atoi(argv[6]) : 9;
  if (n <= 0 || n % kTileCols != 0 || w < 1 || w > 16 || g < 1 || batches < 1 ||
      p.k * kTileCols * 4 > 227 * 1024) {
    std::fprintf(stderr, "N a positive multiple of 64, 1 <= W <= 16, G >= 1, k <= 908\n");
    return 2;
  }
  switch (r) {
    case 1: return Run<1>(p, n, w, g, batches);
    case 2: return Run<2>(p, n, w, g, batches);
    case 4: return Run<4>(p, n, w, g, batches);
    case 8: return Run<8>(p, n, w, g, batches);
    default: std::fprintf(stderr, "R: 1, 2, 4 or 8\n"); return 2;
  }
}
