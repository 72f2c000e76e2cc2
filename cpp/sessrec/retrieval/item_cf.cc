#include "sessrec/retrieval/item_cf.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/interrupt.h"
#include "sessrec/retrieval/inverted_index.h"
#include "sessrec/retrieval/popularity.h"

namespace sessrec {

void ItemCFConfig::validate() const {
  if (top_n <= 0) throw InputError("ItemCF: top_n must be positive, got " + std::to_string(top_n));
  if (window < 0) throw InputError("ItemCF: window must be >= 0");
  if (distance_offset <= 0) throw InputError("ItemCF: distance_offset must be positive");
  if (forward_weight < 0 || backward_weight < 0 || last_item_weight < 0)
    throw InputError("ItemCF: direction and position weights must be non-negative");
  if (!(recency_decay > 0 && recency_decay <= 1))
    throw InputError("ItemCF: recency_decay must be in (0, 1]");
}

ItemCF::ItemCF(ItemCFConfig config, int64_t num_items) : config_(config), num_items_(num_items) {
  config_.validate();
  if (num_items <= 0) throw InputError("ItemCF: the catalogue is empty");
  offsets_.assign(num_items + 1, 0);
  counts_.assign(num_items, 0);
}

void ItemCF::fit(const SessionStore& train) {
  train.validate(num_items_);
  counts_ = train.item_counts(num_items_);
  max_count_ = counts_.empty() ? 0 : *std::max_element(counts_.begin(), counts_.end());
  const ItemOccurrences occ = index_item_occurrences(train, num_items_);

  int64_t longest = 1;
  for (int64_t s = 0; s < train.num_sessions(); ++s) longest = std::max(longest, train.length(s));
  std::vector<float> distance_weight(longest + 1);
  for (int64_t d = 0; d <= longest; ++d)
    distance_weight[d] = static_cast<float>(
        1.0 / std::pow(static_cast<double>(d) + config_.distance_offset, config_.distance_power));
  std::vector<double> source_norm(num_items_), target_norm(num_items_);
  for (int64_t i = 0; i < num_items_; ++i) {
    source_norm[i] = std::pow(std::max<int64_t>(counts_[i], 1), config_.source_norm_power);
    target_norm[i] = std::pow(std::max<int64_t>(counts_[i], 1), config_.target_norm_power);
  }

  const int64_t top_n = config_.top_n;
  std::vector<int32_t> kept_count(num_items_, 0);
  std::vector<int32_t> all_indices(num_items_ * top_n);
  std::vector<float> all_sims(num_items_ * top_n);
  const float forward = static_cast<float>(config_.forward_weight);
  const float backward = static_cast<float>(config_.backward_weight);
  const float last_weight = static_cast<float>(config_.last_item_weight);

  // With window 0 one long session costs its length squared: polled per 64 occurrences.
  ParallelInterrupt interrupt(64);
#pragma omp parallel
  {
    // Sparse accumulator: a dense row plus the list of touched columns.
    std::vector<float> acc(num_items_, 0.0f);
    std::vector<int32_t> touched;
    std::vector<std::pair<float, int32_t>> ranked;
#pragma omp for schedule(dynamic, 64)
    for (int64_t x = 0; x < num_items_; ++x) {
      touched.clear();
      for (int64_t o = occ.offsets[x]; o < occ.offsets[x + 1]; ++o) {
        if (interrupt.stop()) break;
        const int64_t e = occ.events[o];
        const int64_t s = occ.session_of_event[e];
        const int64_t start = train.offsets[s], stop = train.offsets[s + 1];
        const int64_t lo = config_.window > 0 ? std::max(start, e - config_.window) : start;
        const int64_t hi = config_.window > 0 ? std::min(stop, e + config_.window + 1) : stop;
        for (int64_t b = lo; b < hi; ++b) {
          const int32_t y = train.items[b];
          if (y == x) continue;
          float w = distance_weight[b > e ? b - e : e - b] * (b > e ? forward : backward);
          if (b == stop - 1) w *= last_weight;
          if (w <= 0.0f) continue;  // keeps "acc[y] == 0" meaning "not yet touched"
          if (acc[y] == 0.0f) touched.push_back(y);
          acc[y] += w;
        }
      }
      ranked.clear();
      for (int32_t y : touched) {
        ranked.emplace_back(static_cast<float>(acc[y] / (source_norm[x] * target_norm[y])), y);
        acc[y] = 0.0f;
      }
      const int64_t keep = std::min<int64_t>(top_n, ranked.size());
      auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      };
      std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(), better);
      for (int64_t j = 0; j < keep; ++j) {
        all_sims[x * top_n + j] = ranked[j].first;
        all_indices[x * top_n + j] = ranked[j].second;
      }
      kept_count[x] = static_cast<int32_t>(keep);
    }
  }
  interrupt.throw_if_stopped();

  offsets_.assign(num_items_ + 1, 0);
  for (int64_t x = 0; x < num_items_; ++x) offsets_[x + 1] = offsets_[x] + kept_count[x];
  for (int64_t x = 0; x < num_items_; ++x) {  // compact in place: destinations never overtake
    std::copy_n(all_indices.begin() + x * top_n, kept_count[x], all_indices.begin() + offsets_[x]);
    std::copy_n(all_sims.begin() + x * top_n, kept_count[x], all_sims.begin() + offsets_[x]);
  }
  all_indices.resize(offsets_[num_items_]);
  all_sims.resize(offsets_[num_items_]);
  all_indices.shrink_to_fit();
  all_sims.shrink_to_fit();
  indices_ = std::move(all_indices);
  similarities_ = std::move(all_sims);
}

void ItemCF::score(const HistoryBatch& batch, float* out) const {
  const int64_t n = num_items_;
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t r = 0; r < batch.size; ++r) {
    float* row = out + r * n;
    std::fill(row, row + n, 0.0f);
    accumulate_scores(batch.history(r), batch.length(r), row, [](int32_t) {});
    if (config_.popularity_fallback) apply_popularity_fallback(row, counts_, max_count_);
  }
}

void ItemCF::set_state(std::vector<int64_t> offsets, std::vector<int32_t> indices,
                       std::vector<float> similarities, std::vector<int64_t> counts) {
  if (static_cast<int64_t>(offsets.size()) != num_items_ + 1 || offsets.front() != 0)
    throw InputError("ItemCF state: offsets must have num_items + 1 entries starting at 0");
  if (static_cast<int64_t>(counts.size()) != num_items_)
    throw InputError("ItemCF state: counts must have num_items entries");
  if (indices.size() != similarities.size() ||
      offsets.back() != static_cast<int64_t>(indices.size()))
    throw InputError("ItemCF state: neighbour arrays disagree with the offsets");
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1]) throw InputError("ItemCF state: offsets decrease");
  for (int32_t y : indices)
    if (y < 0 || y >= num_items_) throw InputError("ItemCF state: neighbour index out of range");
  offsets_ = std::move(offsets);
  indices_ = std::move(indices);
  similarities_ = std::move(similarities);
  counts_ = std::move(counts);
  max_count_ = counts_.empty() ? 0 : *std::max_element(counts_.begin(), counts_.end());
}

}  // namespace sessrec
