#include "sessrec/models/sequence_batch.h"

#include <algorithm>

#include "sessrec/errors.h"

namespace sessrec {

TrainingWindows make_training_windows(const SessionStore& store, int64_t max_len, bool prefix) {
  if (max_len < 1) throw InputError("make_training_windows: max_len must be >= 1");
  TrainingWindows w;
  w.last_only = prefix;
  for (int64_t s = 0; s < store.num_sessions(); ++s) {
    const int64_t start = store.offsets[s], stop = store.offsets[s + 1];
    if (stop - start < 2) continue;
    if (prefix) {
      for (int64_t e = start + 1; e < stop; ++e) {
        w.begin.push_back(std::max(start, e - max_len));
        w.end.push_back(e + 1);
      }
    } else {
      for (int64_t a = start; a + 1 < stop; a += max_len) {
        w.begin.push_back(a);
        w.end.push_back(std::min(stop, a + max_len + 1));
      }
    }
  }
  return w;
}

SequenceBatch batch_for_training(const SessionStore& store, const int64_t* begin,
                                 const int64_t* end, int64_t count, bool last_only) {
  SequenceBatch batch;
  batch.B = count;
  for (int64_t r = 0; r < count; ++r) {
    if (begin[r] < 0 || end[r] > store.num_events() || end[r] - begin[r] < 2)
      throw InputError("batch_for_training: unit " + std::to_string(r) +
                       " is not a window of at least two events");
    batch.T = std::max(batch.T, end[r] - begin[r] - 1);
  }
  const int64_t T = batch.T;
  batch.clear_to(count, T);
  for (int64_t r = 0; r < count; ++r) {
    const int64_t n = end[r] - begin[r] - 1;
    for (int64_t t = 0; t < n; ++t) {
      batch.input[r * T + t] = store.items[begin[r] + t] + 1;
      batch.valid[r * T + t] = 1;
      if (!last_only || t == n - 1) batch.target[r * T + t] = store.items[begin[r] + t + 1] + 1;
    }
    batch.last[r] = n - 1;
  }
  return batch;
}

SequenceBatch batch_for_scoring(const HistoryBatch& histories, int64_t first, int64_t count,
                                int64_t max_len) {
  SequenceBatch batch;
  batch.B = count;
  for (int64_t r = 0; r < count; ++r)
    batch.T = std::max(batch.T, std::min(max_len, histories.length(first + r)));
  batch.T = std::max<int64_t>(batch.T, 1);
  const int64_t T = batch.T;
  batch.clear_to(count, T);
  for (int64_t r = 0; r < count; ++r) {
    const int64_t len = histories.length(first + r);
    const int64_t n = std::min(max_len, len);
    const int32_t* h = histories.history(first + r) + (len - n);
    for (int64_t t = 0; t < n; ++t) {
      batch.input[r * T + t] = h[t] + 1;
      batch.valid[r * T + t] = 1;
    }
    batch.last[r] = n - 1;
  }
  return batch;
}

}  // namespace sessrec
