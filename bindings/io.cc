// Bindings for cpp/sessrec/io: named-array HDF5 files <-> dicts of NumPy arrays.
#include <pybind11/stl.h>

#include <cstring>

#include "numpy_convert.h"
#include "sessrec/io/h5_arrays.h"

namespace sessrec::bindings {

namespace {

ArrayType type_of(const py::dtype& dtype, const std::string& name) {
  const char kind = dtype.kind();
  const auto size = dtype.itemsize();
  if (kind == 'i' && size == 1) return ArrayType::Int8;
  if ((kind == 'u' || kind == 'b') && size == 1) return ArrayType::UInt8;
  if (kind == 'i' && size == 4) return ArrayType::Int32;
  if (kind == 'i' && size == 8) return ArrayType::Int64;
  if (kind == 'f' && size == 4) return ArrayType::Float32;
  if (kind == 'f' && size == 8) return ArrayType::Float64;
  throw InputError("array '" + name + "' has unsupported dtype " +
                   dtype.attr("name").cast<std::string>() +
                   " (use int8, uint8, int32, int64, float32 or float64)");
}

py::dtype dtype_of(ArrayType type) {
  switch (type) {
    case ArrayType::Int8:
      return py::dtype::of<int8_t>();
    case ArrayType::UInt8:
      return py::dtype::of<uint8_t>();
    case ArrayType::Int32:
      return py::dtype::of<int32_t>();
    case ArrayType::Int64:
      return py::dtype::of<int64_t>();
    case ArrayType::Float32:
      return py::dtype::of<float>();
    case ArrayType::Float64:
      return py::dtype::of<double>();
  }
  return py::dtype::of<float>();
}

ArrayFile read_released(const std::string& path) {
  py::gil_scoped_release release;
  return read_array_file(path);
}

py::dict arrays_of(const ArrayFile& file) {
  py::dict arrays;
  for (const auto& [name, stored] : file.arrays) {
    std::vector<py::ssize_t> shape(stored.shape.begin(), stored.shape.end());
    py::array a(dtype_of(stored.type), shape);
    if (!stored.bytes.empty())
      std::memcpy(a.mutable_data(), stored.bytes.data(), stored.bytes.size());
    arrays[py::str(name)] = a;
  }
  return arrays;
}

}  // namespace

void bind_io(py::module_& m) {
  m.def(
      "write_array_file",
      [](const std::string& path, const py::dict& arrays,
         const std::map<std::string, std::string>& attributes) {
        ArrayFile file;
        file.attributes = attributes;
        for (auto [key, value] : arrays) {
          const std::string name = py::str(key);
          py::array a = py::array::ensure(value, py::array::c_style);
          if (!a) throw InputError("'" + name + "' is not an array");
          StoredArray stored;
          stored.type = type_of(a.dtype(), name);
          for (py::ssize_t d = 0; d < a.ndim(); ++d) stored.shape.push_back(a.shape(d));
          stored.bytes.resize(a.nbytes());
          if (a.nbytes() > 0) std::memcpy(stored.bytes.data(), a.data(), a.nbytes());
          file.arrays.emplace(name, std::move(stored));
        }
        py::gil_scoped_release release;
        write_array_file(path, file);
      },
      py::arg("path"), py::arg("arrays"), py::arg("attributes"));

  m.def(
      "read_array_file",
      [](const std::string& path) {
        ArrayFile file = read_released(path);
        return py::make_tuple(arrays_of(file), file.attributes);
      },
      py::arg("path"), "(arrays, attributes); checksums are verified when the file has them");
  m.def(
      "read_verified_array_file",
      [](const std::string& path) {
        ArrayFile file = read_released(path);
        return py::make_tuple(arrays_of(file), file.attributes, file.checksummed);
      },
      py::arg("path"), "(arrays, attributes, checksummed): checksummed is False for older files");
}

}  // namespace sessrec::bindings
