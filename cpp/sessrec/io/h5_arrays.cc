#include "sessrec/io/h5_arrays.h"

#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "sessrec/errors.h"

namespace sessrec {
namespace {

// Closes an HDF5 handle when it leaves scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

hid_t native_type(ArrayType type) {
  switch (type) {
    case ArrayType::Int8: return H5T_NATIVE_INT8;
    case ArrayType::UInt8: return H5T_NATIVE_UINT8;
    case ArrayType::Int32: return H5T_NATIVE_INT32;
    case ArrayType::Int64: return H5T_NATIVE_INT64;
    case ArrayType::Float32: return H5T_NATIVE_FLOAT;
    case ArrayType::Float64: return H5T_NATIVE_DOUBLE;
  }
  return H5T_NATIVE_FLOAT;
}

ArrayType array_type_of(hid_t dtype, const std::string& where) {
  const H5T_class_t cls = H5Tget_class(dtype);
  const size_t size = H5Tget_size(dtype);
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(dtype) == H5T_SGN_2;
    if (size == 1) return is_signed ? ArrayType::Int8 : ArrayType::UInt8;
    if (size == 4 && is_signed) return ArrayType::Int32;
    if (size == 8 && is_signed) return ArrayType::Int64;
  } else if (cls == H5T_FLOAT) {
    if (size == 4) return ArrayType::Float32;
    if (size == 8) return ArrayType::Float64;
  }
  throw InputError(where + ": unsupported element type");
}

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

}  // namespace

int64_t StoredArray::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

size_t StoredArray::element_size(ArrayType type) {
  switch (type) {
    case ArrayType::Int8:
    case ArrayType::UInt8: return 1;
    case ArrayType::Int32:
    case ArrayType::Float32: return 4;
    case ArrayType::Int64:
    case ArrayType::Float64: return 8;
  }
  return 1;
}

void write_array_file(const std::string& path, const ArrayFile& file) {
  silence_hdf5_errors();
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    Handle f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!f.ok()) throw InputError("cannot create HDF5 file '" + tmp + "' (does the folder exist?)");
    Handle link_props(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(link_props.get(), 1);
    for (const auto& [name, array] : file.arrays) {
      const std::string where = "'" + path + "' dataset '" + name + "'";
      if (static_cast<int64_t>(array.bytes.size()) !=
          array.num_elements() * static_cast<int64_t>(StoredArray::element_size(array.type)))
        throw InputError(where + ": byte size does not match its shape");
      std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
      Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
      Handle set(H5Dcreate2(f.get(), name.c_str(), native_type(array.type), space.get(),
                            link_props.get(), H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
      if (!set.ok()) throw InputError("cannot create " + where);
      if (array.num_elements() > 0 &&
          H5Dwrite(set.get(), native_type(array.type), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                   array.bytes.data()) < 0)
        throw InputError("cannot write " + where);
    }
    for (const auto& [key, value] : file.attributes) {
      Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
      Handle space(H5Screate(H5S_SCALAR), H5Sclose);
      Handle attr(H5Acreate2(f.get(), key.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                  H5Aclose);
      const char empty = '\0';
      if (!attr.ok() ||
          H5Awrite(attr.get(), type.get(), value.empty() ? &empty : value.data()) < 0)
        throw InputError("cannot write attribute '" + key + "' to '" + path + "'");
    }
    if (H5Fflush(f.get(), H5F_SCOPE_GLOBAL) < 0) throw InputError("cannot flush '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError("cannot move the finished file into place at '" + path + "'");
  }
}

namespace {

struct VisitState {
  ArrayFile* file;
  const std::string* path;
  std::string error;
};

herr_t visit_object(hid_t root, const char* name, const H5O_info_t* info, void* data) {
  auto* state = static_cast<VisitState*>(data);
  if (info->type != H5O_TYPE_DATASET) return 0;
  const std::string where = "'" + *state->path + "' dataset '" + name + "'";
  try {
    Handle set(H5Dopen2(root, name, H5P_DEFAULT), H5Dclose);
    if (!set.ok()) throw InputError("cannot open " + where);
    Handle dtype(H5Dget_type(set.get()), H5Tclose);
    Handle space(H5Dget_space(set.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) throw InputError("cannot read the shape of " + where);
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    StoredArray array;
    array.type = array_type_of(dtype.get(), where);
    array.shape.assign(dims.begin(), dims.end());
    array.bytes.resize(array.num_elements() * StoredArray::element_size(array.type));
    if (array.num_elements() > 0 && H5Dread(set.get(), native_type(array.type), H5S_ALL, H5S_ALL,
                                            H5P_DEFAULT, array.bytes.data()) < 0)
      throw InputError("cannot read " + where + " (the file is corrupt or truncated)");
    state->file->arrays[name] = std::move(array);
  } catch (const std::exception& e) {
    state->error = e.what();
    return -1;
  }
  return 0;
}

herr_t visit_attribute(hid_t location, const char* name, const H5A_info_t*, void* data) {
  auto* state = static_cast<VisitState*>(data);
  Handle attr(H5Aopen(location, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (!attr.ok() || H5Tget_class(type.get()) != H5T_STRING) return 0;  // only string attributes
  if (H5Tis_variable_str(type.get()) > 0) {
    char* value = nullptr;
    Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memtype.get(), H5T_VARIABLE);
    if (H5Aread(attr.get(), memtype.get(), &value) < 0) {
      state->error = "cannot read attribute '" + std::string(name) + "' of '" + *state->path + "'";
      return -1;
    }
    state->file->attributes[name] = value ? value : "";
    H5free_memory(value);
    return 0;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), value.data()) < 0) {
    state->error = "cannot read attribute '" + std::string(name) + "' of '" + *state->path + "'";
    return -1;
  }
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  state->file->attributes[name] = value;
  return 0;
}

}  // namespace

ArrayFile read_array_file(const std::string& path) {
  silence_hdf5_errors();
  if (access(path.c_str(), R_OK) != 0) throw InputError("no readable file at '" + path + "'");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError("'" + path + "' is not an HDF5 file, or it is corrupt or truncated");
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok()) throw InputError("cannot open '" + path + "': corrupt or truncated HDF5 file");
  ArrayFile file;
  VisitState state{&file, &path, ""};
  if (H5Ovisit2(f.get(), H5_INDEX_NAME, H5_ITER_INC, visit_object, &state, H5O_INFO_BASIC) < 0)
    throw InputError(state.error.empty() ? "cannot walk '" + path + "': corrupt HDF5 file"
                                         : state.error);
  hsize_t idx = 0;
  if (H5Aiterate2(f.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, visit_attribute, &state) < 0)
    throw InputError(state.error.empty() ? "cannot read the attributes of '" + path + "'"
                                         : state.error);
  return file;
}

}  // namespace sessrec
