// libFuzzer target: read_array_file, the reader of every checkpoint, parameter file and cached
// dataset. The input is written to a file and read; it must either read or throw InputError
// naming the file (libhdf5's own crashes on damaged files are caught by the reader's child
// process probe and reported as InputError too). A file that reads is written back and must
// read back identically.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/io/h5_arrays.h"

namespace {

std::string scratch(const char* name) {
  const char* folder = std::getenv("TMPDIR");
  return std::string(folder ? folder : "/tmp") + "/sessrec-fuzz-" + std::to_string(getpid()) +
         "-" + name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string input = scratch("input.h5"), again = scratch("again.h5");
  FILE* f = std::fopen(input.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  sessrec::ArrayFile file;
  try {
    file = sessrec::read_array_file(input);
  } catch (const sessrec::InputError& e) {
    if (std::string(e.what()).find(input) == std::string::npos) std::abort();
    return 0;
  }
  try {
    sessrec::write_array_file(again, file);
  } catch (const sessrec::InputError&) {
    return 0;  // e.g. a name sessrec cannot write (a newline, a NUL byte)
  }
  const sessrec::ArrayFile back = sessrec::read_array_file(again);
  if (back.attributes != file.attributes || back.arrays.size() != file.arrays.size()) std::abort();
  for (const auto& [name, array] : file.arrays) {
    const auto found = back.arrays.find(name);
    if (found == back.arrays.end() || found->second.type != array.type ||
        found->second.shape != array.shape || found->second.bytes != array.bytes)
      std::abort();
  }
  return 0;
}
