// Conversions between NumPy arrays / Python strings and the core's vectors and TextColumns.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "sessrec/data/text_column.h"
#include "sessrec/errors.h"

namespace sessrec::bindings {
namespace py = pybind11;

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <typename T>
std::vector<T> to_vector(const Array<T>& a, const char* name) {
  if (a.ndim() != 1)
    throw InputError(std::string(name) + " must be one-dimensional, got " +
                     std::to_string(a.ndim()) + " dimensions");
  return std::vector<T>(a.data(), a.data() + a.size());
}

// Moves a vector into a NumPy array without copying; the array owns the memory.
template <typename T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
  auto* owner = new std::vector<T>(std::move(v));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(owner->size())}, {sizeof(T)}, owner->data(),
                        free_when_done);
}

// A read-only view of memory owned by `owner` (kept alive by the array).
template <typename T>
py::array_t<T> view_numpy(const std::vector<T>& v, py::handle owner) {
  py::array_t<T> a({static_cast<py::ssize_t>(v.size())}, {sizeof(T)}, v.data(), owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

inline TextColumn to_text_column(const py::iterable& strings, const char* name) {
  TextColumn column;
  int64_t row = 0;
  for (py::handle item : strings) {
    if (!PyUnicode_Check(item.ptr()))
      throw InputError(std::string(name) + ": row " + std::to_string(row) + " is not a string (" +
                       std::string(py::str(py::type::of(item).attr("__name__"))) + ")");
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
    if (utf8 == nullptr) throw py::error_already_set();
    column.push_back(std::string_view(utf8, size));
    ++row;
  }
  return column;
}

inline py::list to_py_list(const TextColumn& column) {
  py::list out(column.size());
  for (int64_t r = 0; r < column.size(); ++r) {
    std::string_view s = column.at(r);
    PyObject* str = PyUnicode_DecodeUTF8(s.data(), s.size(), "replace");
    if (str == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(out.ptr(), r, str);
  }
  return out;
}

}  // namespace sessrec::bindings
