// MinedSoftmax: a softmax over per-row candidate lists [target, augmented positives, hard
// negatives, random negatives] chosen by candidates/hard_negatives.h from a teacher's ranking
// (AlterRec). Without a teacher every negative is random. The loss over the lists is
// loss/candidate_softmax.h, through the dense logit matrix when that is cheaper.
#pragma once
#include "sessrec/candidates/hard_negatives.h"
#include "sessrec/loss/objective.h"

namespace sessrec::loss {

class MinedSoftmax : public Objective {
 public:
  MinedSoftmax(MiningConfig mining, int64_t num_items, uint64_t seed);
  float forward_backward(const ObjectiveBatch& batch, nn::Parameter& items, float* dH) override;
  std::string name() const override { return "mined"; }
  const MiningConfig& mining() const { return mining_; }

 private:
  MiningConfig mining_;
  int64_t num_items_;
  uint64_t seed_;
};

}  // namespace sessrec::loss
