#include "sessrec/models/sequence_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/memory_budget.h"
#include "sessrec/loss/mined_softmax.h"
#include "sessrec/nn/tensor.h"

namespace sessrec {

void SequenceModelConfig::validate() const {
  if (num_items <= 0) throw InputError("model: the catalogue is empty");
  if (dim <= 0) throw InputError("model: dim must be positive");
  if (max_len <= 0) throw InputError("model: max_len must be positive");
  if (!(dropout >= 0 && dropout < 1)) throw InputError("model: dropout must be in [0, 1)");
  objective.validate();
  if (!(temperature > 0)) throw InputError("model: temperature must be positive");
  tower.validate(num_items);
}

SequenceModel::SequenceModel(SequenceModelConfig config) : config_(std::move(config)) {
  config_.validate();
  const int64_t N = config_.num_items, D = config_.dim;
  objective_ = loss::make_objective(config_.objective, N, config_.seed);
  if (config_.tower.kind == "id") {
    item_embedding_ = &params_.add("item_embedding", N + 1, D, true);
    return;
  }
  // Not in params_: the optimizer, the gradient norm and checkpoints never see the table.
  require_within_budget(bytes_of({N + 1, D, 4 * 2}),
                        "the item table (" + std::to_string(N + 1) + " x " + std::to_string(D) +
                            " float32, with its gradient)",
                        "use a smaller dim or catalogue");
  table_ = std::make_unique<nn::Parameter>();
  table_->name = "item_table";
  table_->rows = N + 1;
  table_->cols = D;
  table_->row_sparse = true;
  table_->value.assign((N + 1) * D, 0.0f);
  table_->grad.assign((N + 1) * D, 0.0f);
  table_->touched.assign(N + 1, 0);
  item_embedding_ = table_.get();
  tower_ = std::make_unique<ItemTower>(config_.tower, N, D, config_.seed, params_);
}

void SequenceModel::prepare_items(bool training) {
  if (!tower_) return;
  tower_->forward(table_->data(), training, static_cast<uint64_t>(steps_));
  table_is_eval_ = !training;
}

void SequenceModel::ensure_eval_items() {
  if (tower_ && !table_is_eval_) prepare_items(false);
}

const float* SequenceModel::item_table() const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto* self = const_cast<SequenceModel*>(this);
  self->ensure_eval_items();
  return item_embedding_->data();
}

void SequenceModel::set_item_counts(std::vector<int64_t> counts) {
  if (static_cast<int64_t>(counts.size()) != config_.num_items)
    throw InputError("set_item_counts: " + std::to_string(counts.size()) + " counts for " +
                     std::to_string(config_.num_items) + " items");
  objective_->set_item_counts(counts);
}

void SequenceModel::gather_targets(const SequenceBatch& batch, std::vector<int32_t>& target) {
  const int64_t D = config_.dim, BT = batch.B * batch.T;
  std::vector<int64_t>& rows = target_rows_;
  rows.clear();
  for (int64_t i = 0; i < BT; ++i)
    if (batch.target[i] >= 0) rows.push_back(i);
  const int64_t M = static_cast<int64_t>(rows.size());
  nn::FloatBuffer &H = loss_input_, &dH = loss_grad_;
  H.resize(M * D);
  dH.assign(M * D, 0.0f);
  target.resize(M);
  const float* out = output();
  const float scale = 1.0f / config_.temperature;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t d = 0; d < D; ++d) H[m * D + d] = out[rows[m] * D + d] * scale;
    target[m] = batch.target[rows[m]];
  }
}

void SequenceModel::scatter_output_gradient(const SequenceBatch& batch, nn::FloatBuffer& dout) {
  const int64_t D = config_.dim, BT = batch.B * batch.T;
  const std::vector<int64_t>& rows = target_rows_;
  const float scale = 1.0f / config_.temperature;
  dout.assign(BT * D, 0.0f);
  for (size_t m = 0; m < rows.size(); ++m)
    for (int64_t d = 0; d < D; ++d) dout[rows[m] * D + d] = loss_grad_[m * D + d] * scale;
}

SequenceBatch SequenceModel::checked_batch(const SessionStore& store, const int64_t* begin,
                                           const int64_t* end, int64_t count,
                                           bool last_only) const {
  // A lower bound of a step's memory: the batch's outputs, their gradients and the encoder's
  // input and output activations, B x T x dim float32 each (the layers keep more).
  require_within_budget(bytes_of({count, config_.max_len + 1, config_.dim, 4 * 4}),
                        "a training batch of " + std::to_string(count) + " sequences of up to " +
                            std::to_string(config_.max_len + 1) + " positions at dim " +
                            std::to_string(config_.dim),
                        "use a smaller batch_size");
  SequenceBatch batch = batch_for_training(store, begin, end, count, last_only);
  for (int64_t i = 0; i < batch.B * batch.T; ++i)
    if (batch.input[i] > config_.num_items || (batch.target[i] > config_.num_items))
      throw InputError("train: item index outside the model's catalogue of " +
                       std::to_string(config_.num_items) + " items");
  return batch;
}

StepResult SequenceModel::finish_step(const SequenceBatch& batch, nn::FloatBuffer& dout,
                                      StepResult result) {
  backward(batch, dout.data());
  if (tower_) {
    const bool all = static_cast<int64_t>(table_->touched_rows.size()) == table_->rows;
    tower_->backward(table_->grad.data(), all ? nullptr : &table_->touched_rows);
    table_->zero_grad();
    table_is_eval_ = false;
  }
  result.gradient_norm = nn::gradient_norm(params_);
  return result;
}

StepResult SequenceModel::forward_backward(const SessionStore& store, const int64_t* begin,
                                           const int64_t* end, int64_t count, bool last_only) {
  std::lock_guard<std::mutex> lock(mutex_);
  SequenceBatch batch = checked_batch(store, begin, end, count, last_only);
  return step_gradients(batch, *objective_, nullptr);
}

StepResult SequenceModel::train_step(const SessionStore& store, const int64_t* begin,
                                     const int64_t* end, int64_t count, bool last_only,
                                     nn::Adam& optimizer) {
  StepResult result = forward_backward(store, begin, end, count, last_only);
  optimizer.step(params_);
  params_.zero_grad();
  ++steps_;
  return result;
}

StepResult SequenceModel::step_gradients(const SequenceBatch& batch, loss::Objective& objective,
                                         const SequenceModel* teacher) {
  const int64_t D = config_.dim;
  prepare_items(true);
  forward(batch, true, steps_);
  std::vector<int32_t> target;
  gather_targets(batch, target);
  const int64_t M = static_cast<int64_t>(target.size());
  StepResult result;
  result.targets = M;
  loss::ObjectiveBatch in;
  in.H = loss_input_.data();
  in.target = target.data();
  in.rows = M;
  in.dim = D;
  in.step = static_cast<uint64_t>(steps_);
  double teacher_seconds = 0;
  nn::FloatBuffer teacher_out;
  if (teacher != nullptr) {  // the teacher's session vectors at the same target rows
    const auto start = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(teacher->mutex_);
    auto* t = const_cast<SequenceModel*>(teacher);
    t->ensure_eval_items();
    t->forward(batch, false, 0);
    const float* o = t->output();
    teacher_out.resize(M * D);
    for (int64_t m = 0; m < M; ++m)
      std::copy_n(o + target_rows_[m] * D, D, teacher_out.data() + m * D);
    in.teacher_H = teacher_out.data();
    in.teacher_items = teacher->item_embedding_->data();
    teacher_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  result.loss = objective.forward_backward(in, *item_embedding_, loss_grad_.data());
  result.mining_seconds = teacher_seconds + objective.candidate_seconds();
  nn::FloatBuffer& dout = output_grad_;
  scatter_output_gradient(batch, dout);
  return finish_step(batch, dout, result);
}

StepResult SequenceModel::train_step_mined(const SessionStore& store, const int64_t* begin,
                                           const int64_t* end, int64_t count, bool last_only,
                                           nn::Adam& optimizer, const MiningConfig& mining,
                                           const SequenceModel* teacher) {
  if (teacher == this) throw InputError("train_step_mined: a model cannot be its own teacher");
  if (teacher != nullptr && teacher->num_items() != num_items())
    throw InputError("train_step_mined: the teacher has " + std::to_string(teacher->num_items()) +
                     " items; this model has " + std::to_string(num_items()));
  if (teacher != nullptr && teacher->config().dim != config_.dim)
    throw InputError("train_step_mined: the teacher's dim differs from this model's");
  if (teacher != nullptr && teacher->config().max_len < config_.max_len)
    throw InputError("train_step_mined: the teacher's max_len is shorter than this model's");
  loss::MinedSoftmax objective(mining, config_.num_items, config_.seed);
  StepResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    SequenceBatch batch = checked_batch(store, begin, end, count, last_only);
    result = step_gradients(batch, objective, teacher);
  }
  optimizer.step(params_);
  params_.zero_grad();
  ++steps_;
  return result;
}

void SequenceModel::encode(const HistoryBatch& histories, float* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto* self = const_cast<SequenceModel*>(this);
  self->ensure_eval_items();
  const int64_t D = config_.dim, sub = 256;
  for (int64_t first = 0; first < histories.size; first += sub) {
    const int64_t count = std::min(sub, histories.size - first);
    for (int64_t r = 0; r < count; ++r)
      if (histories.length(first + r) == 0)
        throw InputError("score: history " + std::to_string(first + r) + " is empty");
    SequenceBatch batch = batch_for_scoring(histories, first, count, config_.max_len);
    self->forward(batch, false, 0);
    const float* o = output();
    for (int64_t r = 0; r < count; ++r)
      std::copy_n(o + (r * batch.T + batch.last[r]) * D, D, out + (first + r) * D);
  }
}

void SequenceModel::score(const HistoryBatch& histories, float* out) const {
  const int64_t D = config_.dim, N = config_.num_items;
  nn::FloatBuffer H(histories.size * D);
  encode(histories, H.data());
  // Item i is table row i + 1 (row 0 is padding).
  nn::parallel_product(
      nn::MapMat<float>(out, histories.size, N),
      nn::MapConstMat<float>(H.data(), histories.size, D) * (1.0f / config_.temperature),
      nn::MapConstMat<float>(item_embedding_->data() + D, N, D).transpose());
}

void SequenceModel::score_part(const HistoryBatch& histories, float* out, int which) const {
  if (!has_parts())
    throw InputError("score_part: only models with a sum or concat item tower have parts");
  const int64_t D = config_.dim, N = config_.num_items;
  nn::FloatBuffer H(histories.size * D);
  encode(histories, H.data());  // also leaves the tower's evaluation-mode parts
  nn::parallel_product(
      nn::MapMat<float>(out, histories.size, N),
      nn::MapConstMat<float>(H.data(), histories.size, D) * (1.0f / config_.temperature),
      nn::MapConstMat<float>(tower_->part(which), N, D).transpose());
}

}  // namespace sessrec
