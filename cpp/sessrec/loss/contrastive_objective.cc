#include "sessrec/loss/contrastive_objective.h"

#include <string>

#include "sessrec/errors.h"
#include "sessrec/loss/contrastive.h"

namespace sessrec::loss {

void ContrastiveConfig::validate() const {
  if (kind != "infonce" && kind != "arccon")
    throw InputError("contrastive objective: kind must be 'infonce' or 'arccon', got '" + kind +
                     "'");
  if (kind == "infonce" && !(temperature > 0))
    throw InputError("contrastive objective: temperature must be > 0");
  if (kind == "arccon" && !(scale > 0))
    throw InputError("contrastive objective: scale must be > 0");
  if (kind == "arccon" && !(margin >= 0 && margin < kPi))
    throw InputError("contrastive objective: margin must be in [0, pi) radians");
  if (queue_capacity < 0) throw InputError("contrastive objective: queue_capacity must be >= 0");
}

ContrastiveObjective::ContrastiveObjective(const ContrastiveConfig& config, int64_t dim)
    : config_(config), dim_(dim) {
  config_.validate();
  if (dim <= 0) throw InputError("contrastive objective: dim must be > 0");
  if (config_.queue_capacity == 0) return;
  // The direction a -> p reads the queue of its negatives' space; p -> a (symmetric) the other.
  const bool anchors = config_.same_space || config_.symmetric;
  const bool positives = !config_.same_space || config_.symmetric;
  if (anchors) anchor_queue_.emplace(config_.queue_capacity, dim);
  if (positives) positive_queue_.emplace(config_.queue_capacity, dim);
}

float ContrastiveObjective::forward_backward(const float* a, const float* p, int64_t B, int64_t D,
                                             const float* weights, float* da, float* dp) {
  if (D != dim_)
    throw InputError("contrastive objective: rows have dim " + std::to_string(D) +
                     ", the objective was made for " + std::to_string(dim_));
  QueueNegatives<float> queues;
  if (anchor_queue_) queues.anchor_space = anchor_queue_->values();
  if (anchor_queue_) queues.anchor_rows = anchor_queue_->size();
  if (positive_queue_) queues.positive_space = positive_queue_->values();
  if (positive_queue_) queues.positive_rows = positive_queue_->size();
  const ContrastiveVariant variant{config_.symmetric, config_.same_space};
  const bool arccon = config_.kind == "arccon";
  example_losses_.assign(B, 0.0f);
  return pair_contrastive(example_losses_.data(), da, dp, a, p, weights, B, D, queues,
                          arccon ? config_.scale : 1.0f / config_.temperature,
                          arccon ? config_.margin : 0.0f, variant);
}

void ContrastiveObjective::enqueue(const float* anchor_keys, const float* positive_keys, int64_t B,
                                   int64_t D) {
  auto push = [&](std::optional<MemoryQueue>& queue, const float* keys, const char* space) {
    if (!queue) return;
    if (keys == nullptr)
      throw InputError(std::string("contrastive objective: this variant keeps a queue of ") +
                       space + " keys; enqueue needs them");
    queue->enqueue(keys, B, D);
  };
  push(anchor_queue_, anchor_keys, "anchor");
  push(positive_queue_, positive_keys, "positive");
}

std::unique_ptr<PairObjective> make_pair_objective(const ContrastiveConfig& config, int64_t dim) {
  return std::make_unique<ContrastiveObjective>(config, dim);
}

}  // namespace sessrec::loss
