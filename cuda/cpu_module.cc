// nanobind module jax_sparse_dl._jsdl_cpu: hands the CPU FFI handlers to Python as capsules,
// which lowering.py registers with jax.ffi.register_ffi_target(name, capsule, platform="cpu").
// Built on every machine (a C++ compiler is all it needs), with or without nvcc.
#include <nanobind/nanobind.h>

#include "common/ffi_capsule.h"
#include "cpu_handlers.h"

namespace nb = nanobind;
using jsdl::EncapsulateFfiHandler;

namespace {

nb::dict Registrations() {
  nb::dict targets;
  targets["jsdl_spmm"] = EncapsulateFfiHandler(JsdlSpmmCpuFfi);
  targets["jsdl_sddmm"] = EncapsulateFfiHandler(JsdlSddmmCpuFfi);
  targets["jsdl_csr_softmax"] = EncapsulateFfiHandler(JsdlCsrSoftmaxCpuFfi);
  targets["jsdl_csr_softmax_grad"] = EncapsulateFfiHandler(JsdlCsrSoftmaxGradCpuFfi);
  return targets;
}

}  // namespace

NB_MODULE(_jsdl_cpu, m) {
  m.doc() = "CPU kernels of jax_sparse_dl as XLA FFI handlers (typed FFI)";
  m.def("registrations", &Registrations,
        "Dict of FFI target name -> PyCapsule of the handler, for platform cpu.");
}
