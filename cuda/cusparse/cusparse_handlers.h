// FFI handlers of the optional cuSPARSE module _jsdl_cusparse (benchmark
// contenders, see docs/architecture.md), registered by module.cc.
#pragma once

#include "xla/ffi/api/api.h"

XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlCusparseSpmmFfi);
XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlCusparseSddmmFfi);
