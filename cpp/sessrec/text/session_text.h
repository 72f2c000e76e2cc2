// Token lists for text encoders, built from the catalogue's per-item tokens (CSR over item
// indices): an item's list is [CLS] + its tokens; a session history's list is [CLS] followed by
// its items' tokens, oldest first, each item after a [SEP], keeping the most recent items that
// fit in max_tokens (when the most recent item alone does not fit, its first tokens).
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/examples.h"

namespace sessrec {

struct ItemTokens {
  const int64_t* offsets = nullptr;  // [num_items + 1]
  const int32_t* ids = nullptr;
  int64_t num_items = 0;
  int32_t cls_id = 0, sep_id = 0;
};

struct TokenLists {
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> ids;
  int64_t size() const { return static_cast<int64_t>(offsets.size()) - 1; }
};

// Item indices [count] -> their lists (InputError for an index outside the catalogue).
TokenLists item_token_lists(const ItemTokens& items, const int32_t* indices, int64_t count,
                            int64_t max_tokens);
// Histories (item indices) -> their lists; an empty history is an InputError.
// max_tokens must be >= 2 (InputError).
TokenLists session_token_lists(const ItemTokens& items, const HistoryBatch& histories,
                               int64_t max_tokens);

}  // namespace sessrec
