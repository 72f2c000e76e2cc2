// FullSoftmax: cross-entropy over the whole catalogue (chunked, loss/softmax_cross_entropy.h).
// Every row of the item table receives gradient.
#pragma once
#include "sessrec/loss/objective.h"

namespace sessrec::loss {

class FullSoftmax : public Objective {
 public:
  float forward_backward(const ObjectiveBatch& batch, nn::Parameter& items, float* dH) override;
  std::string name() const override { return "ce"; }
};

}  // namespace sessrec::loss
