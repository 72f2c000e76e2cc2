// Inverted indices over a SessionStore: where each item occurs, and in which sessions.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/session_store.h"

namespace sessrec {

struct ItemOccurrences {
  std::vector<int64_t> offsets;           // num_items + 1
  std::vector<int64_t> events;            // event indices of item i: events[offsets[i]..]
  std::vector<int64_t> session_of_event;  // session index of every event
};

// Events of each item, in increasing event order (so results never depend on thread count).
ItemOccurrences index_item_occurrences(const SessionStore& store, int64_t num_items);

}  // namespace sessrec
