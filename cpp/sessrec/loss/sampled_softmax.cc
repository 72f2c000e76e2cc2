#include "sessrec/loss/sampled_softmax.h"

#include "sessrec/loss/candidate_softmax.h"
#include "sessrec/random.h"

namespace sessrec::loss {

SampledSoftmax::SampledSoftmax(int64_t num_negatives, NegativeSampler sampler, uint64_t seed)
    : num_negatives_(num_negatives), sampler_(std::move(sampler)), seed_(seed) {}

void SampledSoftmax::set_item_counts(const std::vector<int64_t>& counts) {
  sampler_.set_item_counts(counts);
}

float SampledSoftmax::forward_backward(const ObjectiveBatch& batch, nn::Parameter& items,
                                       float* dH) {
  const int64_t K = num_negatives_, M = batch.rows, C = K + 1;
  auto rng = derived_rng(seed_, 2, batch.step);
  std::vector<int32_t> negatives(K);
  sampler_.sample(rng, K, negatives.data());
  std::vector<float> negative_log_q(K);
  for (int64_t k = 0; k < K; ++k) negative_log_q[k] = sampler_.log_q(negatives[k], K);
  std::vector<int32_t> cand(M * C);
  nn::FloatBuffer label(M * C, 0.0f), logq(M * C);
  for (int64_t m = 0; m < M; ++m) {
    const int32_t target = batch.target[m];
    cand[m * C] = target;
    label[m * C] = 1.0f;
    logq[m * C] = sampler_.log_q(target, K);
    for (int64_t k = 0; k < K; ++k) {
      cand[m * C + 1 + k] = negatives[k] == target ? -1 : negatives[k];
      logq[m * C + 1 + k] = negative_log_q[k];
    }
  }
  const float loss = candidate_softmax(dH, items.gradient(), batch.H, items.data(), cand.data(),
                                       label.data(), logq.data(), M, C, batch.dim);
  for (int64_t m = 0; m < M; ++m) items.touch_row(batch.target[m]);
  for (int32_t id : negatives) items.touch_row(id);
  return loss;
}

}  // namespace sessrec::loss
