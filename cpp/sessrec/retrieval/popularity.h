// Popularity: training counts as a scorer (POP), and the popularity fallback that co-occurrence
// models use for items they give no score.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/session_scorer.h"

namespace sessrec {

class PopularityScorer : public SessionScorer {
 public:
  explicit PopularityScorer(std::vector<int64_t> counts);
  int64_t num_items() const override { return static_cast<int64_t>(counts_.size()); }
  void score(const HistoryBatch& batch, float* out) const override;
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  std::vector<int64_t> counts_;
};

// Items with a score of exactly 0 get -(1 - count/(max_count+1)): below every positively
// scored item, ordered among themselves by training popularity.
void apply_popularity_fallback(float* row, const std::vector<int64_t>& counts, int64_t max_count);

}  // namespace sessrec
