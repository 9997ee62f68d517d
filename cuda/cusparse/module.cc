// nanobind module jax_sparse_dl._jsdl_cusparse: the cuSPARSE FFI handlers as
// capsules, registered lazily by jax_sparse_dl/cusparse.py for platform CUDA.
#include <nanobind/nanobind.h>

#include "../common/ffi_capsule.h"
#include "cusparse_handlers.h"

namespace nb = nanobind;
using jsdl::EncapsulateFfiHandler;

namespace {

nb::dict Registrations() {
  nb::dict targets;
  targets["jsdl_cusparse_spmm"] = EncapsulateFfiHandler(JsdlCusparseSpmmFfi);
  targets["jsdl_cusparse_sddmm"] = EncapsulateFfiHandler(JsdlCusparseSddmmFfi);
  return targets;
}

}  // namespace

NB_MODULE(_jsdl_cusparse, m) {
  m.doc() = "cuSPARSE SpMM and SDDMM as XLA FFI handlers (benchmark contenders)";
  m.def("registrations", &Registrations,
        "Dict of FFI target name -> PyCapsule of the handler, for platform CUDA.");
}
