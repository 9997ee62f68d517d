"""The installed package is the one under test, and its CUDA module was built where required."""
import os
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


@pytest.mark.skipif(os.environ.get("JSDL_REQUIRE_CUDA_MODULE") != "1",
                    reason="set JSDL_REQUIRE_CUDA_MODULE=1 where the CUDA module must be built")
def test_cuda_module_built_and_registered():
  assert jsdl.has_cuda_kernels()
  from jax_sparse_dl import _jsdl_cuda
  assert set(_jsdl_cuda.registrations()) == {
      "jsdl_spmm", "jsdl_sddmm", "jsdl_csr_softmax", "jsdl_csr_softmax_grad"}
