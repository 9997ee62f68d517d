// The CPU FFI handler symbols defined in the *_cpu.cc files, registered by cpu_module.cc.
#pragma once

#include "xla/ffi/api/api.h"

XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlSpmmCpuFfi);
XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlSddmmCpuFfi);
XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlCsrSoftmaxCpuFfi);
XLA_FFI_DECLARE_HANDLER_SYMBOL(JsdlCsrSoftmaxGradCpuFfi);
