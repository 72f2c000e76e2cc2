// Padded batches for sequence models. Item i of the catalogue is id i + 1; id 0 is padding.
// Sessions are right-padded: position t of row b holds the t-th item of its window.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/examples.h"
#include "sessrec/data/session_store.h"

namespace sessrec {

struct SequenceBatch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> input;   // [B*T] item ids (index + 1), 0 = padding
  std::vector<int32_t> target;  // [B*T] next item id at each position, -1 = no loss here
  std::vector<uint8_t> valid;   // [B*T] 1 for real input positions
  std::vector<int64_t> last;    // [B] last real position (-1 for an empty row)

  // B rows of T padding positions with no targets.
  void clear_to(int64_t rows, int64_t positions) {
    B = rows;
    T = positions;
    input.assign(B * T, 0);
    target.assign(B * T, -1);
    valid.assign(B * T, 0);
    last.assign(B, -1);
  }
};

// Training units: unit r covers events [begin[r], end[r]) of one session; positions predict the
// next event of the unit. With last_only, only the unit's final event is a target.
struct TrainingWindows {
  std::vector<int64_t> begin, end;
  bool last_only = false;
  int64_t size() const { return static_cast<int64_t>(begin.size()); }
};

// "causal": every session cut into consecutive windows of at most max_len + 1 events, so every
// position t >= 1 is a target exactly once, with up to max_len items of history (one pass over
// all positions). "prefix": one unit per prefix example (history of up to max_len items, last
// position only) - the prefix expansion of the papers.
TrainingWindows make_training_windows(const SessionStore& store, int64_t max_len, bool prefix);

SequenceBatch batch_for_training(const SessionStore& store, const int64_t* begin,
                                 const int64_t* end, int64_t count, bool last_only);

// The last max_len items of each history, for scoring (no targets).
SequenceBatch batch_for_scoring(const HistoryBatch& histories, int64_t first, int64_t count,
                                int64_t max_len);

}  // namespace sessrec
