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

}  // namespace jsdl
