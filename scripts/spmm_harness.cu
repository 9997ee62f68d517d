// Standalone SpMM runner, for Nsight Compute: ncu segfaults under the JAX
// process on the device machine (docs/gpu-runs.md, sessions 4-10), so this
// program runs the package's own launch path (jsdl::Launch: the heuristic, or
// the variant JSDL_SPMM_VARIANT names) without JAX. It builds a CSR pattern
// (an uncompressed DLMC .smtx, or random rows of binomial length), draws
// fresh random values, checks one launch against a float64 host reference
// (every column up to N = 8192; past that the first and last 1024 and 6144
// drawn at random: harness_columns.h),
// times batches of launches with CUDA events (median per launch) and wraps
// one more launch in cudaProfilerStart/Stop for `ncu --profile-from-start off`.
//
// Build (repository root, on the GPU machine):
//   nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A \
//     -I$(python3 -c "import jax; print(jax.ffi.include_dir())") scripts/spmm_harness.cu \
//     -o /tmp/spmm_harness
//   (-DJSDL_SM90A with sm_90a: the wgmma tile may run, as in the package's default build)
// Run:  /tmp/spmm_harness PATTERN N [float32|tf32|bfloat16] [batches]
//   PATTERN: path.smtx (gunzip DLMC files first) or m,k,density (e.g. 512,512,0.1); tf32:
//   float32 at DEFAULT precision (the wgmma tile in TF32), float32 is HIGHEST.
// Profile: ncu --profile-from-start off --set full /tmp/spmm_harness PATTERN N
#include "../cuda/spmm/spmm_ffi.cu"

#include "harness_columns.h"
#include "harness_common.cuh"

namespace {

using namespace harness;

template <typename T>
int Run(const Pattern& p, int64_t n, bool tf32, int batches, const std::string& dtype) {
  const int64_t m = p.m, k = p.k, nnz = p.nnz();
  std::mt19937_64 rng(12345);
  // Values and dense data rounded to T first, so the reference sees what the kernel sees.
  std::vector<double> values64, dense64;
  const std::vector<T> values = RandomValues<T>(nnz, rng, values64);
  const std::vector<T> dense = RandomValues<T>(k * n, rng, dense64);

  jsdl::SpmmArgs<T> args{};
  args.values = ToDevice(values);
  args.dense = ToDevice(dense);
  args.row_offsets = ToDevice(p.offsets);
  args.column_indices = ToDevice(p.columns);
  args.row_indices = ToDevice(RowsByLength(p));
  std::vector<int32_t> tile_offsets, tile_entries;
  TileIndex(p, tile_offsets, tile_entries);
  const bool indexed = !tile_offsets.empty();
  args.tile_offsets = indexed ? ToDevice(tile_offsets) : nullptr;
  args.tile_entries = indexed ? ToDevice(tile_entries) : nullptr;
  args.out = DeviceOutput<T>(m * n);
  args.m = m;
  args.k = k;
  args.n = n;
  args.dense_rows = k;
  args.nnz = nnz;
  args.batch = 1;
  args.values_batch = 1;
  // The wgmma tile's densified tiles (float32 at HIGHEST: the largest, with the residues) and
  // its parts over k where allowed.
  args.workspace_bytes = jsdl::SpmmWgmmaWorkspaceBytes(m, k, 1, true, sizeof(T)) +
                         jsdl::SpmmWgmmaKPartsBytes(jsdl::SpmmWgmmaItems(m, n, 1),
                                                    jsdl::SpmmWgmmaChunks(k));
  args.workspace = DeviceOutput<float>(args.workspace_bytes / 4);
  const std::vector<int64_t> cols = CheckedColumns(n, rng);
  const int64_t c = static_cast<int64_t>(cols.size());
  std::vector<double> ref(m * c, 0.0);
  std::vector<int64_t> checked(m * c);  // their places in the m x n output
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t s = 0; s < c; ++s) checked[i * c + s] = i * n + cols[s];
    for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e)
      for (int64_t s = 0; s < c; ++s)
        ref[i * c + s] += values64[e] * dense64[p.columns[e] * n + cols[s]];
  }

  const cudaStream_t stream = NewStream();
  auto launch = [&] { ExitOnError(jsdl::Launch<T>(stream, args, tf32)); };
  const double tolerance = std::is_same_v<T, float> ? (tf32 ? 5e-3 : 1e-5) : 3e-2;
  return CheckTimeAndReport(stream, launch, args.out, ref, tolerance, batches, p, "n", n, dtype,
                            "JSDL_SPMM_VARIANT", &checked, m * n);
}

}  // namespace

int main(int argc, char** argv) {
  Arguments a;
  if (!ParseArguments(argc, argv, "N", {"float32", "tf32", "bfloat16"}, a)) return 2;
  if (a.dtype == "bfloat16")
    return Run<__nv_bfloat16>(a.pattern, a.size, false, a.batches, a.dtype);
  return Run<float>(a.pattern, a.size, a.dtype == "tf32", a.batches, a.dtype);
}
