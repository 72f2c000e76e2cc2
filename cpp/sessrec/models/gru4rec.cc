#include "sessrec/models/gru4rec.h"

#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/embedding.h"
#include "sessrec/nn/gru.h"
#include "sessrec/nn/linear.h"

namespace sessrec {

GRU4Rec::GRU4Rec(GRU4RecConfig config) : SequenceModel(config.base), hidden_(config.hidden) {
  if (hidden_ <= 0) throw InputError("GRU4Rec: hidden must be positive");
  const int64_t D = config_.dim, H = hidden_;
  W_ih_ = &params_.add("gru.weight_ih", 3 * H, D);
  b_ih_ = &params_.add("gru.bias_ih", 1, 3 * H);
  W_hh_ = &params_.add("gru.weight_hh", 3 * H, H);
  b_hh_ = &params_.add("gru.bias_hh", 1, 3 * H);
  W_out_ = &params_.add("dense.weight", D, H);
  b_out_ = &params_.add("dense.bias", 1, D);
  auto rng = derived_rng(config_.seed, 1, 0);
  nn::init_embedding(*item_embedding_, 0.02f, rng);
  // torch.nn.GRU's default: uniform(-1/sqrt(H), 1/sqrt(H)) for every weight and bias.
  const float bound = 1.0f / std::sqrt(float(H));
  for (auto* p : {W_ih_, b_ih_, W_hh_, b_hh_}) nn::init_uniform(*p, bound, rng);
  nn::init_xavier_uniform(*W_out_, rng);
  nn::init_constant(*b_out_, 0.0f);
}

void GRU4Rec::forward(const SequenceBatch& batch, bool training, uint64_t step) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, H = hidden_, N = B * T;
  emb_.resize(N * D);
  emb_mask_.resize(N * D);
  emb_drop_.resize(N * D);
  x_proj_.resize(N * 3 * H);
  h_.resize(N * H);
  gates_.resize(N * 3 * H);
  hn_.resize(N * H);
  out_.resize(N * D);
  // One dropout key per call site and step: reproducible masks, independent of threads.
  uint64_t site = 0;
  auto key = [&] { return mix64(mix64(config_.seed ^ 0xD0) ^ mix64(step * 64 + site++)); };
  input_forward(batch, emb_.data());
  nn::dropout_forward(emb_drop_.data(), emb_mask_.data(), emb_.data(), N * D, config_.dropout,
                      training, key());
  nn::linear_forward(x_proj_.data(), emb_drop_.data(), W_ih_->data(), b_ih_->data(), N, D, 3 * H);
  nn::gru_forward(h_.data(), gates_.data(), hn_.data(), x_proj_.data(), W_hh_->data(),
                  b_hh_->data(), B, T, H);
  nn::linear_forward(out_.data(), h_.data(), W_out_->data(), b_out_->data(), N, H, D);
}

void GRU4Rec::backward(const SequenceBatch& batch, const float* dout) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, H = hidden_, N = B * T;
  nn::FloatBuffer &dh = dh_, &dx_proj = dx_proj_, &demb_drop = demb_drop_, &demb = demb_;
  dh.assign(N * H, 0.0f);
  dx_proj.assign(N * 3 * H, 0.0f);
  demb_drop.assign(N * D, 0.0f);
  demb.assign(N * D, 0.0f);
  nn::linear_backward(dh.data(), W_out_->gradient(), b_out_->gradient(), dout, h_.data(),
                      W_out_->data(), N, H, D);
  nn::gru_backward(dx_proj.data(), W_hh_->gradient(), b_hh_->gradient(), dh.data(), h_.data(),
                   gates_.data(), hn_.data(), W_hh_->data(), B, T, H);
  nn::linear_backward(demb_drop.data(), W_ih_->gradient(), b_ih_->gradient(), dx_proj.data(),
                      emb_drop_.data(), W_ih_->data(), N, D, 3 * H);
  nn::dropout_backward(demb.data(), demb_drop.data(), emb_mask_.data(), N * D);
  input_backward(batch, demb.data());
}

void GRU4Rec::input_forward(const SequenceBatch& batch, float* x) {
  nn::embedding_forward(x, batch.input.data(), item_embedding_->data(), batch.B * batch.T,
                        config_.dim);
}

void GRU4Rec::input_backward(const SequenceBatch& batch, const float* dx) {
  const int64_t N = batch.B * batch.T;
  nn::embedding_backward(item_embedding_->gradient(), dx, batch.input.data(), N, config_.dim);
  for (int64_t i = 0; i < N; ++i)
    if (batch.input[i] != 0) item_embedding_->touch_row(batch.input[i]);
}

}  // namespace sessrec
