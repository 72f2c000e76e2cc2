// A file of named arrays plus string attributes, in HDF5. Checkpoints, embedding matrices and
// cached datasets all go through this one format. Writes go to a temporary file that is renamed
// over the target only when complete, so a crash never leaves a half-written file behind.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sessrec {

enum class ArrayType { Int8, UInt8, Int32, Int64, Float32, Float64 };

struct StoredArray {
  ArrayType type = ArrayType::Float32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;  // row-major, native byte order

  int64_t num_elements() const;
  static size_t element_size(ArrayType type);
};

struct ArrayFile {
  std::map<std::string, StoredArray> arrays;      // names may contain '/' (nested groups)
  std::map<std::string, std::string> attributes;  // stored on the root group
};

// Throws InputError naming the path when it cannot be written.
void write_array_file(const std::string& path, const ArrayFile& file);

// Throws InputError naming the path when the file is missing, not HDF5, or corrupt.
ArrayFile read_array_file(const std::string& path);

}  // namespace sessrec
