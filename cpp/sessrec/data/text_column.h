// TextColumn: one string per row, stored as CSR bytes (offsets + UTF-8 bytes), never as a
// vector of std::string, so a million titles are two allocations.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sessrec {

struct TextColumn {
  std::vector<int64_t> offsets{0};
  std::string bytes;

  int64_t size() const { return static_cast<int64_t>(offsets.size()) - 1; }
  std::string_view at(int64_t row) const {
    return std::string_view(bytes).substr(offsets[row], offsets[row + 1] - offsets[row]);
  }
  void push_back(std::string_view text) {
    bytes.append(text);
    offsets.push_back(static_cast<int64_t>(bytes.size()));
  }
  void reserve(int64_t rows, int64_t total_bytes) {
    offsets.reserve(rows + 1);
    bytes.reserve(total_bytes);
  }
};

}  // namespace sessrec
