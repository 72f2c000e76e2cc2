#include "sessrec/candidates/negative_sampler.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"

namespace sessrec {

NegativeSampler::NegativeSampler(std::string kind, int64_t num_items)
    : kind_(std::move(kind)), num_items_(num_items) {
  if (kind_ != "uniform" && kind_ != "popularity")
    throw InputError("model: sampler must be 'uniform' or 'popularity', got '" + kind_ + "'");
  if (num_items_ <= 0) throw InputError("sampler: the catalogue is empty");
}

void NegativeSampler::set_item_counts(const std::vector<int64_t>& counts) {
  if (static_cast<int64_t>(counts.size()) != num_items_)
    throw InputError("set_item_counts: " + std::to_string(counts.size()) + " counts for " +
                     std::to_string(num_items_) + " items");
  counts_ = counts;
  cdf_.assign(counts_.size(), 0.0);
  double total = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    total += std::pow(double(counts_[i]) + 1.0, 0.75);
    cdf_[i] = total;
  }
}

void NegativeSampler::sample(std::mt19937_64& rng, int64_t K, int32_t* out) const {
  const int64_t N = num_items_;
  const bool by_popularity = popular();
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t k = 0; k < K; ++k) {
    int64_t item;
    if (by_popularity) {
      const double x = u(rng) * cdf_.back();
      item = std::upper_bound(cdf_.begin(), cdf_.end(), x) - cdf_.begin();
      item = std::min(item, N - 1);
    } else {
      item = static_cast<int64_t>(u(rng) * N) % N;
    }
    out[k] = static_cast<int32_t>(item + 1);
  }
}

float NegativeSampler::log_q(int32_t id, int64_t K) const {
  const double q = popular() ? std::pow(double(counts_[id - 1]) + 1.0, 0.75) / cdf_.back()
                             : 1.0 / double(num_items_);
  return static_cast<float>(std::log(double(K) * q));
}

}  // namespace sessrec
