// nanobind module jax_sparse_dl._jsdl_cuda: hands the CUDA FFI handlers to
// Python as capsules, which lowering.py registers with
// jax.ffi.register_ffi_target(name, capsule, platform="CUDA").
#include <nanobind/nanobind.h>

#include "common/ffi_capsule.h"
#include "handlers.h"

NB_MODULE(_jsdl_cuda, m) {
  m.doc() = "CUDA kernels of jax_sparse_dl as XLA FFI handlers (typed FFI)";
  m.def("registrations", [] {
    return jsdl::OpTargets(JsdlSpmmFfi, JsdlSddmmFfi, JsdlCsrSoftmaxFfi, JsdlCsrSoftmaxGradFfi);
  }, "Dict of FFI target name -> PyCapsule of the handler, for platform CUDA.");
#if defined(JSDL_SM90A)
  m.attr("wgmma_built") = true;  // sm_90a code: the SDDMM wgmma tile can run on a 9.0 device
#else
  m.attr("wgmma_built") = false;
#endif
}
