// Interaction token sequences for a two-level (interaction, session) encoder, as UBM builds them
// (Li et al., "Contrastive Pre-training for Deep Session Data Understanding", §3.1.1): an
// interaction is an action token ([SEARCH], [VIEW], [ADD], [BUY]) followed by the item's text,
// each field behind its own special token ("[TITLE] ... [CATEGORY] ... [SIZE] large"), or by the
// query text of a search.
//
//   item text     = for each field with tokens, in the given order: marker, field tokens
//                   (the title field cut to max_title_tokens; empty fields leave no marker)
//   interaction   = [CLS]? action content, cut to max_tokens_per_interaction tokens
//                   content = the event's query tokens when it has any, else its item's text
//   session       = its most recent max_interactions interactions, oldest first
//   NIP candidate = one interaction without action token: [CLS]? item text, cut alike
//
// Every special token is an ID of the sentencepiece model (a user-defined symbol); this file
// never sees strings. All lists are CSR (offsets + ids); building is parallel over items or
// sessions with two passes (sizes, then fill), so the output never depends on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/session_store.h"
#include "sessrec/text/session_text.h"

namespace sessrec {

struct InteractionConfig {
  int64_t max_interactions = 32;            // per session, the most recent ones
  int64_t max_title_tokens = 32;            // of the title field's own tokens
  int64_t max_tokens_per_interaction = 64;  // everything: [CLS], action, markers, text
  int32_t cls_id = -1;  // >= 0: every interaction starts with it (the encoder pools [CLS])

  void validate() const;  // InputError naming the bad limit
};

// A read-only CSR view: row r is ids[offsets[r] .. offsets[r+1]).
struct TokenRows {
  const int64_t* offsets = nullptr;  // [rows + 1], offsets[0] == 0, non-decreasing
  const int32_t* ids = nullptr;
  int64_t rows = 0;
};

// One pre-tokenized catalogue field: row i holds item i's tokens of that field.
struct ItemField {
  TokenRows tokens;
  int32_t marker_id = -1;  // its special token: [TITLE], [CATEGORY], [BRAND], ...
  bool is_title = false;   // cut to max_title_tokens (at most one field)
};

// Per-event query tokens: store event e reads row event_rows[e] (or row e when event_rows is
// null); a row of -1 or an empty row means "no query text", and the item text is used.
struct QueryTokens {
  TokenRows tokens;
  const int64_t* event_rows = nullptr;
};

// Action code -> action token ID. A store without actions makes every event `without_actions`
// (UBM's [VIEW]); a code outside by_code is an InputError naming the event.
struct ActionTokens {
  std::vector<int32_t> by_code;
  int32_t without_actions = -1;
};

struct InteractionLists {
  std::vector<int64_t> session_offsets{0};  // session s owns interactions [s_o[s], s_o[s+1])
  std::vector<int64_t> token_offsets{0};    // interaction i owns ids [t_o[i], t_o[i+1])
  std::vector<int32_t> ids;
  std::vector<int32_t> items;   // the item of each interaction
  std::vector<int64_t> events;  // its store event row (-1 for NIP candidates)

  int64_t num_sessions() const { return static_cast<int64_t>(session_offsets.size()) - 1; }
  int64_t num_interactions() const { return static_cast<int64_t>(token_offsets.size()) - 1; }
};

// Each item's text (see above) over `num_items` items, every row cut to
// max_tokens_per_interaction. InputError when a field has the wrong number of rows, bad offsets
// or a negative marker, or when more than one field is the title.
TokenLists item_text_tokens(const std::vector<ItemField>& fields, int64_t num_items,
                            const InteractionConfig& config);

// The interactions of the event ranges [begin[r], end[r]) of `store` (whole sessions or
// prefixes), one output session per range, keeping its last max_interactions events. An empty
// range gives a session without interactions. `item_text` has one row per catalogue item
// (item_text_tokens). InputError for a range outside the store or across two sessions, an item
// outside item_text, an unknown action code, a query row outside `queries`, bad offsets.
InteractionLists interaction_token_lists(const SessionStore& store, const int64_t* begin,
                                         const int64_t* end, int64_t num_ranges,
                                         const TokenRows& item_text, const QueryTokens& queries,
                                         const ActionTokens& actions,
                                         const InteractionConfig& config);

// NIP candidates: item indices[r] as a one-interaction session without action token,
// [CLS]? item text, cut to max_tokens_per_interaction (max_interactions does not apply).
// InputError for an index outside item_text.
InteractionLists item_interaction_lists(const TokenRows& item_text, const int32_t* indices,
                                        int64_t count, const InteractionConfig& config);

}  // namespace sessrec
