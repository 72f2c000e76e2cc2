// The extension module sessrec._core: one bind_* function per C++ folder.
#include <omp.h>
#include <pybind11/pybind11.h>

#include "sessrec/errors.h"
#include "sessrec/interrupt.h"
#include "sessrec/memory_budget.h"
#include "sessrec/nn/gemm.h"

namespace py = pybind11;

namespace {

// The Python error that a signal handler raised while the core polled (KeyboardInterrupt for
// Ctrl-C), kept until the Interrupted exception reaches the translator. Guarded by the GIL.
PyObject* pending_type = nullptr;
PyObject* pending_value = nullptr;
PyObject* pending_traceback = nullptr;

// The core's interrupt hook: runs the Python signal handlers (main thread only, by Python's
// rules) under the GIL, from whichever thread polls.
bool python_signal_pending() {
  const PyGILState_STATE gil = PyGILState_Ensure();
  const bool raised = PyErr_CheckSignals() != 0;
  if (raised) {
    Py_XDECREF(pending_type);
    Py_XDECREF(pending_value);
    Py_XDECREF(pending_traceback);
    PyErr_Fetch(&pending_type, &pending_value, &pending_traceback);
  }
  PyGILState_Release(gil);
  return raised;
}

}  // namespace

namespace sessrec::bindings {
void bind_data(py::module_& m);
void bind_eval(py::module_& m);
void bind_retrieval(py::module_& m);
void bind_io(py::module_& m);
void bind_models(py::module_& m);
void bind_text(py::module_& m);
void bind_loss(py::module_& m);
void bind_ubm(py::module_& m);
void bind_ubm_tasks(py::module_& m);
void bind_macl(py::module_& m);
void bind_serving(py::module_& m);
}  // namespace sessrec::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "sessrec's C++ core (data, evaluation, retrieval, nn, models, text, HDF5 io)";
  py::register_exception<sessrec::InputError>(m, "InputError", PyExc_ValueError);
  py::register_exception<sessrec::UnknownKeyError>(m, "UnknownKeyError", PyExc_KeyError);
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const sessrec::Interrupted&) {
      if (pending_type != nullptr) {  // the handler's own exception, as Python would raise it
        PyErr_Restore(pending_type, pending_value, pending_traceback);
        pending_type = pending_value = pending_traceback = nullptr;
      } else {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
      }
    }
  });
  sessrec::set_interrupt_hook(python_signal_pending);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw sessrec::InputError("set_num_threads: need at least one thread");
    omp_set_num_threads(n);
  });
  m.def("get_num_threads", []() { return omp_get_max_threads(); });
  m.def("set_matmul_precision", &sessrec::nn::set_matmul_precision, py::arg("precision"),
        "'float32' (default) or 'bfloat16' for the linear layers' products, process-wide "
        "(cpp/sessrec/nn/gemm.h).");
  m.def("matmul_precision", &sessrec::nn::matmul_precision);
  m.def("gemm_uses_onednn", &sessrec::nn::sgemm_uses_dnnl);
  m.def("set_memory_budget", &sessrec::set_memory_budget, py::arg("bytes"),
        "The most memory one request may ask for (cpp/sessrec/memory_budget.h); 0: no limit.");
  m.def("memory_budget", &sessrec::memory_budget);
  m.def("parse_memory_size", &sessrec::parse_memory_size, py::arg("text"), py::arg("source"));
  sessrec::bindings::bind_data(m);
  sessrec::bindings::bind_eval(m);
  sessrec::bindings::bind_retrieval(m);
  sessrec::bindings::bind_io(m);
  sessrec::bindings::bind_models(m);
  sessrec::bindings::bind_text(m);
  sessrec::bindings::bind_loss(m);
  sessrec::bindings::bind_ubm(m);
  sessrec::bindings::bind_ubm_tasks(m);
  sessrec::bindings::bind_macl(m);
  sessrec::bindings::bind_serving(m);
}
