// nanobind module jax_sparse_dl._jsdl_cpu: hands the CPU FFI handlers to Python as capsules,
// which lowering.py registers with jax.ffi.register_ffi_target(name, capsule, platform="cpu").
// Built on every machine (a C++ compiler is all it needs), with or without nvcc.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>

#include "common/cpu_vector.h"
#include "common/ffi_capsule.h"
#include "cpu_handlers.h"

namespace nb = nanobind;

NB_MODULE(_jsdl_cpu, m) {
  m.doc() = "CPU kernels of jax_sparse_dl as XLA FFI handlers (typed FFI)";
  m.def("registrations", [] {
    return jsdl::OpTargets(JsdlSpmmCpuFfi, JsdlSddmmCpuFfi, JsdlCsrSoftmaxCpuFfi,
                           JsdlCsrSoftmaxGradCpuFfi);
  }, "Dict of FFI target name -> PyCapsule of the handler, for platform cpu.");
  // The float32 loops' copies by name (cpu_vector.h): those this CPU runs, and which one the
  // handlers take.
  m.def("vector_loops", [] {
    nb::list names;
    for (int i = 0; i <= static_cast<int>(jsdl::WidestVectorLoops()); ++i)
      names.append(jsdl::kVectorLoopsNames[i]);
    return names;
  }, "Names of the float32 loop copies this CPU runs, narrowest first.");
  m.def("used_vector_loops", [] {
    return std::string(jsdl::kVectorLoopsNames[static_cast<int>(jsdl::UsedVectorLoops().load())]);
  }, "Name of the float32 loop copy the handlers take.");
  // Whether the kernels were compiled to be small (-Os) rather than fast: a test checks they
  // were not (CMakeLists.txt: NOMINSIZE).
#ifdef __OPTIMIZE_SIZE__
  m.attr("optimized_for_size") = true;
#else
  m.attr("optimized_for_size") = false;
#endif
  m.def("use_vector_loops", [](const std::string& name) {
    for (int i = 0; i <= static_cast<int>(jsdl::WidestVectorLoops()); ++i) {
      if (name != jsdl::kVectorLoopsNames[i]) continue;
      const auto was = jsdl::UsedVectorLoops().exchange(static_cast<jsdl::VectorLoops>(i));
      return std::string(jsdl::kVectorLoopsNames[static_cast<int>(was)]);
    }
    throw nb::value_error(("no float32 loops '" + name + "' on this CPU").c_str());
  }, "Makes the handlers take the named loops (one of vector_loops()); returns the old name.");
}
