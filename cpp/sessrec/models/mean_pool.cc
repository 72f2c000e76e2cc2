#include "sessrec/models/mean_pool.h"

#include "sessrec/nn/dropout.h"
#include "sessrec/nn/embedding.h"
#include "sessrec/nn/linear.h"

namespace sessrec {

MeanPool::MeanPool(MeanPoolConfig config) : SequenceModel(std::move(config.base)) {
  const int64_t D = config_.dim;
  if (config.linear) {
    W_ = &params_.add("proj.weight", D, D);
    b_ = &params_.add("proj.bias", 1, D);
  }
  auto rng = derived_rng(config_.seed, 1, 0);
  nn::init_embedding(*item_embedding_, 0.02f, rng);
  if (W_ != nullptr) nn::init_xavier_uniform(*W_, rng);
}

void MeanPool::forward(const SequenceBatch& batch, bool training, uint64_t step) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, N = B * T;
  emb_.resize(N * D);
  mask_.resize(N * D);
  drop_.resize(N * D);
  mean_.assign(N * D, 0.0f);
  if (W_ != nullptr) out_.resize(N * D);
  // One dropout key per call site and step: reproducible masks, independent of threads.
  uint64_t site = 0;
  auto key = [&] {
    return mix64(mix64(config_.seed ^ 0xD0) ^ mix64(step * 64 + site++));
  };
  nn::embedding_forward(emb_.data(), batch.input.data(), item_embedding_->data(), N, D);
  nn::dropout_forward(drop_.data(), mask_.data(), emb_.data(), N * D, config_.dropout, training,
                      key());
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {  // running mean over the valid prefix
    nn::FloatBuffer sum(D, 0.0f);
    for (int64_t t = 0; t < T; ++t) {
      if (!batch.valid[b * T + t]) break;
      for (int64_t d = 0; d < D; ++d) {
        sum[d] += drop_[(b * T + t) * D + d];
        mean_[(b * T + t) * D + d] = sum[d] / float(t + 1);
      }
    }
  }
  if (W_ != nullptr) nn::linear_forward(out_.data(), mean_.data(), W_->data(), b_->data(), N, D, D);
}

void MeanPool::backward(const SequenceBatch& batch, const float* dout) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, N = B * T;
  nn::FloatBuffer &dmean = dmean_, &ddrop = ddrop_, &demb = demb_;
  ddrop.assign(N * D, 0.0f);
  demb.assign(N * D, 0.0f);
  if (W_ != nullptr) {
    dmean.assign(N * D, 0.0f);
    nn::linear_backward(dmean.data(), W_->gradient(), b_->gradient(), dout, mean_.data(),
                        W_->data(), N, D, D);
  } else {
    dmean.assign(dout, dout + N * D);
  }
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {  // d drop_s = sum_{t >= s} dmean_t / (t + 1)
    nn::FloatBuffer acc(D, 0.0f);
    for (int64_t t = T - 1; t >= 0; --t) {
      if (!batch.valid[b * T + t]) continue;
      for (int64_t d = 0; d < D; ++d) {
        acc[d] += dmean[(b * T + t) * D + d] / float(t + 1);
        ddrop[(b * T + t) * D + d] = acc[d];
      }
    }
  }
  nn::dropout_backward(demb.data(), ddrop.data(), mask_.data(), N * D);
  nn::embedding_backward(item_embedding_->gradient(), demb.data(), batch.input.data(), N, D);
  for (int64_t i = 0; i < N; ++i)
    if (batch.input[i] != 0) item_embedding_->touch_row(batch.input[i]);
}

}  // namespace sessrec
