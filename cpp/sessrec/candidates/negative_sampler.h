// Negatives for sampled softmax, drawn with replacement from the catalogue: uniformly, or in
// proportion to (count + 1)^0.75 (word2vec's smoothed unigram distribution). log_q gives the
// logQ correction log(K q(item)) that makes the sampled logits unbiased for the full softmax.
// Without counts, "popularity" samples uniformly (the counts arrive from the training data).
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sessrec {

class NegativeSampler {
 public:
  // kind: "uniform" | "popularity" (InputError otherwise).
  NegativeSampler(std::string kind, int64_t num_items);

  // Interaction counts in item-index order (length num_items).
  void set_item_counts(const std::vector<int64_t>& counts);
  // K item ids (index + 1) into out, from rng.
  void sample(std::mt19937_64& rng, int64_t K, int32_t* out) const;
  // log(K q(id)) for an item id (index + 1).
  float log_q(int32_t id, int64_t K) const;

  const std::string& kind() const { return kind_; }

 private:
  bool popular() const { return kind_ == "popularity" && !cdf_.empty(); }
  std::string kind_;
  int64_t num_items_;
  std::vector<int64_t> counts_;
  std::vector<double> cdf_;  // cumulative (count + 1)^0.75
};

}  // namespace sessrec
