// Parser for list-valued CSV cells such as Amazon-M2's prev_items: "['B09W9FND7K' 'B09JSPLN1M']"
// (numpy-style, space or newline separated) or "['a', 'b']" (Python-style). Quoted tokens are
// taken as they are; unquoted tokens are split on spaces and commas.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/data/text_column.h"

namespace sessrec {

struct ParsedLists {
  std::vector<int64_t> offsets{0};  // tokens of cell r: tokens[offsets[r] .. offsets[r+1])
  TextColumn tokens;
};

// Throws InputError naming `source` and the 1-based row when a cell is not a bracketed list
// or has an unterminated quote.
ParsedLists parse_list_column(const TextColumn& cells, const std::string& source,
                              int64_t first_line);

}  // namespace sessrec
