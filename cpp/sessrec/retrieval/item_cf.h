// ItemCF as defined by the KDD Cup 2023 5th-place solution (Zhang et al. 2023, eqs. 1-4).
//
// For every session and every ordered pair of positions (a, b), a != b, with x at a and y at b:
//   w(x, y) += 1/(|b - a| + distance_offset)^distance_power      (distance)
//            * (b > a ? forward_weight : backward_weight)          (direction)
//            * (b is the session's last position ? last_item_weight : 1)   (position)
// and sim(x, y) = w(x, y) / (|x|^source_norm_power * |y|^target_norm_power), |x| being x's
// number of occurrences in training. The top_n neighbours of each x are kept.
// A session h_1..h_T scores y as sum_t recency_decay^(T-t) * sim(h_t, y).
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/session_store.h"
#include "sessrec/session_scorer.h"

namespace sessrec {

struct ItemCFConfig {
  double distance_offset = 1.0;
  double distance_power = 2.0;
  double forward_weight = 1.0;
  double backward_weight = 1.0 / 3.0;
  double last_item_weight = 1.8;
  double source_norm_power = 0.8;
  double target_norm_power = 0.15;
  int64_t top_n = 100;       // neighbours kept per item
  int64_t window = 0;        // only pairs with |b - a| <= window (0 = whole session)
  double recency_decay = 0.7;
  bool popularity_fallback = true;  // rank unscored items by popularity, below scored ones

  void validate() const;
};

class ItemCF : public SessionScorer {
 public:
  ItemCF(ItemCFConfig config, int64_t num_items);

  // Builds the neighbour lists from training sessions (OpenMP over source items).
  void fit(const SessionStore& train);

  int64_t num_items() const override { return num_items_; }
  void score(const HistoryBatch& batch, float* out) const override;

  // Adds one history's co-occurrence scores into acc[num_items] (before the popularity
  // fallback), calling touch(y) before each addition to y. The dense score() and the sparse
  // ranking (item_cf_sparse_ranking.h) both sum through here, in the same order, so that their
  // float sums are bitwise equal.
  template <class Touch>
  void accumulate_scores(const int32_t* history, int64_t length, float* acc, Touch&& touch) const {
    const float decay = static_cast<float>(config_.recency_decay);
    float weight = 1.0f;
    for (int64_t t = length - 1; t >= 0; --t, weight *= decay) {
      const int32_t x = history[t];
      if (x < 0 || x >= num_items_) continue;  // validated at the Python boundary; never index out
      for (int64_t j = offsets_[x]; j < offsets_[x + 1]; ++j) {
        touch(indices_[j]);
        acc[indices_[j]] += weight * similarities_[j];
      }
    }
  }

  const ItemCFConfig& config() const { return config_; }
  // Neighbour lists as CSR: neighbours of x are indices[offsets[x] .. offsets[x+1]), best first.
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const std::vector<int32_t>& indices() const { return indices_; }
  const std::vector<float>& similarities() const { return similarities_; }
  const std::vector<int64_t>& counts() const { return counts_; }

  // Restores a fitted model (validated).
  void set_state(std::vector<int64_t> offsets, std::vector<int32_t> indices,
                 std::vector<float> similarities, std::vector<int64_t> counts);

 private:
  ItemCFConfig config_;
  int64_t num_items_;
  std::vector<int64_t> offsets_;
  std::vector<int32_t> indices_;
  std::vector<float> similarities_;
  std::vector<int64_t> counts_;
  int64_t max_count_ = 0;
};

}  // namespace sessrec
