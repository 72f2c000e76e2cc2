#include "sessrec/retrieval/inverted_index.h"

namespace sessrec {

ItemOccurrences index_item_occurrences(const SessionStore& store, int64_t num_items) {
  ItemOccurrences occ;
  occ.offsets.assign(num_items + 1, 0);
  for (int32_t item : store.items) ++occ.offsets[item + 1];
  for (int64_t i = 0; i < num_items; ++i) occ.offsets[i + 1] += occ.offsets[i];
  occ.events.resize(store.num_events());
  std::vector<int64_t> cursor(occ.offsets.begin(), occ.offsets.end() - 1);
  for (int64_t e = 0; e < store.num_events(); ++e) occ.events[cursor[store.items[e]]++] = e;
  occ.session_of_event.resize(store.num_events());
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < store.num_sessions(); ++s)
    for (int64_t e = store.offsets[s]; e < store.offsets[s + 1]; ++e) occ.session_of_event[e] = s;
  return occ;
}

}  // namespace sessrec
