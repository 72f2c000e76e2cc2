// SampledSoftmax: K negatives per step shared by the whole batch (candidates/negative_sampler.h),
// every logit (the positive's too) corrected by log(K q(item)); a negative equal to a row's
// target is dropped from that row (accidental hit).
#pragma once
#include "sessrec/candidates/negative_sampler.h"
#include "sessrec/loss/objective.h"

namespace sessrec::loss {

class SampledSoftmax : public Objective {
 public:
  SampledSoftmax(int64_t num_negatives, NegativeSampler sampler, uint64_t seed);
  float forward_backward(const ObjectiveBatch& batch, nn::Parameter& items, float* dH) override;
  void set_item_counts(const std::vector<int64_t>& counts) override;
  std::string name() const override { return "sampled"; }

 private:
  int64_t num_negatives_;
  NegativeSampler sampler_;
  uint64_t seed_;
};

}  // namespace sessrec::loss
