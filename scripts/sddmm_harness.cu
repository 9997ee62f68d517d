// Standalone SDDMM runner, for Nsight Compute (ncu segfaults under the JAX
// process on the device machine; see spmm_harness.cu). It runs the package's
// own launch path (jsdl::Launch: the heuristic, or the variant
// JSDL_SDDMM_VARIANT names) on a pattern with its 64 x 64 tile index built as
// csr.py's _tile_index does, checks one launch against float64 and times
// batches of launches with CUDA events.
//
// Build (repository root, on the GPU machine):
//   nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A \
//     -I$(python3 -c "import jax; print(jax.ffi.include_dir())") scripts/sddmm_harness.cu \
//     -o /tmp/sddmm_harness
//   (-DJSDL_SM90A with sm_90a: the wgmma tile may run, as in the package's default build)
// Run:  /tmp/sddmm_harness PATTERN D [float32|tf32|bfloat16] [batches]
//   PATTERN: path.smtx (gunzip DLMC files first) or m,k,density; tf32: float32 at DEFAULT
//   precision (the tensor-core kernels allowed).
// Profile: ncu --profile-from-start off --set full /tmp/sddmm_harness PATTERN D
// Phase clocks: build with -DJSDL_PHASE_CLOCK (cuda/common/phase_clock.cuh); each run then also
// prints where the tile kernels' blocks spent their SM cycles (d-loop, output).
#include "../cuda/sddmm/sddmm_ffi.cu"

#include "harness_common.cuh"

namespace {

using namespace harness;

template <typename T>
int Run(const Pattern& p, int64_t d, bool tf32, int batches, const std::string& dtype) {
  const int64_t m = p.m, k = p.k, nnz = p.nnz();
  std::mt19937_64 rng(12345);
  std::vector<double> lhs64, rhs64;
  const std::vector<T> lhs = RandomValues<T>(m * d, rng, lhs64);
  const std::vector<T> rhs = RandomValues<T>(k * d, rng, rhs64);
  std::vector<int32_t> tile_offsets, tile_entries;
  TileIndex(p, tile_offsets, tile_entries);

  jsdl::SddmmArgs<T> args{};
  args.lhs = ToDevice(lhs);
  args.rhs = ToDevice(rhs);
  args.row_offsets = ToDevice(p.offsets);
  args.column_indices = ToDevice(p.columns);
  args.row_indices = ToDevice(RowsByLength(p));
  const bool indexed = !tile_offsets.empty();
  args.tile_offsets = indexed ? ToDevice(tile_offsets) : nullptr;
  args.tile_entries = indexed ? ToDevice(tile_entries) : nullptr;
  std::vector<int32_t> entry_rows(nnz);  // the row of every entry, as the package's pattern has
  for (int64_t i = 0; i < m; ++i)
    for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) entry_rows[e] = int32_t(i);
  args.entry_rows = ToDevice(entry_rows);
  args.out = DeviceOutput<T>(nnz);
  args.m = m;
  args.d = d;
  args.nnz = nnz;
  args.batch = 1;  // the default BatchMap: no batch dims
  args.lhs_rows = m;
  args.rhs_rows = k;
  std::vector<double> ref(nnz, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int32_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e)
      for (int64_t j = 0; j < d; ++j) ref[e] += lhs64[i * d + j] * rhs64[p.columns[e] * d + j];

  const cudaStream_t stream = NewStream();
  auto launch = [&] { ExitOnError(jsdl::Launch<T>(stream, args, k, tf32)); };
  const double tolerance = std::is_same_v<T, float> ? (tf32 ? 5e-3 : 1e-5) : 3e-2;
  return CheckTimeAndReport(stream, launch, args.out, ref, tolerance, batches, p, "d", d, dtype,
                            "JSDL_SDDMM_VARIANT");
}

}  // namespace

int main(int argc, char** argv) {
  Arguments a;
  if (!ParseArguments(argc, argv, "D", {"float32", "tf32", "bfloat16"}, a)) return 2;
  if (a.dtype == "bfloat16")
    return Run<__nv_bfloat16>(a.pattern, a.size, false, a.batches, a.dtype);
  return Run<float>(a.pattern, a.size, a.dtype == "tf32", a.batches, a.dtype);
}
