#include "sessrec/retrieval/popularity.h"

#include <algorithm>

#include "sessrec/errors.h"

namespace sessrec {

PopularityScorer::PopularityScorer(std::vector<int64_t> counts) : counts_(std::move(counts)) {
  for (size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i] < 0)
      throw InputError("PopularityScorer: negative count for item " + std::to_string(i));
}

void PopularityScorer::score(const HistoryBatch& batch, float* out) const {
  const int64_t n = num_items();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < batch.size; ++r)
    for (int64_t i = 0; i < n; ++i) out[r * n + i] = static_cast<float>(counts_[i]);
}

void apply_popularity_fallback(float* row, const std::vector<int64_t>& counts, int64_t max_count) {
  const double scale = 1.0 / (static_cast<double>(max_count) + 1.0);
  const int64_t n = static_cast<int64_t>(counts.size());
  for (int64_t i = 0; i < n; ++i)
    if (row[i] == 0.0f) row[i] = static_cast<float>(-(1.0 - counts[i] * scale));
}

}  // namespace sessrec
