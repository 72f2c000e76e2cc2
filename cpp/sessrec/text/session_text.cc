#include "sessrec/text/session_text.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"

namespace sessrec {

namespace {

void check_item(const ItemTokens& items, int32_t index) {
  if (index < 0 || index >= items.num_items)
    throw InputError("token lists: item index " + std::to_string(index) +
                     " is outside the catalogue of " + std::to_string(items.num_items));
}

}  // namespace

TokenLists item_token_lists(const ItemTokens& items, const int32_t* indices, int64_t count,
                            int64_t max_tokens) {
  if (max_tokens < 1) throw InputError("token lists: max_tokens must be >= 1");
  TokenLists out;
  for (int64_t r = 0; r < count; ++r) {
    check_item(items, indices[r]);
    out.ids.push_back(items.cls_id);
    const int64_t first = items.offsets[indices[r]], last = items.offsets[indices[r] + 1];
    const int64_t take = std::min(last - first, max_tokens - 1);
    out.ids.insert(out.ids.end(), items.ids + first, items.ids + first + take);
    out.offsets.push_back(static_cast<int64_t>(out.ids.size()));
  }
  return out;
}

TokenLists session_token_lists(const ItemTokens& items, const HistoryBatch& histories,
                               int64_t max_tokens) {
  if (max_tokens < 2) throw InputError("token lists: max_tokens must be >= 2 ([CLS] and one more)");
  TokenLists out;
  for (int64_t r = 0; r < histories.size; ++r) {
    const int64_t n = histories.length(r);
    if (n <= 0) throw InputError("token lists: history " + std::to_string(r) + " is empty");
    const int32_t* h = histories.history(r);
    // Walk back from the most recent item while whole items fit after [CLS].
    int64_t budget = max_tokens - 1, first_item = n;
    for (int64_t i = n - 1; i >= 0; --i) {
      check_item(items, h[i]);
      const int64_t cost = 1 + items.offsets[h[i] + 1] - items.offsets[h[i]];  // [SEP] + tokens
      if (cost > budget && i < n - 1) break;
      first_item = i;
      budget -= cost;
      if (budget <= 0) break;
    }
    out.ids.push_back(items.cls_id);
    const int64_t start = static_cast<int64_t>(out.ids.size());
    for (int64_t i = first_item; i < n; ++i) {
      out.ids.push_back(items.sep_id);
      out.ids.insert(out.ids.end(), items.ids + items.offsets[h[i]],
                     items.ids + items.offsets[h[i] + 1]);
    }
    if (static_cast<int64_t>(out.ids.size()) - start > max_tokens - 1)
      out.ids.resize(start + max_tokens - 1);
    out.offsets.push_back(static_cast<int64_t>(out.ids.size()));
  }
  return out;
}

}  // namespace sessrec
