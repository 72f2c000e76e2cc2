// The parameter methods every trainable network shares in Python (SequenceModel, TextEncoder):
// values, gradients and optimizer state as {name: array} dicts, zeroing, and parameter groups
// (freeze, learning-rate scale, copy by name) and momentum (EMA) updates from another copy. One
// definition, added to each class by def_parameter_methods; T must have params() and
// parameters_changed().
#pragma once
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "numpy_convert.h"
#include "sessrec/nn/optimizer.h"
#include "sessrec/nn/parameter.h"

namespace sessrec::bindings {

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

inline py::array_t<float> matrix_copy(const nn::FloatBuffer& v, int64_t rows, int64_t cols) {
  py::array_t<float> a({rows, cols});
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

inline py::dict collect(const nn::ParameterSet& params, nn::FloatBuffer nn::Parameter::*field) {
  py::dict out;
  for (const nn::Parameter* p : params.all())
    out[py::str(p->name)] = matrix_copy(p->*field, p->rows, p->cols);
  return out;
}

inline void assign(nn::ParameterSet& params, const py::dict& values,
                   nn::FloatBuffer nn::Parameter::*field, bool require_all) {
  for (nn::Parameter* p : params.all()) {
    if (!values.contains(p->name)) {
      if (require_all) throw InputError("missing parameter '" + p->name + "'");
      continue;
    }
    Floats a = values[py::str(p->name)].cast<Floats>();
    if (a.size() != p->size() ||
        (a.ndim() == 2 && (a.shape(0) != p->rows || a.shape(1) != p->cols)))
      throw InputError("parameter '" + p->name + "' has shape (" + std::to_string(p->rows) + ", " +
                       std::to_string(p->cols) + "); got an array of " + std::to_string(a.size()) +
                       " values");
    std::copy(a.data(), a.data() + a.size(), (p->*field).begin());
  }
  for (auto [key, value] : values) {
    bool known = false;
    for (nn::Parameter* p : params.all()) known |= p->name == std::string(py::str(key));
    if (!known) throw InputError("unknown parameter '" + std::string(py::str(key)) + "'");
  }
}

template <typename T, typename... Options>
void def_parameter_methods(py::class_<T, Options...>& cls) {
  cls.def("parameter_names",
          [](const T& s) {
            std::vector<std::string> names;
            for (const auto* p : s.params().all()) names.push_back(p->name);
            return names;
          })
      .def("get_parameters", [](const T& s) { return collect(s.params(), &nn::Parameter::value); })
      .def(
          "set_parameters",
          [](T& s, const py::dict& d, bool require_all) {
            assign(s.params(), d, &nn::Parameter::value, require_all);
            s.parameters_changed();
          },
          py::arg("values"), py::arg("require_all") = true)
      .def("get_gradients", [](const T& s) { return collect(s.params(), &nn::Parameter::grad); })
      .def("get_optimizer_state",
           [](const T& s) {
             return py::make_tuple(collect(s.params(), &nn::Parameter::adam_m),
                                   collect(s.params(), &nn::Parameter::adam_v));
           })
      .def("set_optimizer_state",
           [](T& s, const py::dict& m1, const py::dict& m2) {
             assign(s.params(), m1, &nn::Parameter::adam_m, true);
             assign(s.params(), m2, &nn::Parameter::adam_v, true);
           })
      .def("zero_grad", [](T& s) { s.params().zero_grad(); })
      .def("num_parameters", [](const T& s) { return s.params().num_values(); })
      .def(
          "set_frozen",
          [](T& s, const std::string& pattern, bool frozen) {
            return s.params().set_frozen(pattern, frozen);
          },
          py::arg("pattern"), py::arg("frozen") = true,
          "Freeze (or unfreeze) every parameter whose name matches the shell-style pattern; "
          "returns how many matched (none: ValueError listing the names).")
      .def(
          "set_lr_scale",
          [](T& s, const std::string& pattern, float scale) {
            return s.params().set_lr_scale(pattern, scale);
          },
          py::arg("pattern"), py::arg("scale"),
          "Learning rate of the matching parameters = the optimizer's rate times scale.")
      .def("parameter_groups",
           [](const T& s) {
             py::dict out;
             for (const auto* p : s.params().all())
               out[py::str(p->name)] =
                   py::dict(py::arg("shape") = py::make_tuple(p->rows, p->cols),
                            py::arg("frozen") = p->frozen, py::arg("lr_scale") = p->lr_scale);
             return out;
           })
      .def(
          "copy_parameters_from",
          [](T& s, const T& source, const py::object& names) {
            std::vector<std::pair<std::string, std::string>> pairs;
            if (!names.is_none())
              for (auto item : names.cast<py::dict>())
                pairs.emplace_back(py::str(item.first), py::str(item.second));
            const int64_t moved = nn::copy_values(s.params(), source.params(), pairs);
            s.parameters_changed();
            return moved;
          },
          py::arg("source"), py::arg("names") = py::none(),
          "Copy parameter values by name from another network (names: {source name: this "
          "network's name}; None: every name the two share). Returns how many moved.")
      .def(
          "ema_from",
          [](T& s, const T& source, float momentum) {
            {
              py::gil_scoped_release release;
              nn::ema_update(s.params(), source.params(), momentum);
            }
            s.parameters_changed();
          },
          py::arg("source"), py::arg("momentum"),
          "A momentum (EMA) step, parameter by parameter: value <- momentum * value + "
          "(1 - momentum) * source's value (same names and shapes). The copy takes no gradient "
          "step of its own.");
}

}  // namespace sessrec::bindings
