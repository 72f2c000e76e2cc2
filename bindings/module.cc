// The extension module sessrec._core: one bind_* function per C++ folder.
#include <omp.h>
#include <pybind11/pybind11.h>

#include "sessrec/errors.h"

namespace py = pybind11;

namespace sessrec::bindings {
void bind_data(py::module_& m);
void bind_eval(py::module_& m);
void bind_retrieval(py::module_& m);
void bind_io(py::module_& m);
void bind_models(py::module_& m);
void bind_text(py::module_& m);
}  // namespace sessrec::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "sessrec's C++ core (data, evaluation, retrieval, nn, models, text, HDF5 io)";
  py::register_exception<sessrec::InputError>(m, "InputError", PyExc_ValueError);
  py::register_exception<sessrec::UnknownKeyError>(m, "UnknownKeyError", PyExc_KeyError);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw sessrec::InputError("set_num_threads: need at least one thread");
    omp_set_num_threads(n);
  });
  m.def("get_num_threads", []() { return omp_get_max_threads(); });
  sessrec::bindings::bind_data(m);
  sessrec::bindings::bind_eval(m);
  sessrec::bindings::bind_retrieval(m);
  sessrec::bindings::bind_io(m);
  sessrec::bindings::bind_models(m);
  sessrec::bindings::bind_text(m);
}
