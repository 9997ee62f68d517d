// nanobind module jax_sparse_dl._jsdl_cpu: hands the CPU FFI handlers to Python as capsules,
// which lowering.py registers with jax.ffi.register_ffi_target(name, capsule, platform="cpu").
// Built on every machine (a C++ compiler is all it needs), with or without nvcc.
#include <nanobind/nanobind.h>

#include "common/cpu_vector.h"
#include "common/ffi_capsule.h"
#include "cpu_handlers.h"

NB_MODULE(_jsdl_cpu, m) {
  m.doc() = "CPU kernels of jax_sparse_dl as XLA FFI handlers (typed FFI)";
  m.def("registrations", [] {
    return jsdl::OpTargets(JsdlSpmmCpuFfi, JsdlSddmmCpuFfi, JsdlCsrSoftmaxCpuFfi,
                           JsdlCsrSoftmaxGradCpuFfi);
  }, "Dict of FFI target name -> PyCapsule of the handler, for platform cpu.");
  m.def("has_avx2", &jsdl::CpuHasAvx2, "Whether this CPU runs the float32 loops built for AVX2.");
  m.def("use_avx2", [](bool on) {
    const bool was = jsdl::UseAvx2().load();
    jsdl::UseAvx2().store(on && jsdl::CpuHasAvx2());
    return was;
  }, "Switches the AVX2 loops on (where the CPU has them) or off; returns the old setting.");
}
