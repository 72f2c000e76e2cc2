// HDF5 array files: round trip, atomic write, checksums, files touched by other tools, and clear
// errors on missing, corrupt or unwritable files.
#include <dirent.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

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
  if (!v.empty()) std::memcpy(a.bytes.data(), v.data(), a.bytes.size());  // memcpy(null, ...) is UB
  return a;
}
std::string temp_path(const char* name) { return std::string(::testing::TempDir()) + name; }
std::string folder_of_test(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash + 1);
}
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

namespace {
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), bytes.size());
}
}  // namespace

TEST(H5Arrays, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("6789", 4, crc32("12345", 5)), 0xCBF43926u);  // continues across calls
}

TEST(H5Arrays, EveryFlippedByteOfADatasetIsRefused) {
  const std::string path = temp_path("flips.h5");
  ArrayFile f;
  std::vector<float> values(64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 1000.0f + static_cast<float>(i);
  f.arrays["state/weights"] = floats(values, {8, 8});
  f.attributes["params"] = "{\"dim\": 8}";
  write_array_file(path, f);
  EXPECT_TRUE(read_array_file(path).checksummed);
  const std::string clean = read_bytes(path);
  const std::string payload(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  const size_t data_at = clean.find(payload);
  ASSERT_NE(data_at, std::string::npos);
  for (size_t i = 0; i < payload.size(); ++i) {
    std::string damaged = clean;
    damaged[data_at + i] ^= static_cast<char>(1 << (i % 8));
    write_bytes(path, damaged);
    EXPECT_THROW(read_array_file(path), InputError) << "byte " << i;
  }
  // The attribute's value is covered too.
  const size_t attr_at = clean.find("{\"dim\": 8}");
  ASSERT_NE(attr_at, std::string::npos);
  std::string damaged = clean;
  damaged[attr_at + 8] = '9';
  write_bytes(path, damaged);
  try {
    read_array_file(path);
    ADD_FAILURE() << "a changed attribute was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("attribute 'params'"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(H5Arrays, FilesWithoutAManifestStillLoad) {
  const std::string path = temp_path("older.h5");
  {
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[1] = {3};
    hid_t space = H5Screate_simple(1, dims, nullptr);
    hid_t set =
        H5Dcreate2(file, "x", H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const int64_t values[3] = {1, 2, 3};
    H5Dwrite(set, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
  }
  ArrayFile g = read_array_file(path);
  EXPECT_FALSE(g.checksummed);
  EXPECT_EQ(g.arrays["x"].num_elements(), 3);
  std::remove(path.c_str());
}

TEST(H5Arrays, AttributesAddedByOtherToolsAreIgnored) {
  const std::string path = temp_path("foreign.h5");
  ArrayFile f;
  f.arrays["x"] = floats({1, 2}, {2});
  f.attributes["format"] = "sessrec";
  write_array_file(path, f);
  {
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t utf8 = H5Tcopy(H5T_C_S1);  // as h5py writes str: variable-length UTF-8
    H5Tset_size(utf8, H5T_VARIABLE);
    H5Tset_cset(utf8, H5T_CSET_UTF8);
    const char* note = "written by h5py";
    hid_t a = H5Acreate2(file, "note", utf8, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, utf8, &note);
    H5Aclose(a);
    hsize_t two[1] = {2};
    hid_t pair = H5Screate_simple(1, two, nullptr);
    const char* tags[2] = {"a", "bb"};
    a = H5Acreate2(file, "tags", utf8, pair, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, utf8, tags);
    H5Aclose(a);
    const double number = 3.5;
    a = H5Acreate2(file, "number", H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_DOUBLE, &number);
    H5Aclose(a);
    hid_t set = H5Dopen2(file, "x", H5P_DEFAULT);
    a = H5Acreate2(set, "units", utf8, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, utf8, &note);
    H5Aclose(a);
    H5Dclose(set);
    H5Sclose(pair);
    H5Tclose(utf8);
    H5Sclose(scalar);
    H5Fclose(file);
  }
  ArrayFile g = read_array_file(path);
  EXPECT_TRUE(g.checksummed);
  EXPECT_EQ(g.attributes["format"], "sessrec");
  EXPECT_EQ(g.attributes["note"], "written by h5py");
  EXPECT_EQ(g.attributes.count("tags"), 0u);
  EXPECT_EQ(g.attributes.count("number"), 0u);
  EXPECT_EQ(g.arrays["x"].bytes, f.arrays["x"].bytes);
  std::remove(path.c_str());
}

TEST(H5Arrays, FailedWriteNamesTheCauseAndLeavesNoTemporaryFile) {
  const std::string folder = temp_path("h5_not_a_folder");
  write_bytes(folder, "a file where a folder should be");
  ArrayFile f;
  f.arrays["x"] = floats({1}, {1});
  try {
    write_array_file(folder + "/x.h5", f);
    ADD_FAILURE() << "wrote below a file";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a folder"), std::string::npos) << e.what();
  }
  // A failure after the temporary file exists: the target is a folder, so the rename fails.
  const std::string target = temp_path("h5_target_is_folder");
  std::remove(target.c_str());
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  EXPECT_THROW(write_array_file(target, f), InputError);
  const std::string parent = folder_of_test(target);
  DIR* dir = opendir(parent.c_str());
  ASSERT_NE(dir, nullptr);
  for (dirent* entry = readdir(dir); entry != nullptr; entry = readdir(dir))
    EXPECT_EQ(std::string(entry->d_name).find("h5_target_is_folder.tmp"), std::string::npos)
        << entry->d_name;
  closedir(dir);
  rmdir(target.c_str());
  std::remove(folder.c_str());
}
