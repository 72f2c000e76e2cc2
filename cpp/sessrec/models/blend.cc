#include "sessrec/models/blend.h"

#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/tensor.h"

namespace sessrec {

BlendScorer::BlendScorer(std::shared_ptr<const SessionScorer> a,
                         std::shared_ptr<const SessionScorer> b, float alpha)
    : a_(std::move(a)), b_(std::move(b)), alpha_(alpha) {
  if (!a_ || !b_) throw InputError("BlendScorer: both scorers are required");
  if (a_->num_items() != b_->num_items())
    throw InputError("BlendScorer: the scorers cover " + std::to_string(a_->num_items()) + " and " +
                     std::to_string(b_->num_items()) + " items");
  if (!(alpha >= 0 && alpha <= 1)) throw InputError("BlendScorer: alpha must be in [0, 1]");
}

void BlendScorer::score(const HistoryBatch& batch, float* out) const {
  const int64_t n = batch.size * num_items();
  nn::FloatBuffer other(n);
  a_->score(batch, out);
  b_->score(batch, other.data());
  const float a = alpha_, b = 1.0f - alpha_;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a * out[i] + b * other[i];
}

PartScorer::PartScorer(std::shared_ptr<const SequenceModel> model, int which)
    : model_(std::move(model)), which_(which) {
  if (!model_ || !model_->has_parts())
    throw InputError("PartScorer: the model has no sum or concat item tower");
  if (which != 0 && which != 1) throw InputError("PartScorer: part must be 0 (ID) or 1 (text)");
}

}  // namespace sessrec
