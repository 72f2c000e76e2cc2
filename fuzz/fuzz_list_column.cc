// libFuzzer target: parse_list_column (Amazon-M2's prev_items cells). The input is split into
// cells at '\x1e' (record separator) so one input covers several rows; every cell must either
// parse into tokens that lie inside it, or throw InputError naming the source and line.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sessrec/data/list_column.h"
#include "sessrec/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  sessrec::TextColumn cells;
  size_t begin = 0;
  for (;;) {
    const size_t end = input.find('\x1e', begin);
    cells.push_back(input.substr(begin, end == std::string_view::npos ? end : end - begin));
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  try {
    const sessrec::ParsedLists parsed = sessrec::parse_list_column(cells, "cells.csv", 2);
    if (static_cast<int64_t>(parsed.offsets.size()) != cells.size() + 1 ||
        parsed.offsets.back() != parsed.tokens.size())
      std::abort();
    for (int64_t t = 0; t < parsed.tokens.size(); ++t)
      if (input.find(parsed.tokens.at(t)) == std::string_view::npos) std::abort();
  } catch (const sessrec::InputError& e) {
    if (std::string(e.what()).find("cells.csv, line ") != 0) std::abort();
  }
  return 0;
}
