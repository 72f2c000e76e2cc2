#include "sessrec/loss/contrastive_objective.h"

#include <cmath>
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
  if (!decoupled.empty()) {
    if (decoupled.size() != 4)
      throw InputError("contrastive objective: decoupled needs 4 weights (lambda1..lambda4), got " +
                       std::to_string(decoupled.size()));
    float sum = 0;
    for (float w : decoupled) {
      if (!(w >= 0) || !std::isfinite(w))
        throw InputError("contrastive objective: decoupled weights must be finite and >= 0");
      sum += w;
    }
    if (!(sum > 0)) throw InputError("contrastive objective: decoupled weights sum to 0");
    if (symmetric || same_space)
      throw InputError(
          "contrastive objective: decoupled already holds both directions and both spaces; "
          "leave symmetric and same_space false");
  }
}

ContrastiveObjective::ContrastiveObjective(const ContrastiveConfig& config, int64_t dim)
    : config_(config), dim_(dim) {
  config_.validate();
  if (dim <= 0) throw InputError("contrastive objective: dim must be > 0");
  if (config_.queue_capacity == 0) return;
  // The direction a -> p reads the queue of its negatives' space; p -> a (symmetric) the other.
  bool anchors = config_.same_space || config_.symmetric;
  bool positives = !config_.same_space || config_.symmetric;
  if (config_.is_decoupled()) {  // L(p, a) and L(a, p; same) read the anchors' space
    const std::vector<float>& l = config_.decoupled;
    anchors = l[1] > 0 || l[2] > 0;
    positives = l[0] > 0 || l[3] > 0;
  }
  if (anchors) anchor_queue_.emplace(config_.queue_capacity, dim);
  if (positives) positive_queue_.emplace(config_.queue_capacity, dim);
}

float ContrastiveObjective::forward_backward(const float* a, const float* p, int64_t B, int64_t D,
                                             const float* weights, float* da, float* dp) {
  if (D != dim_)
    throw InputError("contrastive objective: rows have dim " + std::to_string(D) +
                     ", the objective was made for " + std::to_string(dim_));
  if (config_.is_decoupled()) return decoupled_forward_backward(a, p, B, D, weights, da, dp);
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

// Eq. 6 as four single-direction terms. A term whose anchors are the positives (L(p, a)) swaps
// the roles: x = p, y = a, and each space's queue moves with its vectors.
float ContrastiveObjective::decoupled_forward_backward(const float* a, const float* p, int64_t B,
                                                       int64_t D, const float* weights, float* da,
                                                       float* dp) {
  const std::vector<float>& lambda = config_.decoupled;
  const bool arccon = config_.kind == "arccon";
  const float scale = arccon ? config_.scale : 1.0f / config_.temperature;
  const float margin = arccon ? config_.margin : 0.0f;
  const float* a_queue = anchor_queue_ ? anchor_queue_->values() : nullptr;
  const int64_t a_rows = anchor_queue_ ? anchor_queue_->size() : 0;
  const float* p_queue = positive_queue_ ? positive_queue_->values() : nullptr;
  const int64_t p_rows = positive_queue_ ? positive_queue_->size() : 0;
  example_losses_.assign(B, 0.0f);
  term_losses_.resize(B);
  float loss = 0;
  for (int term = 0; term < 4; ++term) {
    if (lambda[term] == 0.0f) continue;
    const bool swapped = term == 1 || term == 3, same = term >= 2;
    QueueNegatives<float> queues;
    queues.anchor_space = swapped ? p_queue : a_queue;
    queues.anchor_rows = swapped ? p_rows : a_rows;
    queues.positive_space = swapped ? a_queue : p_queue;
    queues.positive_rows = swapped ? a_rows : p_rows;
    float* dx = nullptr;
    float* dy = nullptr;
    if (da != nullptr) {
      term_da_.assign(B * D, 0.0f);
      (swapped ? dy : dx) = term_da_.data();
    }
    if (dp != nullptr) {
      term_dp_.assign(B * D, 0.0f);
      (swapped ? dx : dy) = term_dp_.data();
    }
    const float term_loss =
        pair_contrastive(term_losses_.data(), dx, dy, swapped ? p : a, swapped ? a : p, weights,
                         B, D, queues, scale, margin, ContrastiveVariant{false, same});
    loss += lambda[term] * term_loss;
    for (int64_t b = 0; b < B; ++b) example_losses_[b] += lambda[term] * term_losses_[b];
    if (da != nullptr)
      for (int64_t i = 0; i < B * D; ++i) da[i] += lambda[term] * term_da_[i];
    if (dp != nullptr)
      for (int64_t i = 0; i < B * D; ++i) dp[i] += lambda[term] * term_dp_[i];
  }
  return loss;
}

void ContrastiveObjective::set_margin(float margin) {
  if (!(margin >= 0 && margin < kPi))
    throw InputError("contrastive objective: margin must be in [0, pi) radians, got " +
                     std::to_string(margin));
  config_.margin = margin;
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
