#include "sessrec/loss/full_softmax.h"

#include "sessrec/loss/softmax_cross_entropy.h"

namespace sessrec::loss {

float FullSoftmax::forward_backward(const ObjectiveBatch& batch, nn::Parameter& items, float* dH) {
  const float loss = softmax_cross_entropy(dH, items.gradient(), batch.H, items.data(),
                                           batch.target, static_cast<const float*>(nullptr),
                                           batch.rows, items.rows, batch.dim, 1);
  items.touch_all();
  return loss;
}

}  // namespace sessrec::loss
