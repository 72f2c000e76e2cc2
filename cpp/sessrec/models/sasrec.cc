#include "sessrec/models/sasrec.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/activation.h"
#include "sessrec/nn/attention.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/embedding.h"
#include "sessrec/nn/layernorm.h"
#include "sessrec/nn/linear.h"

namespace sessrec {

SASRec::SASRec(SASRecConfig config) : SequenceModel(config.base), sasrec_(config) {
  const int64_t D = config_.dim, F = sasrec_.ffn_dim;
  if (sasrec_.layers < 1) throw InputError("SASRec: layers must be >= 1");
  if (sasrec_.heads < 1 || D % sasrec_.heads != 0)
    throw InputError("SASRec: dim " + std::to_string(D) + " is not divisible by heads " +
                     std::to_string(sasrec_.heads));
  if (F < 1) throw InputError("SASRec: ffn_dim must be >= 1");
  pos_ = &params_.add("position_embedding", config_.max_len, D);
  ln_g_ = &params_.add(sasrec_.post_ln ? "embedding_ln.weight" : "final_ln.weight", 1, D);
  ln_b_ = &params_.add(sasrec_.post_ln ? "embedding_ln.bias" : "final_ln.bias", 1, D);
  auto rng = derived_rng(config_.seed, 1, 0);
  nn::init_embedding(*item_embedding_, 0.02f, rng);
  nn::init_normal(*pos_, 0.02f, rng);
  nn::init_constant(*ln_g_, 1.0f);
  blocks_.resize(sasrec_.layers);
  for (int64_t l = 0; l < sasrec_.layers; ++l) {
    Block& k = blocks_[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    k.W_qkv = &params_.add(p + "attn.qkv.weight", 3 * D, D);
    k.b_qkv = &params_.add(p + "attn.qkv.bias", 1, 3 * D);
    k.W_o = &params_.add(p + "attn.out.weight", D, D);
    k.b_o = &params_.add(p + "attn.out.bias", 1, D);
    k.ln1_g = &params_.add(p + "ln1.weight", 1, D);
    k.ln1_b = &params_.add(p + "ln1.bias", 1, D);
    k.W1 = &params_.add(p + "ffn.w1.weight", F, D);
    k.b1 = &params_.add(p + "ffn.w1.bias", 1, F);
    k.W2 = &params_.add(p + "ffn.w2.weight", D, F);
    k.b2 = &params_.add(p + "ffn.w2.bias", 1, D);
    k.ln2_g = &params_.add(p + "ln2.weight", 1, D);
    k.ln2_b = &params_.add(p + "ln2.bias", 1, D);
    for (auto* w : {k.W_qkv, k.W_o, k.W1, k.W2}) nn::init_normal(*w, 0.02f, rng);
    nn::init_constant(*k.ln1_g, 1.0f);
    nn::init_constant(*k.ln2_g, 1.0f);
  }
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
  const int64_t B = batch.B, T = batch.T, D = config_.dim, F = sasrec_.ffn_dim;
  const int64_t Hh = sasrec_.heads;
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
  const float* x = x_.data();
  for (Block& k : blocks_) {
    k.in.assign(x, x + N * D);
    const float* attn_in = k.in.data();
    if (!sasrec_.post_ln) {
      k.h1.resize(N * D);
      k.mean1.resize(N);
      k.rstd1.resize(N);
      nn::layernorm_forward(k.h1.data(), k.mean1.data(), k.rstd1.data(), k.in.data(),
                            k.ln1_g->data(), k.ln1_b->data(), N, D);
      attn_in = k.h1.data();
    }
    k.qkv.resize(N * 3 * D);
    k.att.resize(nn::packed_attention_size(offsets_.data(), B, Hh));
    k.a.resize(N * D);
    k.ao.resize(N * D);
    k.mask_a.resize(N * D);
    k.r1.resize(N * D);
    nn::linear_forward(k.qkv.data(), attn_in, k.W_qkv->data(), k.b_qkv->data(), N, D, 3 * D);
    nn::attention_forward_packed(k.a.data(), k.att.data(), k.qkv.data(), offsets_.data(), B, D,
                                 Hh, true);
    nn::linear_forward(k.ao.data(), k.a.data(), k.W_o->data(), k.b_o->data(), N, D, D);
    nn::dropout_forward(k.r1.data(), k.mask_a.data(), k.ao.data(), N * D, p, training, key());
    for (int64_t i = 0; i < N * D; ++i) k.r1[i] += k.in[i];  // residual
    const float* ffn_in;
    k.x1.resize(N * D);
    k.mean2.resize(N);
    k.rstd2.resize(N);
    if (sasrec_.post_ln) {
      k.mean1.resize(N);
      k.rstd1.resize(N);
      nn::layernorm_forward(k.x1.data(), k.mean1.data(), k.rstd1.data(), k.r1.data(),
                            k.ln1_g->data(), k.ln1_b->data(), N, D, 1e-12f);
      ffn_in = k.x1.data();
    } else {
      k.x1 = k.r1;
      k.h2.resize(N * D);
      nn::layernorm_forward(k.h2.data(), k.mean2.data(), k.rstd2.data(), k.x1.data(),
                            k.ln2_g->data(), k.ln2_b->data(), N, D);
      ffn_in = k.h2.data();
    }
    k.f1.resize(N * F);
    k.g.resize(N * F);
    k.f2.resize(N * D);
    k.mask_f.resize(N * D);
    k.r2.resize(N * D);
    nn::linear_forward(k.f1.data(), ffn_in, k.W1->data(), k.b1->data(), N, D, F);
    if (sasrec_.gelu) nn::gelu_forward(k.g.data(), k.f1.data(), N * F);
    else nn::relu_forward(k.g.data(), k.f1.data(), N * F);
    nn::linear_forward(k.f2.data(), k.g.data(), k.W2->data(), k.b2->data(), N, F, D);
    nn::dropout_forward(k.r2.data(), k.mask_f.data(), k.f2.data(), N * D, p, training, key());
    for (int64_t i = 0; i < N * D; ++i) k.r2[i] += k.x1[i];
    if (sasrec_.post_ln) {
      k.out.resize(N * D);
      nn::layernorm_forward(k.out.data(), k.mean2.data(), k.rstd2.data(), k.r2.data(),
                            k.ln2_g->data(), k.ln2_b->data(), N, D, 1e-12f);
    } else {
      k.out = k.r2;
    }
    x = k.out.data();
  }
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
    std::copy_n(last + offsets_[b] * D, (offsets_[b + 1] - offsets_[b]) * D, out_.data() + b * T * D);
}

void SASRec::backward(const SequenceBatch& batch, const float* dout_padded) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, F = sasrec_.ffn_dim, N = offsets_[B];
  const int64_t Hh = sasrec_.heads;
  nn::FloatBuffer& dx = dx_;
  nn::FloatBuffer& dout = ws_[14];
  dout.resize(N * D);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(dout_padded + b * T * D, (offsets_[b + 1] - offsets_[b]) * D, dout.data() + offsets_[b] * D);
  dx.assign(N * D, 0.0f);
  if (sasrec_.post_ln) {
    std::copy_n(dout.data(), N * D, dx.data());
  } else {
    const float* last = blocks_.back().out.data();
    nn::layernorm_backward(dx.data(), ln_g_->gradient(), ln_b_->gradient(), dout.data(), last,
                           mean0_.data(), rstd0_.data(), ln_g_->data(), N, D);
  }
  nn::FloatBuffer&dr2 = ws_[0], &dx1 = ws_[1], &df2 = ws_[2], &dg = ws_[3], &df1 = ws_[4],
                     &dffn_in = ws_[5], &dr1 = ws_[6], &dao = ws_[7], &da = ws_[8], &dqkv = ws_[9],
                     &dattn_in = ws_[10], &din = ws_[11];
  for (int64_t l = sasrec_.layers - 1; l >= 0; --l) {
    Block& k = blocks_[l];
    // dx is the gradient of the block output.
    dr2.assign(N * D, 0.0f);
    if (sasrec_.post_ln)
      nn::layernorm_backward(dr2.data(), k.ln2_g->gradient(), k.ln2_b->gradient(), dx.data(),
                             k.r2.data(), k.mean2.data(), k.rstd2.data(), k.ln2_g->data(), N, D);
    else
      dr2 = dx;
    dx1 = dr2;  // residual
    df2.assign(N * D, 0.0f);
    nn::dropout_backward(df2.data(), dr2.data(), k.mask_f.data(), N * D);
    dg.assign(N * F, 0.0f);
    nn::linear_backward(dg.data(), k.W2->gradient(), k.b2->gradient(), df2.data(), k.g.data(),
                        k.W2->data(), N, F, D);
    df1.assign(N * F, 0.0f);
    if (sasrec_.gelu) nn::gelu_backward(df1.data(), dg.data(), k.f1.data(), N * F);
    else nn::relu_backward(df1.data(), dg.data(), k.f1.data(), N * F);
    dffn_in.assign(N * D, 0.0f);
    const float* ffn_in = sasrec_.post_ln ? k.x1.data() : k.h2.data();
    nn::linear_backward(dffn_in.data(), k.W1->gradient(), k.b1->gradient(), df1.data(), ffn_in,
                        k.W1->data(), N, D, F);
    dr1.assign(N * D, 0.0f);
    if (sasrec_.post_ln) {
      for (int64_t i = 0; i < N * D; ++i) dx1[i] += dffn_in[i];
      nn::layernorm_backward(dr1.data(), k.ln1_g->gradient(), k.ln1_b->gradient(), dx1.data(),
                             k.r1.data(), k.mean1.data(), k.rstd1.data(), k.ln1_g->data(), N, D);
    } else {
      nn::layernorm_backward(dx1.data(), k.ln2_g->gradient(), k.ln2_b->gradient(),
                             dffn_in.data(), k.x1.data(), k.mean2.data(), k.rstd2.data(),
                             k.ln2_g->data(), N, D);
      dr1 = dx1;
    }
    din = dr1;  // residual to the block input
    dao.assign(N * D, 0.0f);
    nn::dropout_backward(dao.data(), dr1.data(), k.mask_a.data(), N * D);
    da.assign(N * D, 0.0f);
    nn::linear_backward(da.data(), k.W_o->gradient(), k.b_o->gradient(), dao.data(), k.a.data(),
                        k.W_o->data(), N, D, D);
    dqkv.assign(N * 3 * D, 0.0f);
    nn::attention_backward_packed(dqkv.data(), da.data(), k.qkv.data(), k.att.data(),
                                  offsets_.data(), B, D, Hh);
    dattn_in.assign(N * D, 0.0f);
    const float* attn_in = sasrec_.post_ln ? k.in.data() : k.h1.data();
    nn::linear_backward(dattn_in.data(), k.W_qkv->gradient(), k.b_qkv->gradient(), dqkv.data(),
                        attn_in, k.W_qkv->data(), N, D, 3 * D);
    if (sasrec_.post_ln) {
      for (int64_t i = 0; i < N * D; ++i) din[i] += dattn_in[i];
    } else {
      nn::layernorm_backward(din.data(), k.ln1_g->gradient(), k.ln1_b->gradient(),
                             dattn_in.data(), k.in.data(), k.mean1.data(), k.rstd1.data(),
                             k.ln1_g->data(), N, D);
    }
    dx = din;
  }
  // Embedding dropout, embedding LayerNorm (post-LN), then item and position tables.
  nn::FloatBuffer&de = ws_[12], &dx0 = ws_[13];
  de.assign(N * D, 0.0f);
  dx0.assign(N * D, 0.0f);
  nn::dropout_backward(de.data(), dx.data(), mask0_.data(), N * D);
  if (sasrec_.post_ln)
    nn::layernorm_backward(dx0.data(), ln_g_->gradient(), ln_b_->gradient(), de.data(),
                           x0_.data(), mean0_.data(), rstd0_.data(), ln_g_->data(), N, D);
  else
    dx0 = de;
  nn::embedding_backward(item_embedding_->gradient(), dx0.data(), ids_.data(), N, D);
  for (int64_t i = 0; i < N; ++i) item_embedding_->touch_row(ids_[i]);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t d = 0; d < D; ++d) pos_->grad[positions_[r] * D + d] += dx0[r * D + d];
}

}  // namespace sessrec
