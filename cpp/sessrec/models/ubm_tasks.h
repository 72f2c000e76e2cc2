// UBM's downstream tasks (Li et al., "Contrastive Pre-training for Deep Session Data
// Understanding", §3.4): task layers on the session vector h' and one fine-tuning step per batch
// that updates the whole model (UBM weights through UBMModel::session_backward, and the head).
//
//   PIP  (purchase intention)  h' [N, D] -> Linear-ReLU -> Linear-ReLU -> Linear -> logit z [N]
//        p = sigmoid(z), loss = mean_n BCE(p_n, y_n)                                   (Eq. 5)
//   RLP  (remaining length)    h' [N, D] -> Linear-ReLU -> Linear -> y_hat [N]
//        loss = mean_n (y_hat_n - y_n)^2                                               (Eq. 6)
//   NIP  (next item)           v_c = UBM([p_c]) for the m candidates (one-interaction sessions,
//        no action token), z = h' V^T, loss = mean_n CE(softmax(z_n), target_n)        (Eq. 7)
//
// The paper is silent on the hidden width and the activation of the "feed-forward layers":
// width = the session dim, ReLU. The NIP step encodes the histories and every candidate in one
// session_forward, so the gradient reaches the model through both sides of the dot product.
// Dropout follows the model's config; its masks are a hash of (seed, step), so a step is
// deterministic given `step`.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sessrec/models/ubm.h"
#include "sessrec/nn/mlp.h"
#include "sessrec/nn/optimizer.h"
#include "sessrec/nn/parameter.h"

namespace sessrec {

enum class UBMTask { PurchaseIntention, RemainingLength };

UBMTask parse_ubm_task(const std::string& name);  // "pip" or "rlp"

// The layer widths {D, hidden..., 1} of a task's head.
std::vector<int64_t> ubm_task_head_dims(UBMTask task, int64_t dim, int64_t hidden);

// ---- the head's kernels, h [N, dims[0]] -> out [N] (dims.back() == 1).
template <typename T>
void task_head_forward(T* out, nn::MLPCache<T>& cache, const T* h, const std::vector<const T*>& W,
                       const std::vector<const T*>& b, const std::vector<int64_t>& dims,
                       int64_t N) {
  nn::mlp_forward(out, cache, h, W, b, dims, N, /*gelu=*/false);
}
// dout [N] -> dh [N, dims[0]] (accumulates; may be null), dW, db (accumulate).
template <typename T>
void task_head_backward(T* dh, const std::vector<T*>& dW, const std::vector<T*>& db, const T* dout,
                        const nn::MLPCache<T>& cache, const T* h, const std::vector<const T*>& W,
                        const std::vector<int64_t>& dims, int64_t N) {
  nn::mlp_backward(dh, dW, db, dout, cache, h, W, dims, N, /*gelu=*/false);
}

// ---- the losses, mean over the N rows; d* (may be null) receives the gradient of that mean.
// BCE of sigmoid(z) against y in {0, 1}, computed from the logits (softplus, no log(0)).
template <typename T>
T binary_cross_entropy_with_logits(T* dz, const T* z, const T* y, int64_t N) {
  T total = 0;
  for (int64_t n = 0; n < N; ++n) {
    // log(1 + exp(z)) - y z, stable for either sign of z.
    const T softplus = z[n] > 0 ? z[n] + std::log1p(std::exp(-z[n])) : std::log1p(std::exp(z[n]));
    total += softplus - y[n] * z[n];
    if (dz) dz[n] = (T(1) / (T(1) + std::exp(-z[n])) - y[n]) / T(N);
  }
  return total / T(N);
}

template <typename T>
T mean_squared_error(T* dp, const T* p, const T* y, int64_t N) {
  T total = 0;
  for (int64_t n = 0; n < N; ++n) {
    const T e = p[n] - y[n];
    total += e * e;
    if (dp) dp[n] = T(2) * e / T(N);
  }
  return total / T(N);
}

// A task's layers on the session vector, with their own parameters ("head.<l>.W/b").
class UBMTaskHead {
 public:
  UBMTaskHead(UBMTask task, int64_t dim, int64_t hidden, uint64_t seed);

  // h [N, dim] -> out [N]: the logit (PIP) or the predicted length (RLP); keeps the cache.
  void forward(const float* h, int64_t N, float* out);
  // dout [N] -> dh [N, dim] (overwritten) and the parameter gradients (accumulate).
  void backward(const float* dout, float* dh);
  // The task's loss of outputs `out` against `labels` [N]; dout [N] (may be null).
  float loss(const float* out, const float* labels, int64_t N, float* dout) const;
  // The prediction the task reports: sigmoid(out) for PIP, out for RLP.
  float prediction(float out) const;

  UBMTask task() const { return task_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  nn::ParameterSet& params() { return params_; }
  const nn::ParameterSet& params() const { return params_; }
  void parameters_changed() {}

 private:
  UBMTask task_;
  std::vector<int64_t> dims_;
  nn::ParameterSet params_;
  std::vector<nn::Parameter*> weights_, biases_;
  nn::MLPCache<float> cache_;
  std::vector<float> input_;  // the last forward's h
  int64_t rows_ = 0;
};

struct UBMTaskStep {
  float loss = 0;
  int64_t examples = 0;
  float gradient_norm = 0;  // of the UBM's parameters, then the head's, combined
};

// One PIP/RLP fine-tuning step on sessions rows[r] of `all` with labels[r]: forward in training
// mode (dropout keyed by `step`), the task's loss, backward through the head and the UBM, one
// step of each optimizer (model_optimizer on model.params(), head_optimizer on head.params()).
UBMTaskStep ubm_task_train_step(UBMModel& model, UBMTaskHead& head,
                                const InteractionSessionsView& all, const int64_t* rows,
                                const float* labels, int64_t N, uint64_t step,
                                nn::Adam& model_optimizer, nn::Adam& head_optimizer);

// Evaluation mode: predictions[r] (probability or length) of sessions rows[r] and the mean loss
// against labels (labels may be null: loss 0). Encodes in the model's bounded chunks.
float ubm_task_predict(UBMModel& model, UBMTaskHead& head, const InteractionSessionsView& all,
                       const int64_t* rows, const float* labels, int64_t N, float* predictions);

// One NIP step: histories rows[r] of `histories` with targets[r] in [0, m) indexing the m
// candidate sessions of `candidates` (each one interaction). Histories and candidates go through
// one training-mode forward; full softmax cross-entropy over the m candidates; one optimizer step
// on model.params().
UBMTaskStep ubm_next_item_train_step(UBMModel& model, const InteractionSessionsView& histories,
                                     const int64_t* rows, const int32_t* targets, int64_t N,
                                     const InteractionSessionsView& candidates, uint64_t step,
                                     nn::Adam& optimizer);

// The same step against fixed candidate vectors V [m, D] (e.g. encoded once per epoch): the
// full softmax over the m candidates, the gradient reaching the model through the histories
// alone. Scales to catalogues too large to encode at every step.
UBMTaskStep ubm_next_item_train_step_fixed(UBMModel& model,
                                           const InteractionSessionsView& histories,
                                           const int64_t* rows, const int32_t* targets, int64_t N,
                                           const float* candidate_vectors, int64_t m, uint64_t step,
                                           nn::Adam& optimizer);

// Evaluation mode: the mean NIP loss of histories rows[r] against the fixed candidate vectors
// V [m, D] (UBMModel::encode_sessions of the candidates).
float ubm_next_item_loss(UBMModel& model, const InteractionSessionsView& histories,
                         const int64_t* rows, const int32_t* targets, int64_t N,
                         const float* candidate_vectors, int64_t m);

}  // namespace sessrec
