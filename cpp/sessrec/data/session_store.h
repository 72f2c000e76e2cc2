// SessionStore: sessions as CSR arrays. Session s owns items[offsets[s] .. offsets[s+1]).
// Optional per-event arrays (actions, times) are either empty or as long as items.
#pragma once
#include <cstdint>
#include <vector>

namespace sessrec {

struct SessionStore {
  std::vector<int64_t> offsets{0};  // num_sessions + 1, offsets[0] == 0, non-decreasing
  std::vector<int32_t> items;       // dense item indices into a Catalog
  std::vector<int8_t> actions;      // optional action codes (e.g. 0 view, 1 add, 2 buy, 3 search)
  std::vector<int64_t> times;       // optional event timestamps (seconds)

  int64_t num_sessions() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t num_events() const { return static_cast<int64_t>(items.size()); }
  int64_t length(int64_t s) const { return offsets[s + 1] - offsets[s]; }
  bool has_actions() const { return !actions.empty(); }
  bool has_times() const { return !times.empty(); }

  // Throws InputError naming the first inconsistency (offsets, array lengths, item range).
  void validate(int64_t num_items) const;

  // Sessions `order[0], order[1], ...` copied into a new store (a gather, in parallel).
  SessionStore subset(const std::vector<int64_t>& order) const;

  // Every session with its last `drop` events removed (sessions may become empty).
  SessionStore drop_tail(int64_t drop) const;

  // Per-session start time: the smallest event time of the session (0 for empty sessions).
  std::vector<int64_t> session_start_times() const;

  // Occurrences of each item: counts[i] = number of events with item i.
  std::vector<int64_t> item_counts(int64_t num_items) const;
};

// Builds a store from event rows that are already grouped by session (session_codes
// non-decreasing runs). Rows of one session keep their order.
SessionStore store_from_grouped_rows(const std::vector<int64_t>& session_codes,
                                     const std::vector<int32_t>& items);

}  // namespace sessrec
