#include "sessrec/io/h5_arrays.h"

#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "sessrec/errors.h"
#include "sessrec/memory_budget.h"

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
    case ArrayType::Int8:
      return H5T_NATIVE_INT8;
    case ArrayType::UInt8:
      return H5T_NATIVE_UINT8;
    case ArrayType::Int32:
      return H5T_NATIVE_INT32;
    case ArrayType::Int64:
      return H5T_NATIVE_INT64;
    case ArrayType::Float32:
      return H5T_NATIVE_FLOAT;
    case ArrayType::Float64:
      return H5T_NATIVE_DOUBLE;
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

bool has_array_type(hid_t dtype) {
  try {
    array_type_of(dtype, "");
    return true;
  } catch (const InputError&) {
    return false;
  }
}

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

}  // namespace

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const auto* bytes = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

int64_t StoredArray::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

size_t StoredArray::element_size(ArrayType type) {
  switch (type) {
    case ArrayType::Int8:
    case ArrayType::UInt8:
      return 1;
    case ArrayType::Int32:
    case ArrayType::Float32:
      return 4;
    case ArrayType::Int64:
    case ArrayType::Float64:
      return 8;
  }
  return 1;
}

namespace {

constexpr const char* kManifest = "sessrec_manifest";
constexpr const char* kManifestCrc = "sessrec_manifest_crc32";

// The checksum of a dataset covers what a reader gets back: its type, shape and bytes.
uint32_t array_checksum(const StoredArray& array) {
  const auto code = static_cast<unsigned char>(array.type);
  uint32_t crc = crc32(&code, 1);
  const int64_t rank = static_cast<int64_t>(array.shape.size());
  crc = crc32(&rank, sizeof rank, crc);
  crc = crc32(array.shape.data(), array.shape.size() * sizeof(int64_t), crc);
  return crc32(array.bytes.data(), array.bytes.size(), crc);
}

std::string hex(uint32_t value) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", value);
  return text;
}

// One line per entry: "d <crc> <dataset name>" or "a <crc> <attribute key>".
std::string make_manifest(const ArrayFile& file) {
  std::string manifest;
  for (const auto& [name, array] : file.arrays)
    manifest += "d " + hex(array_checksum(array)) + " " + name + "\n";
  for (const auto& [key, value] : file.attributes)
    manifest += "a " + hex(crc32(value.data(), value.size())) + " " + key + "\n";
  return manifest;
}

// errno as a phrase a user can act on.
std::string cause(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return "permission denied";
    case ENOENT:
      return "the folder does not exist";
    case ENOTDIR:
      return "a part of the path is not a folder";
    case EISDIR:
      return "the path is a folder";
    case EROFS:
      return "read-only file system";
    case ENOSPC:
      return "no space left on device";
    case EDQUOT:
      return "disk quota exceeded";
    case EFBIG:
      return "file too large (disk full or a file size limit)";
    case 0:
      return "unknown cause";
    default:
      return std::strerror(error);
  }
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// fsync a file or folder by path; errno on failure, 0 on success.
int sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return errno;
  const int result = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return result;
}

void write_string_attribute(hid_t location, const std::string& key, const std::string& value,
                            const std::string& path) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(location, key.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  const char empty = '\0';
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), value.empty() ? &empty : value.data()) < 0)
    throw InputError("cannot write attribute '" + key + "' to '" + path + "' (" + cause(errno) +
                     ")");
}

// The seal in the user block (bytes before the HDF5 superblock, which HDF5 leaves to its users;
// it finds the superblock at 512): a magic string, the length of the HDF5 image after the
// block and its CRC-32. A file whose seal
// matches is byte for byte what sessrec wrote, so HDF5 can parse it safely; any other file
// (damaged, written by an older sessrec, or touched by another tool) is parsed by a child
// process first, because libhdf5 1.10 crashes (SIGFPE, SIGSEGV) or hangs on some damaged files.
constexpr size_t kUserBlockSize = 512;
constexpr char kSealMagic[] = "sessrec-h5-seal1";  // 16 bytes, no terminator stored
constexpr size_t kSealMagicSize = sizeof kSealMagic - 1;

void store_le(unsigned char* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

uint64_t load_le(const unsigned char* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{in[i]} << (8 * i);
  return value;
}

std::vector<unsigned char> image_seal(const std::vector<unsigned char>& image) {
  std::vector<unsigned char> seal(kUserBlockSize, 0);
  std::memcpy(seal.data(), kSealMagic, kSealMagicSize);
  store_le(seal.data() + kSealMagicSize, image.size(), 8);
  store_le(seal.data() + kSealMagicSize + 8, crc32(image.data(), image.size()), 4);
  return seal;
}

// Builds the HDF5 file in memory (the core driver, no backing store) and returns its bytes.
// HDF5 never touches the disk here: a failed write inside HDF5 leaves the library with a
// half-closed file that crashes it at exit, so the disk writes are ours (write_image).
std::vector<unsigned char> hdf5_image(const std::string& name, const std::string& path,
                                      const ArrayFile& file) {
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_core(access.get(), size_t{1} << 20, 0);
  Handle f(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), H5Fclose);
  if (!f.ok()) throw InputError("cannot build the HDF5 file for '" + path + "' in memory");
  Handle link_props(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(link_props.get(), 1);
  for (const auto& [name, array] : file.arrays) {
    const std::string where = "'" + path + "' dataset '" + name + "'";
    if (name.find('\n') != std::string::npos || name.find('\0') != std::string::npos)
      throw InputError(where + ": a name with a newline or a NUL byte");
    if (static_cast<int64_t>(array.bytes.size()) !=
        array.num_elements() * static_cast<int64_t>(StoredArray::element_size(array.type)))
      throw InputError(where + ": byte size does not match its shape");
    std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
    Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
    Handle set(H5Dcreate2(f.get(), name.c_str(), native_type(array.type), space.get(),
                          link_props.get(), H5P_DEFAULT, H5P_DEFAULT),
               H5Dclose);
    if (!set.ok()) throw InputError("cannot create " + where);
    if (array.num_elements() > 0 && H5Dwrite(set.get(), native_type(array.type), H5S_ALL, H5S_ALL,
                                             H5P_DEFAULT, array.bytes.data()) < 0)
      throw InputError("cannot write " + where + " (out of memory?)");
  }
  for (const auto& [key, value] : file.attributes) {
    if (key == kManifest || key == kManifestCrc || key.find('\n') != std::string::npos ||
        key.find('\0') != std::string::npos)
      throw InputError("'" + path + "': attribute name '" + key + "' is reserved or invalid");
    // HDF5 strings end at a NUL byte: the file would be written and then fail its checksum.
    if (value.find('\0') != std::string::npos)
      throw InputError("'" + path + "': attribute '" + key + "' holds a NUL byte");
    write_string_attribute(f.get(), key, value, path);
  }
  const std::string manifest = make_manifest(file);
  write_string_attribute(f.get(), kManifest, manifest, path);
  write_string_attribute(f.get(), kManifestCrc, hex(crc32(manifest.data(), manifest.size())), path);
  if (H5Fflush(f.get(), H5F_SCOPE_GLOBAL) < 0)
    throw InputError("cannot build the HDF5 file for '" + path + "' in memory");
  const ssize_t size = H5Fget_file_image(f.get(), nullptr, 0);
  if (size < 0) throw InputError("cannot build the HDF5 file for '" + path + "' in memory");
  std::vector<unsigned char> image(static_cast<size_t>(size));
  if (H5Fget_file_image(f.get(), image.data(), image.size()) != size)
    throw InputError("cannot build the HDF5 file for '" + path + "' in memory");
  return image;
}

// Writes the seal, then the image, to a new file at `tmp` and syncs them to disk; throws
// naming the cause.
void write_image(const std::string& tmp, const std::string& path,
                 const std::vector<unsigned char>& image) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("cannot write '" + path + "': " + cause(errno));
  const std::vector<unsigned char> seal = image_seal(image);
  int error = 0;
  for (const auto* part : {&seal, &image}) {
    size_t done = 0;
    while (done < part->size() && error == 0) {
      const ssize_t n = ::write(fd, part->data() + done, part->size() - done);
      if (n > 0)
        done += static_cast<size_t>(n);
      else if (n < 0 && errno != EINTR)
        error = errno;
      else if (n == 0)
        error = ENOSPC;
    }
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) throw InputError("cannot write '" + path + "': " + cause(error));
}

std::atomic<int64_t> temporary_counter{0};

}  // namespace

void write_array_file(const std::string& path, const ArrayFile& file) {
  silence_hdf5_errors();
  const std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." +
                          std::to_string(temporary_counter.fetch_add(1));
  const std::vector<unsigned char> image = hdf5_image(tmp, path, file);
  try {
    write_image(tmp, path, image);
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw InputError("cannot move the finished file into place at '" + path +
                       "': " + cause(errno));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  // The rename is durable only once the folder's entry is on disk.
  if (const int error = sync_path(folder_of(path), O_RDONLY | O_DIRECTORY))
    throw InputError("wrote '" + path + "' but cannot sync its folder: " + cause(error));
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
    // A dataset of another type was added by another tool: not sessrec's, so not read (a
    // damaged sessrec dataset is then reported missing by the manifest).
    if (!has_array_type(dtype.get())) return 0;
    array.type = array_type_of(dtype.get(), where);
    array.shape.assign(dims.begin(), dims.end());
    int64_t bytes = static_cast<int64_t>(StoredArray::element_size(array.type));
    for (hsize_t d : dims)
      if (d > static_cast<hsize_t>(INT64_MAX) ||
          __builtin_mul_overflow(bytes, static_cast<int64_t>(d), &bytes))
        throw InputError(where + " claims a shape whose size overflows 64 bits (corrupt file)");
    require_within_budget(bytes, "reading " + where, "the file may be damaged");
    array.bytes.resize(static_cast<size_t>(bytes));
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

// Reads a scalar string attribute (fixed or variable length, ASCII or UTF-8). Returns false,
// and leaves `value` alone, for anything else: numbers, arrays, other tools' structures.
bool read_string_attribute(hid_t attr, std::string& value) {
  Handle type(H5Aget_type(attr), H5Tclose);
  Handle space(H5Aget_space(attr), H5Sclose);
  if (!type.ok() || !space.ok() || H5Tget_class(type.get()) != H5T_STRING ||
      H5Sget_simple_extent_npoints(space.get()) != 1)
    return false;
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memtype.get(), H5T_VARIABLE);
    H5Tset_cset(memtype.get(), H5Tget_cset(type.get()));  // h5py writes UTF-8
    if (H5Aread(attr, memtype.get(), &text) < 0) return false;
    value = text ? text : "";
    H5free_memory(text);
    return true;
  }
  std::string text(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr, type.get(), text.data()) < 0) return false;
  text.resize(std::min(text.size(), text.find('\0')));
  value = std::move(text);
  return true;
}

herr_t visit_attribute(hid_t location, const char* name, const H5A_info_t*, void* data) {
  auto* state = static_cast<VisitState*>(data);
  Handle attr(H5Aopen(location, name, H5P_DEFAULT), H5Aclose);
  std::string value;
  // Attributes that are not scalar strings come from other tools: sessrec never reads them.
  if (attr.ok() && read_string_attribute(attr.get(), value))
    state->file->attributes[name] = std::move(value);
  return 0;
}

// Checks the file against its manifest (see the header), and removes the manifest attributes.
void verify_manifest(const std::string& path, ArrayFile& file) {
  const auto listed = file.attributes.find(kManifest);
  const auto guard = file.attributes.find(kManifestCrc);
  if (listed == file.attributes.end() && guard == file.attributes.end()) return;  // older file
  const std::string corrupt = "'" + path + "' is corrupt: ";
  if (listed == file.attributes.end() || guard == file.attributes.end() ||
      hex(crc32(listed->second.data(), listed->second.size())) != guard->second)
    throw InputError(corrupt + "its manifest of checksums is damaged");
  const std::string manifest = listed->second;
  file.attributes.erase(kManifest);
  file.attributes.erase(kManifestCrc);
  size_t begin = 0;
  while (begin < manifest.size()) {
    size_t end = manifest.find('\n', begin);
    if (end == std::string::npos) end = manifest.size();
    const std::string line = manifest.substr(begin, end - begin);
    begin = end + 1;
    if (line.size() < 12 || line[1] != ' ' || line[10] != ' ' || (line[0] != 'd' && line[0] != 'a'))
      throw InputError(corrupt + "its manifest of checksums is malformed");
    const std::string expected = line.substr(2, 8), name = line.substr(11);
    if (line[0] == 'd') {
      const auto found = file.arrays.find(name);
      if (found == file.arrays.end())
        throw InputError(corrupt + "dataset '" + name + "' is missing");
      if (hex(array_checksum(found->second)) != expected)
        throw InputError(corrupt + "dataset '" + name + "' does not match its checksum");
    } else {
      const auto found = file.attributes.find(name);
      if (found == file.attributes.end())
        throw InputError(corrupt + "attribute '" + name + "' is missing");
      if (hex(crc32(found->second.data(), found->second.size())) != expected)
        throw InputError(corrupt + "attribute '" + name + "' does not match its checksum");
    }
  }
  file.checksummed = true;
}

// True when the file carries a seal (see write_image_seal) that matches its bytes.
bool sealed_intact(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned char head[kSealMagicSize + 12];
  bool intact = ::pread(fd, head, sizeof head, 0) == static_cast<ssize_t>(sizeof head) &&
                std::memcmp(head, kSealMagic, kSealMagicSize) == 0;
  struct stat info;
  if (intact) intact = ::fstat(fd, &info) == 0 &&
                       static_cast<uint64_t>(info.st_size) ==
                           kUserBlockSize + load_le(head + kSealMagicSize, 8);
  if (intact) {
    uint32_t crc = 0;
    std::vector<unsigned char> buffer(size_t{1} << 20);
    off_t at = kUserBlockSize;
    for (;;) {
      const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      crc = crc32(buffer.data(), static_cast<size_t>(n), crc);
      at += n;
    }
    intact = crc == static_cast<uint32_t>(load_le(head + kSealMagicSize + 8, 4));
  }
  ::close(fd);
  return intact;
}

ArrayFile read_in_process(const std::string& path);

// Reads the file once in a child process, so that a crash or hang of libhdf5 on a damaged file
// becomes an InputError here. The child's own errors are left to the real read that follows.
void probe_in_child(const std::string& path) {
  struct stat info;
  const double megabytes = ::stat(path.c_str(), &info) == 0 ? info.st_size / 1e6 : 0.0;
  const auto limit = std::chrono::milliseconds(static_cast<int64_t>(1000 * (60 + megabytes / 20)));
  const pid_t child = ::fork();
  if (child < 0) return;  // no child: read in this process, as before the probe existed
  if (child == 0) {
    // A crash must end the child by its signal: no handler of the parent's (Python's
    // faulthandler, a sanitizer's or a fuzzer's report) may turn it into an exit code.
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::signal(sig, SIG_DFL);
    try {
      read_in_process(path);
    } catch (...) {
    }
    ::_exit(0);
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  for (auto wait = std::chrono::microseconds(200);;) {
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) return;
    if (std::chrono::steady_clock::now() - start > limit) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      throw InputError("'" + path + "' is corrupt: the HDF5 library did not finish reading it in " +
                       std::to_string(limit.count() / 1000) + " s");
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::microseconds(50000));
  }
  if (WIFSIGNALED(status))
    throw InputError("'" + path + "' is corrupt: the HDF5 library crashed reading it (signal " +
                     std::to_string(WTERMSIG(status)) + ")");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw InputError("'" + path + "' is corrupt: the HDF5 library failed reading it (exit " +
                     std::to_string(WEXITSTATUS(status)) + ")");
}

ArrayFile read_in_process(const std::string& path) {
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
  verify_manifest(path, file);
  return file;
}

}  // namespace

ArrayFile read_array_file(const std::string& path) {
  silence_hdf5_errors();
  if (access(path.c_str(), R_OK) != 0)
    throw InputError("no readable file at '" + path +
                     "': " + (errno == ENOENT ? std::string("no such file") : cause(errno)));
  if (!sealed_intact(path)) probe_in_child(path);
  return read_in_process(path);
}

}  // namespace sessrec
