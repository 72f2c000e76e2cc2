// SequenceModel: the shared machinery of neural session encoders (GRU4Rec, SASRec, mean
// pooling). A subclass turns a padded batch into one output vector per position (forward) and
// back-propagates gradients of those outputs (backward). The base class owns the tied item
// embedding table (or the item tower that fills it), the training objective (a loss::Objective:
// full softmax, sampled softmax, or a mined-candidate softmax for one step), the optimizer step
// and blocked full-catalogue scoring.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sessrec/candidates/hard_negatives.h"
#include "sessrec/data/session_store.h"
#include "sessrec/loss/objective.h"
#include "sessrec/models/item_tower.h"
#include "sessrec/models/sequence_batch.h"
#include "sessrec/nn/optimizer.h"
#include "sessrec/nn/parameter.h"
#include "sessrec/session_scorer.h"

namespace sessrec {

struct SequenceModelConfig {
  int64_t num_items = 0;
  int64_t dim = 64;
  int64_t max_len = 50;
  float dropout = 0.2f;
  uint64_t seed = 0;
  loss::ObjectiveConfig objective;  // the training loss (ce | sampled)
  float temperature = 1.0f;         // logits are <session, item> / temperature
  ItemTowerConfig tower;            // kind "id": a free embedding per item (no tower)

  void validate() const;
};

// What one forward/backward pass produced, for tests and the training loop.
struct StepResult {
  float loss = 0;
  int64_t targets = 0;
  float gradient_norm = 0;
  double mining_seconds = 0;  // train_step_mined: teacher forward, scoring and rank selection
};

class SequenceModel : public SessionScorer {
 public:
  explicit SequenceModel(SequenceModelConfig config);
  ~SequenceModel() override = default;

  int64_t num_items() const override { return config_.num_items; }
  // Scores of every item for each history: the last position's output dotted with the item
  // embeddings, in sub-batches (evaluation mode, no dropout).
  void score(const HistoryBatch& batch, float* out) const override;
  int64_t preferred_block_rows() const override { return 64; }
  // Scores against one part of a sum/concat item tower: 0 = ID, 1 = text ("ID in NFRec").
  void score_part(const HistoryBatch& batch, float* out, int which) const;
  bool has_parts() const { return tower_ != nullptr && tower_->has_parts(); }
  // Session vectors [count, dim] (the output at each history's last position).
  void encode(const HistoryBatch& batch, float* out) const;

  // Forward, loss and backward on the units; gradients are left in the parameters.
  StepResult forward_backward(const SessionStore& store, const int64_t* begin, const int64_t* end,
                              int64_t count, bool last_only);
  // forward_backward, then one optimizer step and zeroed gradients.
  StepResult train_step(const SessionStore& store, const int64_t* begin, const int64_t* end,
                        int64_t count, bool last_only, nn::Adam& optimizer);

  // forward, a softmax over mined candidates (see MiningConfig; teacher may be null), backward,
  // one optimizer step. The teacher must share the catalogue and is used in evaluation mode.
  StepResult train_step_mined(const SessionStore& store, const int64_t* begin, const int64_t* end,
                              int64_t count, bool last_only, nn::Adam& optimizer,
                              const MiningConfig& mining, const SequenceModel* teacher);
  // The item table [num_items + 1, dim] in evaluation mode (a tower's output, or the embedding).
  const float* item_table() const;
  // Call after parameter values change from outside (a tower's table is then recomputed).
  void parameters_changed() { table_is_eval_ = false; }

  // Item popularity for the popularity sampler (index order, length num_items).
  void set_item_counts(std::vector<int64_t> counts);
  const loss::Objective& objective() const { return *objective_; }

  nn::ParameterSet& params() { return params_; }
  const nn::ParameterSet& params() const { return params_; }
  const SequenceModelConfig& config() const { return config_; }
  nn::Parameter& item_embedding() { return *item_embedding_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 protected:
  // out: [B*T, dim] outputs; `step` seeds the dropout masks.
  virtual void forward(const SequenceBatch& batch, bool training, uint64_t step) = 0;
  virtual void backward(const SequenceBatch& batch, const float* dout) = 0;
  virtual const float* output() const = 0;

  nn::ParameterSet params_;
  // The item table the encoders read and score against: a parameter of params_ without a tower,
  // else table_, which the tower fills before every pass.
  nn::Parameter* item_embedding_ = nullptr;
  SequenceModelConfig config_;

 private:
  // forward, the objective's loss and backward on one batch (mutex_ held); gradients are left in
  // the parameters. With a teacher, its session vectors at the target rows reach the objective.
  StepResult step_gradients(const SequenceBatch& batch, loss::Objective& objective,
                            const SequenceModel* teacher);
  // Rows of the batch with a target, and the scaled session vectors H / temperature there.
  void gather_targets(const SequenceBatch& batch, std::vector<int32_t>& target);
  // dout from the loss gradient at the target rows (undoing the temperature scale).
  void scatter_output_gradient(const SequenceBatch& batch, nn::FloatBuffer& dout);
  StepResult finish_step(const SequenceBatch& batch, nn::FloatBuffer& dout, StepResult result);
  SequenceBatch checked_batch(const SessionStore& store, const int64_t* begin, const int64_t* end,
                              int64_t count, bool last_only) const;
  // Fill table_ from the tower (no-op without one).
  void prepare_items(bool training);
  // The evaluation-mode table, recomputed only after training or a parameter change.
  void ensure_eval_items();
  std::unique_ptr<ItemTower> tower_;
  std::unique_ptr<nn::Parameter> table_;
  bool table_is_eval_ = false;
  std::unique_ptr<loss::Objective> objective_;
  // Loss workspaces, kept across steps.
  std::vector<int64_t> target_rows_;
  nn::FloatBuffer loss_input_, loss_grad_, output_grad_;
  int64_t steps_ = 0;
  mutable std::mutex mutex_;  // forward() reuses per-batch workspaces
};

}  // namespace sessrec
