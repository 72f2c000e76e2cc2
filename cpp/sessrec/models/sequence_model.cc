#include "sessrec/models/sequence_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/loss/candidate_softmax.h"
#include "sessrec/loss/softmax_cross_entropy.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/tensor.h"

namespace sessrec {

void SequenceModelConfig::validate() const {
  if (num_items <= 0) throw InputError("model: the catalogue is empty");
  if (dim <= 0) throw InputError("model: dim must be positive");
  if (max_len <= 0) throw InputError("model: max_len must be positive");
  if (!(dropout >= 0 && dropout < 1)) throw InputError("model: dropout must be in [0, 1)");
  if (loss != "ce" && loss != "sampled")
    throw InputError("model: loss must be 'ce' or 'sampled', got '" + loss + "'");
  if (loss == "sampled" && num_negatives <= 0)
    throw InputError("model: sampled loss needs num_negatives > 0");
  if (sampler != "uniform" && sampler != "popularity")
    throw InputError("model: sampler must be 'uniform' or 'popularity', got '" + sampler + "'");
  if (!(temperature > 0)) throw InputError("model: temperature must be positive");
  tower.validate(num_items);
}

SequenceModel::SequenceModel(SequenceModelConfig config) : config_(std::move(config)) {
  config_.validate();
  const int64_t N = config_.num_items, D = config_.dim;
  if (config_.tower.kind == "id") {
    item_embedding_ = &params_.add("item_embedding", N + 1, D, true);
    return;
  }
  // Not in params_: the optimizer, the gradient norm and checkpoints never see the table.
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
  item_counts_ = std::move(counts);
  popularity_cdf_.assign(item_counts_.size(), 0.0);
  double total = 0;
  for (size_t i = 0; i < item_counts_.size(); ++i) {
    total += std::pow(double(item_counts_[i]) + 1.0, 0.75);
    popularity_cdf_[i] = total;
  }
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

float SequenceModel::loss_and_output_gradient(const SequenceBatch& batch, nn::FloatBuffer& dout,
                                              int64_t& targets) {
  const int64_t D = config_.dim;
  std::vector<int32_t> target;
  gather_targets(batch, target);
  const int64_t M = static_cast<int64_t>(target.size());
  targets = M;
  nn::FloatBuffer &H = loss_input_, &dH = loss_grad_;
  float loss = 0;
  nn::Parameter& E = *item_embedding_;
  if (config_.loss == "ce") {
    loss = loss::softmax_cross_entropy(dH.data(), E.gradient(), H.data(), E.data(), target.data(),
                                       static_cast<const float*>(nullptr), M, E.rows, D, 1);
    E.touch_all();
  } else {
    // Negatives shared by the batch; logQ corrects every logit (positives too) for the sampler.
    const int64_t K = config_.num_negatives, N = config_.num_items;
    const bool popular = config_.sampler == "popularity" && !popularity_cdf_.empty();
    auto rng = nn::derived_rng(config_.seed, 2, steps_);
    std::vector<int32_t> negatives(K);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int64_t k = 0; k < K; ++k) {
      int64_t item;
      if (popular) {
        const double x = u(rng) * popularity_cdf_.back();
        item = std::upper_bound(popularity_cdf_.begin(), popularity_cdf_.end(), x) -
               popularity_cdf_.begin();
        item = std::min(item, N - 1);
      } else {
        item = static_cast<int64_t>(u(rng) * N) % N;
      }
      negatives[k] = static_cast<int32_t>(item + 1);
    }
    auto log_q = [&](int32_t id) {
      const double q =
          popular ? (std::pow(double(item_counts_[id - 1]) + 1.0, 0.75) / popularity_cdf_.back())
                  : 1.0 / double(N);
      return static_cast<float>(std::log(double(K) * q));
    };
    const int64_t C = K + 1;
    std::vector<int32_t> cand(M * C);
    nn::FloatBuffer label(M * C, 0.0f), logq(M * C);
    for (int64_t m = 0; m < M; ++m) {
      cand[m * C] = target[m];
      label[m * C] = 1.0f;
      logq[m * C] = log_q(target[m]);
      for (int64_t k = 0; k < K; ++k) {
        const bool hit = negatives[k] == target[m];  // accidental hit: drop it
        cand[m * C + 1 + k] = hit ? -1 : negatives[k];
        logq[m * C + 1 + k] = log_q(negatives[k]);
      }
    }
    loss = loss::candidate_softmax(dH.data(), E.gradient(), H.data(), E.data(), cand.data(),
                                   label.data(), logq.data(), M, C, D);
    for (int32_t id : target) E.touch_row(id);
    for (int32_t id : negatives) E.touch_row(id);
  }
  scatter_output_gradient(batch, dout);
  return loss;
}

SequenceBatch SequenceModel::checked_batch(const SessionStore& store, const int64_t* begin,
                                           const int64_t* end, int64_t count,
                                           bool last_only) const {
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
  prepare_items(true);
  forward(batch, true, steps_);
  nn::FloatBuffer& dout = output_grad_;
  StepResult result;
  result.loss = loss_and_output_gradient(batch, dout, result.targets);
  return finish_step(batch, dout, result);
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

float SequenceModel::mined_loss(const SequenceBatch& batch, nn::FloatBuffer& dout, int64_t& targets,
                                const MiningConfig& mining, const SequenceModel* teacher,
                                double& seconds) {
  const int64_t D = config_.dim, N = config_.num_items;
  std::vector<int32_t> target;
  gather_targets(batch, target);
  const int64_t M = static_cast<int64_t>(target.size());
  targets = M;
  const MiningLayout layout = mining_layout(mining, N, teacher != nullptr);
  const int64_t C = layout.columns();
  std::vector<int32_t> cand(M * C, -1);
  nn::FloatBuffer label(M * C, 0.0f);
  const uint64_t key = nn::mix64(nn::mix64(config_.seed ^ 0xA17E5ULL) ^ nn::mix64(steps_));

  const auto start = std::chrono::steady_clock::now();
  nn::FloatBuffer teacher_out;
  if (teacher != nullptr) {  // the teacher's session vectors at the same target positions
    std::lock_guard<std::mutex> lock(teacher->mutex_);
    auto* t = const_cast<SequenceModel*>(teacher);
    t->ensure_eval_items();
    t->forward(batch, false, 0);
    const float* o = t->output();
    teacher_out.resize(M * D);
    for (int64_t m = 0; m < M; ++m)
      std::copy_n(o + target_rows_[m] * D, D, teacher_out.data() + m * D);
  }
  const int64_t chunk = 256;  // teacher score rows in flight: chunk x N floats
  nn::FloatBuffer scores;
  for (int64_t first = 0; first < M; first += chunk) {
    const int64_t rows = std::min(chunk, M - first);
    if (teacher != nullptr) {
      scores.resize(rows * N);
      nn::parallel_product(
          nn::MapMat<float>(scores.data(), rows, N),
          nn::MapConstMat<float>(teacher_out.data() + first * D, rows, D),
          nn::MapConstMat<float>(teacher->item_embedding_->data() + D, N, D).transpose());
    }
    mine_candidates(teacher != nullptr ? scores.data() : nullptr, rows, N, target.data() + first,
                    layout, mining.aug_weight, key, first, cand.data() + first * C,
                    label.data() + first * C);
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nn::Parameter& E = *item_embedding_;
  const float* no_logq = nullptr;
  const float loss =
      loss::prefer_dense_candidates(M, C, N + 1)
          ? loss::candidate_softmax_dense(loss_grad_.data(), E.gradient(), loss_input_.data(),
                                          E.data(), cand.data(), label.data(), no_logq, M, C, D,
                                          N + 1, mining.separate_positives)
          : loss::candidate_softmax(loss_grad_.data(), E.gradient(), loss_input_.data(), E.data(),
                                    cand.data(), label.data(), no_logq, M, C, D,
                                    mining.separate_positives);
  for (int32_t id : cand)
    if (id > 0) E.touch_row(id);
  scatter_output_gradient(batch, dout);
  return loss;
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
  StepResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    SequenceBatch batch = checked_batch(store, begin, end, count, last_only);
    prepare_items(true);
    forward(batch, true, steps_);
    nn::FloatBuffer& dout = output_grad_;
    result.loss = mined_loss(batch, dout, result.targets, mining, teacher, result.mining_seconds);
    result = finish_step(batch, dout, result);
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
