// HDF5 array files: round trip, atomic write, and clear errors on missing or corrupt files.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "sessrec/errors.h"
#include "sessrec/io/h5_arrays.h"

using namespace sessrec;

namespace {
StoredArray floats(std::vector<float> v, std::vector<int64_t> shape) {
  StoredArray a;
  a.type = ArrayType::Float32;
  a.shape = shape;
  a.bytes.resize(v.size() * 4);
  std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
  return a;
}
std::string temp_path(const char* name) { return std::string(::testing::TempDir()) + name; }
}  // namespace

TEST(H5Arrays, RoundTripNestedNamesAndAttributes) {
  const std::string path = temp_path("roundtrip.h5");
  ArrayFile f;
  f.arrays["model/weights"] = floats({1, 2, 3, 4, 5, 6}, {2, 3});
  f.arrays["empty"] = floats({}, {0});
  f.attributes["format"] = "sessrec";
  f.attributes["config"] = "{\"dim\": 4}";
  write_array_file(path, f);
  ArrayFile g = read_array_file(path);
  ASSERT_EQ(g.arrays.count("model/weights"), 1u);
  EXPECT_EQ(g.arrays["model/weights"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(g.arrays["model/weights"].bytes, f.arrays["model/weights"].bytes);
  EXPECT_EQ(g.arrays["empty"].num_elements(), 0);
  EXPECT_EQ(g.attributes["config"], "{\"dim\": 4}");
  std::remove(path.c_str());
}

TEST(H5Arrays, MissingAndCorruptFilesRaise) {
  EXPECT_THROW(read_array_file(temp_path("does_not_exist.h5")), InputError);
  const std::string path = temp_path("corrupt.h5");
  {
    std::ofstream out(path);
    out << "this is not an HDF5 file";
  }
  EXPECT_THROW(read_array_file(path), InputError);
  // A real file cut in half.
  ArrayFile f;
  f.arrays["x"] = floats(std::vector<float>(10000, 1.0f), {10000});
  write_array_file(path, f);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), bytes.size() / 2);
  }
  EXPECT_THROW(read_array_file(path), InputError);
  std::remove(path.c_str());
}

TEST(H5Arrays, UnwritablePathRaisesAndLeavesNothing) {
  ArrayFile f;
  f.arrays["x"] = floats({1}, {1});
  EXPECT_THROW(write_array_file("/nonexistent_folder/x.h5", f), InputError);
}
