// Full ranking over the whole catalogue: the rank of each target among all items, computed in
// blocks of sessions so that the score matrix of a test set never exists at once.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/data/examples.h"
#include "sessrec/interrupt.h"
#include "sessrec/session_scorer.h"

namespace sessrec {

// Pessimistic: items scoring equal to the target rank above it (rank = 1 + #greater + #equal).
// Optimistic: they rank below it (rank = 1 + #greater). Average: half of them above.
enum class TiePolicy { Pessimistic, Optimistic, Average };

// "pessimistic", "optimistic" or "average"; anything else is an InputError.
TiePolicy parse_tie_policy(const std::string& name);

// The 1-based rank of a target that `greater` items beat and `equal` items tie (the target
// itself not counted), under the tie policy.
inline double rank_from_counts(int64_t greater, int64_t equal, TiePolicy ties) {
  switch (ties) {
    case TiePolicy::Optimistic:
      return 1.0 + greater;
    case TiePolicy::Average:
      return 1.0 + greater + 0.5 * equal;
    case TiePolicy::Pessimistic:
    default:
      return 1.0 + greater + equal;
  }
}

struct RankOptions {
  TiePolicy ties = TiePolicy::Pessimistic;
  // Remove the session's history items (other than the target itself) from the competition.
  bool exclude_history = false;
  // Upper bound on the score block kept in memory (rows x items x 4 bytes).
  int64_t block_bytes = int64_t{32} << 20;
};

// 1-based rank of targets[r] in row r of a rows x num_items score matrix. `histories` may be
// null when exclude_history is false. Throws InputError if a target is out of range or its
// score is NaN.
void ranks_from_scores(const float* scores, int64_t rows, int64_t num_items,
                       const int32_t* targets, const HistoryBatch* histories,
                       const RankOptions& options, double* ranks_out);

// Rows scored per block: block_bytes of scores, but at least two rows per thread (so that
// row-parallel scorers keep every core busy) and at least the rows the scorer prefers.
int64_t rank_block_rows(const SessionScorer& scorer, int64_t block_bytes);

// Calls rank_block(batch, targets, ranks_out) for consecutive blocks of at most `block`
// examples (targets: each example's next item), polling Ctrl-C between blocks; returns the
// ranks of every example, in order.
template <typename RankBlock>
std::vector<double> rank_example_blocks(const SessionStore& store, const ExampleSet& examples,
                                        int64_t block, RankBlock&& rank_block) {
  std::vector<double> ranks(examples.size());
  std::vector<int32_t> targets;
  for (int64_t first = 0; first < examples.size(); first += block) {
    check_interrupt();
    const int64_t count = std::min(block, examples.size() - first);
    HistoryBatch batch = examples.view(store, first, count);
    targets.resize(count);
    for (int64_t r = 0; r < count; ++r) targets[r] = store.items[examples.end[first + r]];
    rank_block(batch, targets.data(), ranks.data() + first);
  }
  return ranks;
}

// Ranks of every example's target under a scorer, scored block by block.
std::vector<double> rank_examples(const SessionScorer& scorer, const SessionStore& store,
                                  const ExampleSet& examples, const RankOptions& options);

// Top-k items per row by score (ties broken by smaller item index), best first. When
// `exclude` is given, each row's history items are skipped. Rows with fewer than k eligible
// items are padded with index -1 and score -inf.
void top_k_from_scores(const float* scores, int64_t rows, int64_t num_items, int64_t k,
                       const HistoryBatch* exclude, int32_t* items_out, float* scores_out);

}  // namespace sessrec
