// The FFI handler symbols defined in the .cu files, registered by module.cc.
#pragma once

#include "xla/ffi/api/api.h"

XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlSpmmFfi);
XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlSddmmFfi);
XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlCsrSoftmaxFfi);
XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlCsrSoftmaxGradFfi);
