#include "sessrec/data/list_column.h"

#include "sessrec/errors.h"

namespace sessrec {

ParsedLists parse_list_column(const TextColumn& cells, const std::string& source,
                              int64_t first_line) {
  ParsedLists out;
  for (int64_t r = 0; r < cells.size(); ++r) {
    std::string_view cell = cells.at(r);
    auto fail = [&](const std::string& why) {
      throw InputError(source + ", line " + std::to_string(first_line + r) + ": " + why +
                       " in list cell '" + std::string(cell.substr(0, 80)) + "'");
    };
    size_t a = cell.find_first_not_of(" \t\r\n");
    size_t b = cell.find_last_not_of(" \t\r\n");
    if (a == std::string_view::npos || cell[a] != '[' || cell[b] != ']')
      fail("expected a bracketed list");
    std::string_view body = cell.substr(a + 1, b - a - 1);
    size_t i = 0;
    while (i < body.size()) {
      const char c = body[i];
      if (c == ' ' || c == ',' || c == '\n' || c == '\r' || c == '\t') {
        ++i;
      } else if (c == '\'' || c == '"') {
        const size_t close = body.find(c, i + 1);
        if (close == std::string_view::npos) fail("unterminated quote");
        out.tokens.push_back(body.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        size_t stop = body.find_first_of(" ,\n\r\t", i);
        if (stop == std::string_view::npos) stop = body.size();
        out.tokens.push_back(body.substr(i, stop - i));
        i = stop;
      }
    }
    out.offsets.push_back(out.tokens.size());
  }
  return out;
}

}  // namespace sessrec
