// nanobind module jax_sparse_dl._jsdl_cuda: hands the CUDA FFI handlers to
// Python as capsules, which _native.py registers with
// jax.ffi.register_ffi_target(name, capsule, platform="CUDA").
#include <nanobind/nanobind.h>

#include <type_traits>

#include "handlers.h"

namespace nb = nanobind;

namespace {

template <typename Fn>
nb::capsule EncapsulateFfiHandler(Fn* fn) {
  static_assert(std::is_invocable_r_v<XLA_FFI_Error*, Fn, XLA_FFI_CallFrame*>,
                "an FFI handler takes XLA_FFI_CallFrame* and returns XLA_FFI_Error*");
  return nb::capsule(reinterpret_cast<void*>(fn));
}

nb::dict Registrations() {
  nb::dict targets;
  targets["jsdl_spmm"] = EncapsulateFfiHandler(JsdlSpmmFfi);
  targets["jsdl_sddmm"] = EncapsulateFfiHandler(JsdlSddmmFfi);
  targets["jsdl_csr_softmax"] = EncapsulateFfiHandler(JsdlCsrSoftmaxFfi);
  targets["jsdl_csr_softmax_grad"] = EncapsulateFfiHandler(JsdlCsrSoftmaxGradFfi);
  return targets;
}

}  // namespace

NB_MODULE(_jsdl_cuda, m) {
  m.doc() = "CUDA kernels of jax_sparse_dl as XLA FFI handlers (typed FFI)";
  m.def("registrations", &Registrations,
        "Dict of FFI target name -> PyCapsule of the handler, for platform CUDA.");
}
