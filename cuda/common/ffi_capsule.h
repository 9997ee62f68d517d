// An FFI handler as a PyCapsule, for jax.ffi.register_ffi_target (shared by the
// package's nanobind modules).
#pragma once

#include <nanobind/nanobind.h>

#include <type_traits>

#include "xla/ffi/api/c_api.h"

namespace jsdl {

template <typename Fn>
nanobind::capsule EncapsulateFfiHandler(Fn* fn) {
  static_assert(std::is_invocable_r_v<XLA_FFI_Error*, Fn, XLA_FFI_CallFrame*>,
                "an FFI handler takes XLA_FFI_CallFrame* and returns XLA_FFI_Error*");
  return nanobind::capsule(reinterpret_cast<void*>(fn));
}

// The package's four op targets, named alike on every platform, as capsules of one platform's
// handlers (the registrations() of _jsdl_cuda and _jsdl_cpu).
inline nanobind::dict OpTargets(XLA_FFI_Handler* spmm, XLA_FFI_Handler* sddmm,
                                XLA_FFI_Handler* csr_softmax,
                                XLA_FFI_Handler* csr_softmax_grad) {
  nanobind::dict targets;
  targets["jsdl_spmm"] = EncapsulateFfiHandler(spmm);
  targets["jsdl_sddmm"] = EncapsulateFfiHandler(sddmm);
  targets["jsdl_csr_softmax"] = EncapsulateFfiHandler(csr_softmax);
  targets["jsdl_csr_softmax_grad"] = EncapsulateFfiHandler(csr_softmax_grad);
  return targets;
}

}  // namespace jsdl
