#include "sessrec/models/sequence_model.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/loss/candidate_softmax.h"
#include "sessrec/loss/softmax_cross_entropy.h"
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
}

SequenceModel::SequenceModel(SequenceModelConfig config) : config_(std::move(config)) {
  config_.validate();
  item_embedding_ = &params_.add("item_embedding", config_.num_items + 1, config_.dim, true);
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

float SequenceModel::loss_and_output_gradient(const SequenceBatch& batch,
                                              nn::FloatBuffer& dout, int64_t& targets) {
  const int64_t D = config_.dim, BT = batch.B * batch.T;
  std::vector<int64_t>& rows = target_rows_;
  rows.clear();
  for (int64_t i = 0; i < BT; ++i)
    if (batch.target[i] >= 0) rows.push_back(i);
  targets = static_cast<int64_t>(rows.size());
  const int64_t M = targets;
  nn::FloatBuffer&H = loss_input_, &dH = loss_grad_;
  H.resize(M * D);
  dH.assign(M * D, 0.0f);
  std::vector<int32_t> target(M);
  const float* out = output();
  for (int64_t m = 0; m < M; ++m) {
    std::copy_n(out + rows[m] * D, D, H.data() + m * D);
    target[m] = batch.target[rows[m]];
  }
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
      const double q = popular ? (std::pow(double(item_counts_[id - 1]) + 1.0, 0.75) /
                                  popularity_cdf_.back())
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
  dout.assign(BT * D, 0.0f);
  for (int64_t m = 0; m < M; ++m) std::copy_n(dH.data() + m * D, D, dout.data() + rows[m] * D);
  return loss;
}

StepResult SequenceModel::forward_backward(const SessionStore& store, const int64_t* begin,
                                           const int64_t* end, int64_t count, bool last_only) {
  std::lock_guard<std::mutex> lock(mutex_);
  SequenceBatch batch = batch_for_training(store, begin, end, count, last_only);
  for (int64_t i = 0; i < batch.B * batch.T; ++i)
    if (batch.input[i] > config_.num_items || (batch.target[i] > config_.num_items))
      throw InputError("train: item index outside the model's catalogue of " +
                       std::to_string(config_.num_items) + " items");
  forward(batch, true, steps_);
  nn::FloatBuffer& dout = output_grad_;
  StepResult result;
  result.loss = loss_and_output_gradient(batch, dout, result.targets);
  backward(batch, dout.data());
  result.gradient_norm = nn::gradient_norm(params_);
  return result;
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

void SequenceModel::encode(const HistoryBatch& histories, float* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto* self = const_cast<SequenceModel*>(this);
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
  // Item i is embedding row i + 1 (row 0 is padding).
  nn::MapMat<float>(out, histories.size, N).noalias() =
      nn::MapConstMat<float>(H.data(), histories.size, D) *
      nn::MapConstMat<float>(item_embedding_->data() + D, N, D).transpose();
}

}  // namespace sessrec
