#include "sessrec/text/interaction_tokens.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"

namespace sessrec {

namespace {

const char* kWhere = "interaction tokens: ";

// Offsets start at 0, never decrease, and ids exist when there are tokens.
void check_rows(const TokenRows& t, const std::string& what) {
  if (t.rows < 0) throw InputError(kWhere + what + " has a negative number of rows");
  if (t.offsets == nullptr) throw InputError(kWhere + what + " has no offsets");
  if (t.offsets[0] != 0)
    throw InputError(kWhere + what + " offsets must start at 0, got " +
                     std::to_string(t.offsets[0]));
  for (int64_t r = 0; r < t.rows; ++r)
    if (t.offsets[r + 1] < t.offsets[r])
      throw InputError(kWhere + what + " offsets decrease at row " + std::to_string(r));
  if (t.offsets[t.rows] > 0 && t.ids == nullptr) throw InputError(kWhere + what + " has no ids");
}

int64_t row_length(const TokenRows& t, int64_t r) { return t.offsets[r + 1] - t.offsets[r]; }

// The query row of store event e, or -1 when it has no query text.
int64_t query_row(const QueryTokens& q, int64_t e) {
  if (q.tokens.offsets == nullptr) return -1;
  const int64_t row = q.event_rows != nullptr ? q.event_rows[e] : e;
  if (row < 0 || row_length(q.tokens, row) == 0) return -1;
  return row;
}

}  // namespace

void InteractionConfig::validate() const {
  if (max_interactions < 1)
    throw InputError(std::string(kWhere) + "max_interactions must be >= 1, got " +
                     std::to_string(max_interactions));
  if (max_title_tokens < 0)
    throw InputError(std::string(kWhere) + "max_title_tokens must be >= 0, got " +
                     std::to_string(max_title_tokens));
  const int64_t least = cls_id >= 0 ? 2 : 1;  // [CLS] and the action token always fit
  if (max_tokens_per_interaction < least)
    throw InputError(std::string(kWhere) + "max_tokens_per_interaction must be >= " +
                     std::to_string(least) + (cls_id >= 0 ? " ([CLS] and the action token)" : "") +
                     ", got " + std::to_string(max_tokens_per_interaction));
}

TokenLists item_text_tokens(const std::vector<ItemField>& fields, int64_t num_items,
                            const InteractionConfig& config) {
  config.validate();
  if (num_items < 0) throw InputError(std::string(kWhere) + "num_items must be >= 0");
  int64_t titles = 0;
  for (size_t f = 0; f < fields.size(); ++f) {
    const std::string what = "field " + std::to_string(f);
    check_rows(fields[f].tokens, what);
    if (fields[f].tokens.rows != num_items)
      throw InputError(kWhere + what + " has " + std::to_string(fields[f].tokens.rows) +
                       " rows for " + std::to_string(num_items) + " items");
    if (fields[f].marker_id < 0) throw InputError(kWhere + what + " has no marker token ID");
    titles += fields[f].is_title;
  }
  if (titles > 1)
    throw InputError(kWhere + std::to_string(titles) +
                     " fields are marked as the title; at most 1");

  const int64_t cap = config.max_tokens_per_interaction;
  auto field_length = [&](const ItemField& field, int64_t i) {
    const int64_t n = row_length(field.tokens, i);
    return field.is_title ? std::min(n, config.max_title_tokens) : n;
  };
  TokenLists out;
  out.offsets.assign(num_items + 1, 0);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < num_items; ++i) {
    int64_t n = 0;
    for (const ItemField& field : fields) {
      const int64_t m = field_length(field, i);
      if (m > 0) n += 1 + m;
    }
    out.offsets[i + 1] = std::min(n, cap);
  }
  for (int64_t i = 0; i < num_items; ++i) out.offsets[i + 1] += out.offsets[i];
  out.ids.resize(out.offsets[num_items]);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < num_items; ++i) {
    int32_t* dst = out.ids.data() + out.offsets[i];
    int32_t* const stop = out.ids.data() + out.offsets[i + 1];
    for (const ItemField& field : fields) {
      const int64_t m = field_length(field, i);
      if (m == 0 || dst == stop) continue;
      *dst++ = field.marker_id;
      const int64_t take = std::min<int64_t>(m, stop - dst);
      const int32_t* src = field.tokens.ids + field.tokens.offsets[i];
      dst = std::copy(src, src + take, dst);
    }
  }
  return out;
}

InteractionLists interaction_token_lists(const SessionStore& store, const int64_t* begin,
                                         const int64_t* end, int64_t num_ranges,
                                         const TokenRows& item_text, const QueryTokens& queries,
                                         const ActionTokens& actions,
                                         const InteractionConfig& config) {
  config.validate();
  if (num_ranges < 0) throw InputError(std::string(kWhere) + "a negative number of ranges");
  check_rows(item_text, "item text");
  if (queries.tokens.offsets != nullptr) check_rows(queries.tokens, "query tokens");
  const int64_t num_events = store.num_events();
  if (store.offsets.empty() || store.offsets.back() != num_events)
    throw InputError(std::string(kWhere) + "the session store's offsets do not end at its " +
                     std::to_string(num_events) + " events");
  const bool has_actions = store.has_actions();
  if (has_actions && static_cast<int64_t>(store.actions.size()) != num_events)
    throw InputError(std::string(kWhere) + "the session store has " +
                     std::to_string(store.actions.size()) + " actions for " +
                     std::to_string(num_events) + " events");
  if (has_actions) {
    for (size_t c = 0; c < actions.by_code.size(); ++c)
      if (actions.by_code[c] < 0)
        throw InputError(kWhere + std::string("action code ") + std::to_string(c) +
                         " has no token ID");
  } else if (actions.without_actions < 0) {
    throw InputError(std::string(kWhere) +
                     "the sessions have no actions and no token ID was given for them");
  }
  const int64_t num_codes = static_cast<int64_t>(actions.by_code.size());

  // Validation is serial and complete before any parallel work, so the loops below never throw.
  std::vector<int64_t> first(num_ranges);
  for (int64_t r = 0; r < num_ranges; ++r) {
    const std::string range = "range " + std::to_string(r) + " [" + std::to_string(begin[r]) +
                              ", " + std::to_string(end[r]) + ")";
    if (begin[r] < 0 || begin[r] > end[r] || end[r] > num_events)
      throw InputError(kWhere + range + " is not inside the store's " + std::to_string(num_events) +
                       " events");
    first[r] = std::max(begin[r], end[r] - config.max_interactions);
    if (begin[r] == end[r]) continue;
    const auto s = std::upper_bound(store.offsets.begin(), store.offsets.end(), begin[r]) -
                   store.offsets.begin() - 1;
    if (end[r] > store.offsets[s + 1])
      throw InputError(kWhere + range + " runs past the end of session " + std::to_string(s));
    for (int64_t e = first[r]; e < end[r]; ++e) {
      const int32_t item = store.items[e];
      if (item < 0 || item >= item_text.rows)
        throw InputError(std::string(kWhere) + "event " + std::to_string(e) + " has item " +
                         std::to_string(item) + ", outside the " + std::to_string(item_text.rows) +
                         " items with text rows");
      if (has_actions && (store.actions[e] < 0 || store.actions[e] >= num_codes))
        throw InputError(std::string(kWhere) + "event " + std::to_string(e) + " has action code " +
                         std::to_string(store.actions[e]) + ", which has no token (codes 0.." +
                         std::to_string(num_codes - 1) + ")");
      if (queries.tokens.offsets != nullptr) {
        const int64_t row = queries.event_rows != nullptr ? queries.event_rows[e] : e;
        if (row < -1 || row >= queries.tokens.rows)
          throw InputError(std::string(kWhere) + "event " + std::to_string(e) +
                           " reads query row " + std::to_string(row) + ", outside the " +
                           std::to_string(queries.tokens.rows) + " query rows");
      }
    }
  }

  const int64_t lead = config.cls_id >= 0 ? 2 : 1;  // [CLS]? and the action token
  const int64_t cap = config.max_tokens_per_interaction;
  auto content_length = [&](int64_t e) {
    const int64_t q = query_row(queries, e);
    return q >= 0 ? row_length(queries.tokens, q) : row_length(item_text, store.items[e]);
  };

  // Pass 1: interactions and tokens per range.
  InteractionLists out;
  out.session_offsets.assign(num_ranges + 1, 0);
  std::vector<int64_t> range_tokens(num_ranges + 1, 0);
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t r = 0; r < num_ranges; ++r) {
    int64_t tokens = 0;
    for (int64_t e = first[r]; e < end[r]; ++e) tokens += std::min(cap, lead + content_length(e));
    out.session_offsets[r + 1] = end[r] - first[r];
    range_tokens[r + 1] = tokens;
  }
  for (int64_t r = 0; r < num_ranges; ++r) {
    out.session_offsets[r + 1] += out.session_offsets[r];
    range_tokens[r + 1] += range_tokens[r];
  }
  const int64_t num_interactions = out.session_offsets[num_ranges];
  out.token_offsets.assign(num_interactions + 1, 0);
  out.ids.resize(range_tokens[num_ranges]);
  out.items.resize(num_interactions);
  out.events.resize(num_interactions);

  // Pass 2: fill.
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t r = 0; r < num_ranges; ++r) {
    int64_t k = out.session_offsets[r], at = range_tokens[r];
    for (int64_t e = first[r]; e < end[r]; ++e, ++k) {
      int32_t* dst = out.ids.data() + at;
      if (config.cls_id >= 0) *dst++ = config.cls_id;
      *dst++ = has_actions ? actions.by_code[store.actions[e]] : actions.without_actions;
      const int64_t q = query_row(queries, e);
      const TokenRows& source = q >= 0 ? queries.tokens : item_text;
      const int64_t row = q >= 0 ? q : store.items[e];
      const int64_t take = std::min(row_length(source, row), cap - lead);
      const int32_t* src = source.ids + source.offsets[row];
      dst = std::copy(src, src + take, dst);
      at = dst - out.ids.data();
      out.token_offsets[k + 1] = at;
      out.items[k] = store.items[e];
      out.events[k] = e;
    }
  }
  return out;
}

InteractionLists item_interaction_lists(const TokenRows& item_text, const int32_t* indices,
                                        int64_t count, const InteractionConfig& config) {
  config.validate();
  check_rows(item_text, "item text");
  if (count < 0) throw InputError(std::string(kWhere) + "a negative number of items");
  for (int64_t r = 0; r < count; ++r)
    if (indices[r] < 0 || indices[r] >= item_text.rows)
      throw InputError(kWhere + std::string("candidate ") + std::to_string(r) + " is item " +
                       std::to_string(indices[r]) + ", outside the " +
                       std::to_string(item_text.rows) + " items with text rows");
  const int64_t lead = config.cls_id >= 0 ? 1 : 0;
  const int64_t cap = config.max_tokens_per_interaction;
  InteractionLists out;
  out.session_offsets.resize(count + 1);
  for (int64_t r = 0; r <= count; ++r) out.session_offsets[r] = r;
  out.token_offsets.assign(count + 1, 0);
  for (int64_t r = 0; r < count; ++r)
    out.token_offsets[r + 1] =
        out.token_offsets[r] + std::min(cap, lead + row_length(item_text, indices[r]));
  out.ids.resize(out.token_offsets[count]);
  out.items.assign(indices, indices + count);
  out.events.assign(count, -1);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < count; ++r) {
    int32_t* dst = out.ids.data() + out.token_offsets[r];
    if (lead) *dst++ = config.cls_id;
    const int64_t take = out.token_offsets[r + 1] - out.token_offsets[r] - lead;
    const int32_t* src = item_text.ids + item_text.offsets[indices[r]];
    std::copy(src, src + take, dst);
  }
  return out;
}

}  // namespace sessrec
