#include "sessrec/models/sasrec.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/embedding.h"
#include "sessrec/nn/layernorm.h"

namespace sessrec {

SASRec::SASRec(SASRecConfig config) : SequenceModel(config.base), sasrec_(config) {
  const int64_t D = config_.dim;
  nn::TransformerConfig stack{sasrec_.layers,
                              D,
                              sasrec_.heads,
                              sasrec_.ffn_dim,
                              sasrec_.post_ln,
                              sasrec_.gelu,
                              /*causal=*/true,
                              config_.dropout,
                              sasrec_.post_ln ? 1e-12f : 1e-5f};
  stack.validate("SASRec");
  pos_ = &params_.add("position_embedding", config_.max_len, D);
  ln_g_ = &params_.add(sasrec_.post_ln ? "embedding_ln.weight" : "final_ln.weight", 1, D);
  ln_b_ = &params_.add(sasrec_.post_ln ? "embedding_ln.bias" : "final_ln.bias", 1, D);
  auto rng = derived_rng(config_.seed, 1, 0);
  nn::init_embedding(*item_embedding_, 0.02f, rng);
  nn::init_normal(*pos_, 0.02f, rng);
  nn::init_constant(*ln_g_, 1.0f);
  stack_ = std::make_unique<nn::TransformerStack>(stack, params_, "layers.", rng);
}

void SASRec::pack(const SequenceBatch& batch) {
  const int64_t B = batch.B, T = batch.T;
  offsets_.assign(B + 1, 0);
  for (int64_t b = 0; b < B; ++b) offsets_[b + 1] = offsets_[b] + batch.last[b] + 1;
  const int64_t R = offsets_[B];
  ids_.resize(R);
  positions_.resize(R);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t <= batch.last[b]; ++t) {
      if (!batch.valid[b * T + t])
        throw InputError("SASRec: batch row " + std::to_string(b) + " is not right-padded");
      ids_[offsets_[b] + t] = batch.input[b * T + t];
      positions_[offsets_[b] + t] = t;
    }
}

void SASRec::forward(const SequenceBatch& batch, bool training, uint64_t step) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim;
  if (T > config_.max_len) throw InputError("SASRec: batch longer than max_len");
  // Every layer runs on the batch's real positions only, packed sequence after sequence: with
  // causal attention and masked padding keys, a padding position never reaches a real one, so
  // the padded rows' work (more than half of a training batch's) would be thrown away.
  pack(batch);
  const int64_t N = offsets_[B];
  const float p = config_.dropout;
  // One dropout key per call site and step: reproducible masks, independent of threads.
  uint64_t site = 0;
  auto key = [&] { return mix64(mix64(config_.seed ^ 0xD0) ^ mix64(step * 64 + site++)); };
  x0_.resize(N * D);
  nn::embedding_forward(x0_.data(), ids_.data(), item_embedding_->data(), N, D);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < N; ++r)
    for (int64_t d = 0; d < D; ++d) x0_[r * D + d] += pos_->value[positions_[r] * D + d];
  e_.resize(N * D);
  mask0_.resize(N * D);
  x_.resize(N * D);
  const float* x_in = x0_.data();
  if (sasrec_.post_ln) {
    mean0_.resize(N);
    rstd0_.resize(N);
    nn::layernorm_forward(e_.data(), mean0_.data(), rstd0_.data(), x0_.data(), ln_g_->data(),
                          ln_b_->data(), N, D, 1e-12f);
    x_in = e_.data();
  }
  nn::dropout_forward(x_.data(), mask0_.data(), x_in, N * D, p, training, key());
  const float* x = stack_->forward(x_.data(), offsets_.data(), B, training, key);
  last_ = x;
  const float* last = x;
  if (!sasrec_.post_ln) {
    final_.resize(N * D);
    mean0_.resize(N);
    rstd0_.resize(N);
    nn::layernorm_forward(final_.data(), mean0_.data(), rstd0_.data(), x, ln_g_->data(),
                          ln_b_->data(), N, D);
    last = final_.data();
  }
  // Back to the padded [B, T] layout of output(); padding rows are zero.
  out_.assign(B * T * D, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(last + offsets_[b] * D, (offsets_[b + 1] - offsets_[b]) * D,
                out_.data() + b * T * D);
}

void SASRec::backward(const SequenceBatch& batch, const float* dout_padded) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, N = offsets_[B];
  nn::FloatBuffer& dout = dout_;
  dout.resize(N * D);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(dout_padded + b * T * D, (offsets_[b + 1] - offsets_[b]) * D,
                dout.data() + offsets_[b] * D);
  nn::FloatBuffer& dx = dx_;
  dx.assign(N * D, 0.0f);
  if (sasrec_.post_ln) {
    std::copy_n(dout.data(), N * D, dx.data());
  } else {
    nn::layernorm_backward(dx.data(), ln_g_->gradient(), ln_b_->gradient(), dout.data(), last_,
                           mean0_.data(), rstd0_.data(), ln_g_->data(), N, D);
  }
  stack_->backward(dx.data(), dx.data());
  // Embedding dropout, embedding LayerNorm (post-LN), then item and position tables.
  nn::FloatBuffer &de = de_, &dx0 = dx0_;
  de.assign(N * D, 0.0f);
  dx0.assign(N * D, 0.0f);
  nn::dropout_backward(de.data(), dx.data(), mask0_.data(), N * D);
  if (sasrec_.post_ln)
    nn::layernorm_backward(dx0.data(), ln_g_->gradient(), ln_b_->gradient(), de.data(), x0_.data(),
                           mean0_.data(), rstd0_.data(), ln_g_->data(), N, D);
  else
    dx0 = de;
  nn::embedding_backward(item_embedding_->gradient(), dx0.data(), ids_.data(), N, D);
  for (int64_t i = 0; i < N; ++i) item_embedding_->touch_row(ids_[i]);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t d = 0; d < D; ++d) pos_->grad[positions_[r] * D + d] += dx0[r * D + d];
}

}  // namespace sessrec
