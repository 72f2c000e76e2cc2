// Next-item examples over a SessionStore and the history views that scorers consume.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/session_store.h"

namespace sessrec {

// A batch of session histories as views: history r is items[begin[r] .. end[r]).
struct HistoryBatch {
  const int32_t* items = nullptr;
  const int64_t* begin = nullptr;
  const int64_t* end = nullptr;
  int64_t size = 0;

  int64_t length(int64_t r) const { return end[r] - begin[r]; }
  const int32_t* history(int64_t r) const { return items + begin[r]; }
};

// Example r predicts store.items[end[r]] from store.items[begin[r] .. end[r]).
struct ExampleSet {
  std::vector<int64_t> begin;
  std::vector<int64_t> end;
  std::vector<int64_t> session;  // the session each example comes from

  int64_t size() const { return static_cast<int64_t>(end.size()); }
  HistoryBatch view(const SessionStore& store, int64_t first, int64_t count) const {
    return HistoryBatch{store.items.data(), begin.data() + first, end.data() + first, count};
  }
};

enum class TargetPositions { All, Last };

// Every position t >= 1 of every session (All) or only its last position (Last) becomes an
// example with the at most `max_history` items before it (0 = no limit). Sessions shorter than
// two events give no example.
ExampleSet make_examples(const SessionStore& store, TargetPositions positions, int64_t max_history);

}  // namespace sessrec
