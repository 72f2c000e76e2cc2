// A file of named arrays plus string attributes, in HDF5. Checkpoints, embedding matrices and
// cached datasets all go through this one format. A write builds the whole file in memory (so
// it needs about twice the file's size), writes it to a temporary file that is synced to disk
// and renamed over the target (the folder is synced after), so a crash never leaves a
// half-written file behind; a failed write removes its temporary file.
//
// Integrity: the root attribute "sessrec_manifest" lists every dataset and root attribute that
// was written, each with the CRC-32 of its content (a dataset's type code, shape and bytes; an
// attribute's value), and "sessrec_manifest_crc32" guards the manifest itself. Reading checks
// every entry and throws InputError naming the file and the dataset or attribute that differs.
// Files written before the manifest existed still load (ArrayFile::checksummed tells them
// apart). Anything another tool adds (attributes on the root, groups or datasets, of any type,
// and datasets) is not in the manifest: such datasets are returned unchecked, and only scalar
// string attributes are returned at all.
//
// Crash safety: a file starts with a 512-byte user block holding a seal (magic, length and
// CRC-32 of the HDF5 image after it). A file whose seal matches is parsed directly; any other
// file is parsed first in a forked child process, because libhdf5 1.10 crashes or hangs on
// some damaged files; a child that dies or runs out of time becomes an InputError.
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
  bool checksummed = false;  // set by read_array_file: the file had a manifest, and it matched
};

// CRC-32 (IEEE 802.3, as zlib's crc32) of `size` bytes, continuing from `crc`.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

// Throws InputError naming the path and the cause (errno: "permission denied", "no space left
// on device", ...) when it cannot be written; the temporary file is removed then.
void write_array_file(const std::string& path, const ArrayFile& file);

// Throws InputError naming the path when the file is missing, unreadable, not HDF5, corrupt, or
// when a checksum of its manifest does not match.
ArrayFile read_array_file(const std::string& path);

}  // namespace sessrec
