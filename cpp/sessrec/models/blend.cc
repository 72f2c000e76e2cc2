#include "sessrec/models/blend.h"

#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/tensor.h"

namespace sessrec {

BlendScorer::BlendScorer(std::shared_ptr<const SessionScorer> a,
                         std::shared_ptr<const SessionScorer> b, float alpha,
                         std::vector<uint8_t> b_only)
    : a_(std::move(a)), b_(std::move(b)), alpha_(alpha), b_only_(std::move(b_only)) {
  if (!a_ || !b_) throw InputError("BlendScorer: both scorers are required");
  if (a_->num_items() != b_->num_items())
    throw InputError("BlendScorer: the scorers cover " + std::to_string(a_->num_items()) + " and " +
                     std::to_string(b_->num_items()) + " items");
  if (!(alpha >= 0 && alpha <= 1)) throw InputError("BlendScorer: alpha must be in [0, 1]");
  if (!b_only_.empty() && static_cast<int64_t>(b_only_.size()) != a_->num_items())
    throw InputError("BlendScorer: b_only has " + std::to_string(b_only_.size()) +
                     " flags for " + std::to_string(a_->num_items()) + " items");
}

void BlendScorer::score(const HistoryBatch& batch, float* out) const {
  const int64_t n = batch.size * num_items();
  nn::FloatBuffer other(n);
  a_->score(batch, out);
  b_->score(batch, other.data());
  const float a = alpha_, b = 1.0f - alpha_;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a * out[i] + b * other[i];
  if (b_only_.empty()) return;
  const int64_t N = num_items();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < batch.size; ++r)
    for (int64_t i = 0; i < N; ++i)
      if (b_only_[i]) out[r * N + i] = other[r * N + i];
}

PartScorer::PartScorer(std::shared_ptr<const SequenceModel> model, int which)
    : model_(std::move(model)), which_(which) {
  if (!model_ || !model_->has_parts())
    throw InputError("PartScorer: the model has no sum or concat item tower");
  if (which != 0 && which != 1) throw InputError("PartScorer: part must be 0 (ID) or 1 (text)");
}

}  // namespace sessrec
