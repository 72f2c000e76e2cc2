// PairObjective: a training loss over pairs of views (anchors a [B, D], positives p [B, D], row
// b matching row b) as an object that owns its state. The next-item Objective (objective.h)
// scores sessions against an item table; a pair objective instead aligns two encoders' outputs
// (session text and next-item text; two augmented views), so it has its own small interface.
//
// ContrastiveObjective implements it with the ops of loss/contrastive.h (InfoNCE or ArcCon,
// symmetric and same-space variants) and owns the memory queues whose rows are its extra
// negatives. A training step calls forward_backward, then enqueue with the momentum encoder's
// keys of the same batch, so the keys serve from the next step on.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sessrec/loss/memory_queue.h"

namespace sessrec::loss {

class PairObjective {
 public:
  virtual ~PairObjective() = default;
  // The batch's loss, sum_b w_b l_b / sum_b w_b (weights [B] or nullptr for all 1).
  // Accumulates da, dp [B, D] (each may be nullptr, e.g. for a momentum encoder's side).
  virtual float forward_backward(const float* a, const float* p, int64_t B, int64_t D,
                                 const float* weights, float* da, float* dp) = 0;
  // l_b of the last forward_backward, [B] (MACL-style weights are computed from them).
  const std::vector<float>& example_losses() const { return example_losses_; }
  // Stores the momentum encoder's keys of this step for the next steps: anchor_keys and
  // positive_keys [B, D] in the anchors' and the positives' space. Only the spaces whose queue
  // the objective keeps are read (the others may be nullptr); no queue: nothing happens.
  virtual void enqueue(const float* anchor_keys, const float* positive_keys, int64_t B,
                       int64_t D) = 0;
  virtual std::string name() const = 0;

 protected:
  std::vector<float> example_losses_;
};

struct ContrastiveConfig {
  std::string kind = "infonce";  // infonce | arccon
  // infonce: logits cos / temperature. The KDD Cup 2023 paper gives no value for s or m; these
  // defaults are ours (tau = 0.05 matches s = 20; m = 10 degrees).
  float temperature = 0.05f;
  float scale = 20.0f;         // arccon: s
  float margin = 0.17453f;     // arccon: m in radians, [0, pi)
  bool symmetric = false;      // mean of a -> p and p -> a
  bool same_space = false;     // negatives from the anchors' own space
  int64_t queue_capacity = 0;  // rows per queue; 0: in-batch negatives only
  // The KDD Cup 2023 paper's decoupled loss (Eq. 6, loss/contrastive.h): four weights
  // lambda1..lambda4 of L(a, p), L(p, a), L(a, p; same space), L(p, a; same space), each term
  // with its own negatives' queue (two queues in all: the anchors' and the positives' space).
  // Empty: one term, as symmetric / same_space say (they must stay false when this is set).
  std::vector<float> decoupled;

  bool is_decoupled() const { return !decoupled.empty(); }
  void validate() const;
};

class ContrastiveObjective : public PairObjective {
 public:
  // dim: the vectors' width (the queues' row length).
  ContrastiveObjective(const ContrastiveConfig& config, int64_t dim);

  float forward_backward(const float* a, const float* p, int64_t B, int64_t D, const float* weights,
                         float* da, float* dp) override;
  void enqueue(const float* anchor_keys, const float* positive_keys, int64_t B, int64_t D) override;
  std::string name() const override { return config_.kind; }

  const ContrastiveConfig& config() const { return config_; }
  // The ArcCon margin used from the next forward_backward on (a schedule's current value);
  // [0, pi) radians.
  void set_margin(float margin);
  int64_t dim() const { return dim_; }
  // The queues of negatives in the anchors' / the positives' space; nullptr when the variant
  // never reads that space's queue or queue_capacity is 0. a -> p reads the positives' queue
  // (the anchors' when same_space); symmetric also p -> a, which reads the other one.
  MemoryQueue* anchor_queue() { return anchor_queue_ ? &*anchor_queue_ : nullptr; }
  MemoryQueue* positive_queue() { return positive_queue_ ? &*positive_queue_ : nullptr; }

 private:
  float decoupled_forward_backward(const float* a, const float* p, int64_t B, int64_t D,
                                   const float* weights, float* da, float* dp);
  ContrastiveConfig config_;
  int64_t dim_;
  std::optional<MemoryQueue> anchor_queue_, positive_queue_;
  std::vector<float> term_da_, term_dp_, term_losses_;  // decoupled: one term's gradients
};

// The one place that maps a configuration to a pair objective.
std::unique_ptr<PairObjective> make_pair_objective(const ContrastiveConfig& config, int64_t dim);

}  // namespace sessrec::loss
