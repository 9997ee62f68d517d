// nanobind module jax_sparse_dl._jsdl_cpu: hands the CPU FFI handlers to Python as capsules,
// which lowering.py registers with jax.ffi.register_ffi_target(name, capsule, platform="cpu").
// Built on every machine (a C++ compiler is all it needs), with or without nvcc.
#include <nanobind/nanobind.h>

#include "common/ffi_capsule.h"
#include "cpu_handlers.h"

NB_MODULE(_jsdl_cpu, m) {
  m.doc() = "CPU kernels of jax_sparse_dl as XLA FFI handlers (typed FFI)";
  m.def("registrations", [] {
    return jsdl::OpTargets(JsdlSpmmCpuFfi, JsdlSddmmCpuFfi, JsdlCsrSoftmaxCpuFfi,
                           JsdlCsrSoftmaxGradCpuFfi);
  }, "Dict of FFI target name -> PyCapsule of the handler, for platform cpu.");
}
