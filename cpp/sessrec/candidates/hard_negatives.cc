#include "sessrec/candidates/hard_negatives.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/random.h"

namespace sessrec {

void MiningConfig::validate() const {
  if (k1 < 0 || k2 <= k1)
    throw InputError("mining: need 0 <= k1 < k2, got k1=" + std::to_string(k1) +
                     ", k2=" + std::to_string(k2));
  if (num_hard < 0 || num_random < 0 || num_aug < 0)
    throw InputError("mining: negative and positive counts must be >= 0");
  if (num_hard + num_random == 0) throw InputError("mining: no negatives requested");
  if (num_aug > 0 && num_aug >= k1)
    throw InputError("mining: num_aug must be below k1 (extra positives come from ranks < k1)");
  if (!(aug_weight >= 0)) throw InputError("mining: aug_weight must be >= 0");
}

MiningLayout mining_layout(const MiningConfig& c, int64_t num_items, bool with_teacher) {
  c.validate();
  if (with_teacher && c.k2 > num_items)
    throw InputError("mining: the window k1=" + std::to_string(c.k1) +
                     ", k2=" + std::to_string(c.k2) + " does not fit a catalogue of " +
                     std::to_string(num_items) + " items (need k2 <= " + std::to_string(num_items) +
                     ")");
  MiningLayout l;
  l.k2 = std::min(c.k2, num_items);
  l.k1 = std::min(c.k1, l.k2);
  l.hard = with_teacher ? std::min(c.num_hard, l.k2 - l.k1) : 0;
  l.aug = with_teacher ? std::min(c.num_aug, l.k1) : 0;
  l.random = c.num_random + (c.num_hard - l.hard);
  return l;
}

void mine_candidates(const float* scores, int64_t rows, int64_t N, const int32_t* target,
                     const MiningLayout& l, float aug_weight, uint64_t key, int64_t row_offset,
                     int32_t* cand, float* label) {
  const int64_t C = l.columns();
#pragma omp parallel
  {
    std::vector<int32_t> order;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      CounterRandom rng{mix64(key ^ static_cast<uint64_t>(row_offset + r))};
      int32_t* c = cand + r * C;
      float* w = label + r * C;
      std::fill(c, c + C, -1);
      std::fill(w, w + C, 0.0f);
      c[0] = target[r];
      w[0] = 1.0f;
      int64_t slot = 1;
      if (scores != nullptr && (l.hard > 0 || l.aug > 0)) {
        const float* s = scores + r * N;
        auto better = [s](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
        order.resize(N);
        for (int64_t i = 0; i < N; ++i) order[i] = static_cast<int32_t>(i);
        if (l.k2 < N) std::nth_element(order.begin(), order.begin() + l.k2, order.end(), better);
        if (l.k1 > 0 && l.k1 < l.k2)
          std::nth_element(order.begin(), order.begin() + l.k1, order.begin() + l.k2, better);
        if (l.aug > 0) {  // the teacher's best items, the target excluded
          const int64_t top = std::min(l.aug + 1, l.k1);
          std::partial_sort(order.begin(), order.begin() + top, order.begin() + l.k1, better);
          int64_t taken = 0;
          for (int64_t j = 0; j < top && taken < l.aug; ++j) {
            if (order[j] + 1 == target[r]) continue;
            c[slot + taken] = order[j] + 1;
            w[slot + taken] = aug_weight;
            ++taken;
          }
        }
        slot += l.aug;
        // `hard` of ranks k1..k2-1 without replacement (partial Fisher-Yates on the window).
        const int64_t window = l.k2 - l.k1;
        for (int64_t j = 0; j < l.hard; ++j) {
          const int64_t pick = j + rng.below(window - j);
          std::swap(order[l.k1 + j], order[l.k1 + pick]);
          const int32_t id = order[l.k1 + j] + 1;
          c[slot + j] = id == target[r] ? -1 : id;
        }
        slot += l.hard;
      }
      for (int64_t j = 0; j < l.random; ++j) {
        const int32_t id = static_cast<int32_t>(rng.below(N)) + 1;
        c[slot + j] = id == target[r] ? -1 : id;
      }
    }
  }
}

}  // namespace sessrec
