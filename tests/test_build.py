"""The installed package is the one under test, and its CUDA module was built where required."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import jax_sparse_dl as jsdl


def test_installed_package_is_tested():
  # Running from a source checkout would test the pure-Python tree without the CUDA module.
  here = Path(__file__).resolve().parents[1] / "jax_sparse_dl"
  if os.environ.get("JSDL_REQUIRE_CUDA_MODULE") == "1":
    assert Path(jsdl.__file__).resolve().parent != here, (
        "tests import the source tree; install the package and run `pytest tests` "
        "(not `python -m pytest`)")


def test_cpu_module_built_and_registered():
  # Every build has it (a C++ compiler is all it needs): without it the CPU would quietly run
  # the slow pure-JAX lowering.
  assert jsdl.has_cpu_kernels()
  from jax_sparse_dl import _jsdl_cpu
  assert set(_jsdl_cpu.registrations()) == {
      "jsdl_spmm", "jsdl_sddmm", "jsdl_csr_softmax", "jsdl_csr_softmax_grad"}


def test_cpu_module_is_optimized_for_speed():
  # nanobind's default (-Os) kept the kernels' sums in memory: SpMM ran 2x slower (session 39).
  from jax_sparse_dl import _jsdl_cpu
  assert _jsdl_cpu.optimized_for_size is False


@pytest.mark.skipif(os.environ.get("JSDL_REQUIRE_CUDA_MODULE") != "1",
                    reason="set JSDL_REQUIRE_CUDA_MODULE=1 where the CUDA module must be built")
def test_cuda_module_built_and_registered():
  assert jsdl.has_cuda_kernels()
  from jax_sparse_dl import _jsdl_cuda
  assert set(_jsdl_cuda.registrations()) == {
      "jsdl_spmm", "jsdl_sddmm", "jsdl_csr_softmax", "jsdl_csr_softmax_grad"}
  # sm_90a code (the SDDMM wgmma tile) is in the default build and any build that names 90a.
  archs = os.environ.get("JSDL_CUDA_ARCHITECTURES", "80;90a-real;90-virtual")
  assert _jsdl_cuda.wgmma_built == ("90a" in archs)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
@pytest.mark.parametrize("op", ["spmm", "sddmm"])
def test_harness_compiles_and_checks_its_arguments(tmp_path, op):
  """scripts/<op>_harness.cu (the runners for Nsight Compute) include the op's FFI source: they
  must keep compiling as the launch code changes, and reject bad arguments before any CUDA."""
  repo = Path(__file__).resolve().parents[1]
  import jax
  binary = tmp_path / f"{op}_harness"
  subprocess.run(["nvcc", "-std=c++17", "-O1", "-arch=sm_90", f"-I{jax.ffi.include_dir()}",
                  str(repo / "scripts" / f"{op}_harness.cu"), "-o", str(binary)],
                 check=True, capture_output=True)
  for args in ([], ["64,64,0.1", "0"], ["64,64,0.1", "32", "float64"]):
    assert subprocess.run([str(binary), *args], capture_output=True).returncode == 2, args
  bad = tmp_path / "bad.smtx"
  bad.write_text("4, 4, 3\n0 1 2 3 3\n0 1\n")  # 2 column indices for nnz = 3
  result = subprocess.run([str(binary), str(bad), "8"], capture_output=True, text=True)
  assert result.returncode == 2 and "inconsistent sizes" in result.stderr


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_union_probe_counts_each_groups_columns(tmp_path):
  """scripts/spmm_union_probe.cu (session 50's probe: a warp over R rows' column union) rejects
  bad arguments before any CUDA, and each group of R consecutive rows walks its distinct columns
  once (the count it prints before its first CUDA call; on the CPU machine that call fails)."""
  repo = Path(__file__).resolve().parents[1]
  import jax
  import numpy as np
  binary = tmp_path / "spmm_union_probe"
  subprocess.run(["nvcc", "-std=c++17", "-O1", "-arch=sm_90", f"-I{jax.ffi.include_dir()}",
                  str(repo / "scripts" / "spmm_union_probe.cu"), "-o", str(binary)],
                 check=True, capture_output=True)
  for args in ([], ["64,64,0.1", "100", "4", "8", "1"], ["64,64,0.1", "64", "3", "8", "1"],
               ["64,64,0.1", "64", "4", "17", "1"]):
    assert subprocess.run([str(binary), *args], capture_output=True).returncode == 2, args
  rng = np.random.default_rng()
  m, k = 23, 40  # the last group of 4 or 8 rows partial; some rows empty
  rows = [np.sort(rng.choice(k, size=rng.integers(0, 12), replace=False)) for _ in range(m)]
  offsets = np.cumsum([0] + [len(r) for r in rows])
  pattern = tmp_path / "p.smtx"
  pattern.write_text(f"{m}, {k}, {offsets[-1]}\n" + " ".join(map(str, offsets)) + "\n" +
                     " ".join(str(c) for r in rows for c in r) + "\n")
  for r in (1, 2, 4, 8):
    want = sum(len(set().union(*map(set, rows[g:g + r]))) for g in range(0, m, r))
    result = subprocess.run([str(binary), str(pattern), "64", str(r), "2", "1", "1"],
                            capture_output=True, text=True)
    found = re.search(r"grid=(\d+)x(\d+) union entries (\d+)", result.stdout)
    assert found and result.returncode in (0, 1), result.stdout + result.stderr
    groups = (m + r - 1) // r
    assert tuple(map(int, found.groups())) == ((groups + 1) // 2, 1, want), r


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_mma_probe_compiles(tmp_path):
  """scripts/mma_probe.cu (the mma.sync rate, gpu_run.sh stage mma-probe) uses mma.cuh's MmaTf32:
  it must keep compiling as that header changes."""
  repo = Path(__file__).resolve().parents[1]
  subprocess.run(["nvcc", "-std=c++17", "-O1", "-arch=sm_90",
                  str(repo / "scripts" / "mma_probe.cu"), "-o", str(tmp_path / "mma_probe")],
                 check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
@pytest.mark.parametrize("probe, instructions", [
    ("wgmma_probe", ("wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32",
                     "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16")),
    ("wgmma_tile_probe", ("wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32",
                          "fence.proxy.async.shared::cta",
                          "cp.async.bulk.tensor.2d.shared::cluster.global",  # the TMA path
                          "mbarrier.try_wait.parity", "mbarrier.arrive.expect_tx")),
])
def test_wgmma_probes_build_their_wgmma(tmp_path, probe, instructions):
  """scripts/wgmma_probe.cu and wgmma_tile_probe.cu (gpu_run.sh stage wgmma-probe) compile for
  sm_90a with their wgmma instructions in the PTX, not the __trap() of a build without sm_90a's
  features."""
  repo = Path(__file__).resolve().parents[1]
  ptx = tmp_path / f"{probe}.ptx"
  subprocess.run(["nvcc", "-std=c++17", "-O1", "-gencode", "arch=compute_90a,code=compute_90a",
                  "-ptx", str(repo / "scripts" / f"{probe}.cu"), "-o", str(ptx)],
                 check=True, capture_output=True)
  text = ptx.read_text()
  for instruction in (*instructions, "wgmma.fence", "wgmma.commit_group", "wgmma.wait_group"):
    assert instruction in text, instruction


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_sddmm_wgmma_tile_builds_its_wgmma(tmp_path):
  """The package's SDDMM handler, built for sm_90a as the default build does (JSDL_SM90A), holds
  the wgmma tile's instructions: TF32 from descriptors and from registers (3xTF32), bfloat16 and
  float16, fed by TMA."""
  repo = Path(__file__).resolve().parents[1]
  import jax
  ptx = tmp_path / "sddmm.ptx"
  subprocess.run(["nvcc", "-std=c++17", "-O1", "-DJSDL_SM90A", f"-I{jax.ffi.include_dir()}",
                  "-gencode", "arch=compute_90a,code=compute_90a", "-ptx",
                  str(repo / "cuda" / "sddmm" / "sddmm_ffi.cu"), "-o", str(ptx)],
                 check=True, capture_output=True)
  text = ptx.read_text()
  for instruction in ("wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32",
                      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16",
                      "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16",
                      "cp.async.bulk.tensor.2d.shared::cluster.global", "wgmma.wait_group"):
    assert instruction in text, instruction
  # 3xTF32's residues enter as wgmma's register operand: {%r, %r, %r, %r} before the descriptor.
  assert re.search(r"m64n64k8\.f32\.tf32\.tf32\s*\{[^}]*\},\s*\{%r", text)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
@pytest.mark.parametrize("op", ["spmm", "sddmm"])
def test_wgmma_tiles_keep_their_pipelines(tmp_path, op):
  """ptxas keeps the wgmma tiles' wgmma asynchronous: where it cannot prove that no other
  instruction touches a wgmma's registers while it is in flight, it serializes every wgmma or
  injects waits, with only a remark (session 34: a 3xTF32 pipeline that joined a slice's sums
  while its cross terms ran and reloaded their small parts mid-step ran each wgmma alone)."""
  repo = Path(__file__).resolve().parents[1]
  import jax
  result = subprocess.run(
      ["nvcc", "-std=c++17", "-O3", "-DJSDL_SM90A", f"-I{jax.ffi.include_dir()}", "-arch=sm_90a",
       "-cubin", "-Xptxas", "-v", str(repo / "cuda" / op / f"{op}_ffi.cu"), "-o",
       str(tmp_path / f"{op}.cubin")], check=True, capture_output=True, text=True)
  remarks = [line for line in result.stderr.splitlines()
             if "Potential Performance Loss" in line or "is injected" in line]
  assert not remarks, "\n".join(remarks)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_aligned_stages_stay_in_shared_memory(tmp_path):
  """AlignedStages (cuda/common/tma.cuh) must hand back a pointer the compiler still knows points
  into shared memory: the TMA kernels' fragment loads and epilogue stores then compile to
  ld.shared / st.shared. Cast back from an integer they were generic (session 56: with LDS the
  SDDMM wgmma tile ran 1.04-1.26x faster). HideSharedSpace makes them generic on purpose."""
  repo = Path(__file__).resolve().parents[1]
  source = tmp_path / "stages.cu"
  source.write_text(f'#include "{repo}/cuda/common/tma.cuh"\n' + """
struct Stage { float x[256]; };
__global__ void Known(float* out, int i) {
  extern __shared__ unsigned char smem_raw[];
  Stage* s = jsdl::AlignedStages<Stage>(smem_raw);
  s->x[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s->x[i];
}
__global__ void Hidden(float* out, int i) {
  extern __shared__ unsigned char smem_raw[];
  Stage* s = jsdl::HideSharedSpace(jsdl::AlignedStages<Stage>(smem_raw));
  s->x[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s->x[i];
}
""")
  ptx = tmp_path / "stages.ptx"
  subprocess.run(["nvcc", "-std=c++17", "-O3", "-arch=sm_90", "-ptx", str(source), "-o", str(ptx)],
                 check=True, capture_output=True)
  bodies = dict(re.findall(r"\.entry\s+_Z\d+(Known|Hidden)\w*\((.*?)\n}", ptx.read_text(), re.S))
  generic = re.compile(r"\b(?:ld|st)(?:\.v[24])?\.[bfsu]\d+\b")  # no state space: generic
  assert "st.shared." in bodies["Known"] and "ld.shared." in bodies["Known"]
  assert not generic.search(bodies["Known"])
  assert len(generic.findall(bodies["Hidden"])) == 2
