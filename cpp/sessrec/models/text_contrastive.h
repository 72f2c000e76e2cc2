// TextContrastive: a text-only next-item model. One text encoder (models/text_encoder.h) reads
// both the session history's text (the items' tokens, most recent last, text/session_text.h)
// and the next item's text; a pair objective (loss/contrastive_objective.h: InfoNCE or ArcCon,
// in-batch and memory-queue negatives) pulls each session toward its next item. With momentum
// in (0, 1), an EMA copy of the encoder (no gradient) computes the keys that fill the queues, as
// in MoCo; with 0 the online encoder's own vectors (detached) fill them. Items are ranked by
// cosine similarity, so every item with text can be recommended, seen in training or not.
//
// One train_step is one C++ call: token lists, the encoder's forward over the B sessions and B
// next items together, the loss, backward, the optimizer step, the momentum update and the
// enqueue. Two rows of a batch with the same next item are each other's false negatives (as in
// the papers' in-batch sampling).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "sessrec/data/session_store.h"
#include "sessrec/loss/contrastive_objective.h"
#include "sessrec/models/text_encoder.h"
#include "sessrec/nn/optimizer.h"
#include "sessrec/session_scorer.h"
#include "sessrec/text/session_text.h"

namespace sessrec {

struct TextContrastiveConfig {
  TextEncoderConfig encoder;  // set from the encoder; max_tokens bounds session and item lists
  loss::ContrastiveConfig objective;
  float momentum = 0.0f;  // 0: no momentum encoder; (0, 1): EMA coefficient per step
  int32_t cls_id = 0, sep_id = 0;

  void validate() const;
};

class TextContrastiveModel : public SessionScorer {
 public:
  // Trains `encoder` (its weights as they are: fresh, or loaded). config.encoder is taken from
  // it. item_offsets [num_items + 1] / item_ids: each catalogue item's tokens (without [CLS]).
  TextContrastiveModel(std::shared_ptr<TextEncoder> encoder, TextContrastiveConfig config,
                       std::vector<int64_t> item_offsets, std::vector<int32_t> item_ids);

  int64_t num_items() const override { return static_cast<int64_t>(item_offsets_.size()) - 1; }
  // Cosine of each history's vector with every item's vector (evaluation mode).
  void score(const HistoryBatch& batch, float* out) const override;
  int64_t preferred_block_rows() const override { return 64; }

  struct Step {
    float loss = 0;
    int64_t pairs = 0;
    float gradient_norm = 0;
  };
  // Units [begin[r], end[r]) of the store: history begin..end-2, next item end-1 (units of
  // fewer than two events are skipped). One optimizer step.
  Step train_step(const SessionStore& store, const int64_t* begin, const int64_t* end,
                  int64_t count, nn::Adam& optimizer);

  // Vectors [count, dim] (L2-normalised) of histories or items, evaluation mode.
  void encode_sessions(const HistoryBatch& histories, float* out) const;
  void encode_items(const int32_t* indices, int64_t count, float* out) const;

  std::shared_ptr<TextEncoder> encoder() { return encoder_; }
  std::shared_ptr<TextEncoder> momentum_encoder() { return momentum_; }
  loss::ContrastiveObjective& objective() { return objective_; }
  const TextContrastiveConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  // Call after parameter values change from outside (the item vectors are then recomputed).
  void parameters_changed() { items_fresh_ = false; }

 private:
  ItemTokens item_tokens() const;
  void encode_lists(TextEncoder& encoder, const TokenLists& lists, float* out) const;
  void ensure_item_vectors() const;
  TextContrastiveConfig config_;
  std::vector<int64_t> item_offsets_;
  std::vector<int32_t> item_ids_;
  std::shared_ptr<TextEncoder> encoder_, momentum_;
  loss::ContrastiveObjective objective_;
  int64_t steps_ = 0;
  mutable bool items_fresh_ = false;
  mutable nn::FloatBuffer item_vectors_;
  mutable std::mutex mutex_;  // the encoders keep per-call workspaces
};

}  // namespace sessrec
