#include "sessrec/models/ubm_tasks.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/loss/softmax_cross_entropy.h"
#include "sessrec/random.h"

namespace sessrec {

UBMTask parse_ubm_task(const std::string& name) {
  if (name == "pip") return UBMTask::PurchaseIntention;
  if (name == "rlp") return UBMTask::RemainingLength;
  throw InputError("UBM task must be 'pip' or 'rlp', got '" + name + "'");
}

std::vector<int64_t> ubm_task_head_dims(UBMTask task, int64_t dim, int64_t hidden) {
  if (dim < 1 || hidden < 1) throw InputError("UBM task head: dim and hidden must be >= 1");
  // PIP: "two feed-forward layers and one linear layer followed by a Sigmoid layer";
  // RLP: "two feed-forward layers to output a number" (§3.4.1-2).
  if (task == UBMTask::PurchaseIntention) return {dim, hidden, hidden, 1};
  return {dim, hidden, 1};
}

UBMTaskHead::UBMTaskHead(UBMTask task, int64_t dim, int64_t hidden, uint64_t seed)
    : task_(task), dims_(ubm_task_head_dims(task, dim, hidden)) {
  auto rng = derived_rng(seed, 0x7A5C, static_cast<uint64_t>(task));
  for (size_t l = 0; l + 1 < dims_.size(); ++l) {
    nn::Parameter& W = params_.add("head." + std::to_string(l) + ".W", dims_[l + 1], dims_[l]);
    nn::init_xavier_uniform(W, rng);
    nn::Parameter& b = params_.add("head." + std::to_string(l) + ".b", 1, dims_[l + 1]);
    nn::init_constant(b, 0.0f);
  }
  for (size_t l = 0; l + 1 < dims_.size(); ++l) {
    weights_.push_back(&params_.get("head." + std::to_string(l) + ".W"));
    biases_.push_back(&params_.get("head." + std::to_string(l) + ".b"));
  }
}

void UBMTaskHead::forward(const float* h, int64_t N, float* out) {
  std::vector<const float*> W, b;
  for (size_t l = 0; l < weights_.size(); ++l) {
    W.push_back(weights_[l]->data());
    b.push_back(biases_[l]->data());
  }
  input_.assign(h, h + N * dims_[0]);
  rows_ = N;
  task_head_forward(out, cache_, input_.data(), W, b, dims_, N);
}

void UBMTaskHead::backward(const float* dout, float* dh) {
  if (rows_ <= 0) throw InputError("UBM task head: backward before forward");
  std::vector<const float*> W;
  std::vector<float*> dW, db;
  for (size_t l = 0; l < weights_.size(); ++l) {
    W.push_back(weights_[l]->data());
    dW.push_back(weights_[l]->gradient());
    db.push_back(biases_[l]->gradient());
  }
  std::fill(dh, dh + rows_ * dims_[0], 0.0f);
  task_head_backward(dh, dW, db, dout, cache_, input_.data(), W, dims_, rows_);
}

float UBMTaskHead::loss(const float* out, const float* labels, int64_t N, float* dout) const {
  if (task_ == UBMTask::PurchaseIntention) {
    for (int64_t n = 0; n < N; ++n)
      if (labels[n] != 0.0f && labels[n] != 1.0f)
        throw InputError("PIP: labels must be 0 or 1, got " + std::to_string(labels[n]));
    return binary_cross_entropy_with_logits(dout, out, labels, N);
  }
  return mean_squared_error(dout, out, labels, N);
}

float UBMTaskHead::prediction(float out) const {
  return task_ == UBMTask::PurchaseIntention ? 1.0f / (1.0f + std::exp(-out)) : out;
}

namespace {

void check_batch(int64_t N) {
  if (N < 1) throw InputError("UBM task: a batch needs at least one example");
}

void check_targets(const int32_t* targets, int64_t N, int64_t m) {
  if (m < 1) throw InputError("NIP: no candidate items");
  for (int64_t n = 0; n < N; ++n)
    if (targets[n] < 0 || targets[n] >= m)
      throw InputError("NIP: target " + std::to_string(targets[n]) + " is outside the " +
                       std::to_string(m) + " candidates");
}

}  // namespace

UBMTaskStep ubm_task_train_step(UBMModel& model, UBMTaskHead& head,
                                const InteractionSessionsView& all, const int64_t* rows,
                                const float* labels, int64_t N, uint64_t step,
                                nn::Adam& model_optimizer, nn::Adam& head_optimizer) {
  check_batch(N);
  const int64_t D = model.config().session.dim;
  if (head.dims()[0] != D)
    throw InputError("UBM task: the head reads " + std::to_string(head.dims()[0]) +
                     "-d vectors, the model makes " + std::to_string(D));
  const InteractionSessions batch = gather_sessions(all, rows, N);
  std::vector<float> h(N * D), dh(N * D), out(N), dout(N);
  model.params().zero_grad();
  head.params().zero_grad();
  model.session_forward(batch, true, step, h.data());
  head.forward(h.data(), N, out.data());
  UBMTaskStep result;
  result.examples = N;
  result.loss = head.loss(out.data(), labels, N, dout.data());
  head.backward(dout.data(), dh.data());
  model.session_backward(dh.data());
  const float model_norm = model_optimizer.step(model.params());
  const float head_norm = head_optimizer.step(head.params());
  result.gradient_norm = std::sqrt(model_norm * model_norm + head_norm * head_norm);
  model.params().zero_grad();
  head.params().zero_grad();
  return result;
}

float ubm_task_predict(UBMModel& model, UBMTaskHead& head, const InteractionSessionsView& all,
                       const int64_t* rows, const float* labels, int64_t N, float* predictions) {
  check_batch(N);
  const int64_t D = model.config().session.dim;
  std::vector<float> h(N * D), out(N);
  model.encode_sessions(all, rows, N, h.data());
  head.forward(h.data(), N, out.data());
  for (int64_t n = 0; n < N; ++n) predictions[n] = head.prediction(out[n]);
  return labels == nullptr ? 0.0f : head.loss(out.data(), labels, N, nullptr);
}

UBMTaskStep ubm_next_item_train_step(UBMModel& model, const InteractionSessionsView& histories,
                                     const int64_t* rows, const int32_t* targets, int64_t N,
                                     const InteractionSessionsView& candidates, uint64_t step,
                                     nn::Adam& optimizer) {
  check_batch(N);
  const int64_t D = model.config().session.dim, m = candidates.sessions;
  check_targets(targets, N, m);
  // One forward over [histories of the batch; every candidate].
  InteractionSessions batch = gather_sessions(histories, rows, N);
  for (int64_t c = 0; c < m; ++c) {
    if (candidates.session_offsets[c + 1] - candidates.session_offsets[c] != 1)
      throw InputError("NIP: candidate " + std::to_string(c) + " is not one interaction");
    const int64_t i = candidates.session_offsets[c];
    batch.ids.insert(batch.ids.end(), candidates.ids + candidates.token_offsets[i],
                     candidates.ids + candidates.token_offsets[i + 1]);
    batch.token_offsets.push_back(static_cast<int64_t>(batch.ids.size()));
    batch.session_offsets.push_back(batch.num_interactions());
  }
  std::vector<float> vectors((N + m) * D), grad((N + m) * D, 0.0f);
  model.params().zero_grad();
  model.session_forward(batch, true, step, vectors.data());
  UBMTaskStep result;
  result.examples = N;
  result.loss =
      loss::softmax_cross_entropy<float>(grad.data(), grad.data() + N * D, vectors.data(),
                                         vectors.data() + N * D, targets, nullptr, N, m, D);
  model.session_backward(grad.data());
  result.gradient_norm = optimizer.step(model.params());
  model.params().zero_grad();
  return result;
}

UBMTaskStep ubm_next_item_train_step_fixed(UBMModel& model,
                                           const InteractionSessionsView& histories,
                                           const int64_t* rows, const int32_t* targets, int64_t N,
                                           const float* candidate_vectors, int64_t m, uint64_t step,
                                           nn::Adam& optimizer) {
  check_batch(N);
  const int64_t D = model.config().session.dim;
  check_targets(targets, N, m);
  const InteractionSessions batch = gather_sessions(histories, rows, N);
  std::vector<float> h(N * D), dh(N * D, 0.0f);
  model.params().zero_grad();
  model.session_forward(batch, true, step, h.data());
  UBMTaskStep result;
  result.examples = N;
  result.loss = loss::softmax_cross_entropy<float>(dh.data(), nullptr, h.data(), candidate_vectors,
                                                   targets, nullptr, N, m, D);
  model.session_backward(dh.data());
  result.gradient_norm = optimizer.step(model.params());
  model.params().zero_grad();
  return result;
}

float ubm_next_item_loss(UBMModel& model, const InteractionSessionsView& histories,
                         const int64_t* rows, const int32_t* targets, int64_t N,
                         const float* candidate_vectors, int64_t m) {
  check_batch(N);
  const int64_t D = model.config().session.dim;
  check_targets(targets, N, m);
  std::vector<float> h(N * D);
  model.encode_sessions(histories, rows, N, h.data());
  return loss::softmax_cross_entropy<float>(nullptr, nullptr, h.data(), candidate_vectors, targets,
                                            nullptr, N, m, D);
}

}  // namespace sessrec
