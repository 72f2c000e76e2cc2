#include "sessrec/nn/transformer.h"

#include <algorithm>

#include "sessrec/errors.h"
#include "sessrec/nn/activation.h"
#include "sessrec/nn/attention.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/layernorm.h"
#include "sessrec/nn/linear.h"

namespace sessrec::nn {

void TransformerConfig::validate(const std::string& who) const {
  if (layers < 1) throw InputError(who + ": layers must be >= 1");
  if (dim < 1 || heads < 1 || dim % heads != 0)
    throw InputError(who + ": dim " + std::to_string(dim) + " is not divisible by heads " +
                     std::to_string(heads));
  if (ffn_dim < 1) throw InputError(who + ": ffn_dim must be >= 1");
  if (!(dropout >= 0 && dropout < 1)) throw InputError(who + ": dropout must be in [0, 1)");
  if (!(ln_eps > 0)) throw InputError(who + ": ln_eps must be positive");
}

TransformerStack::TransformerStack(TransformerConfig config, ParameterSet& params,
                                   const std::string& prefix, std::mt19937_64& rng)
    : config_(config) {
  const int64_t D = config_.dim, F = config_.ffn_dim;
  blocks_.resize(config_.layers);
  for (int64_t l = 0; l < config_.layers; ++l) {
    Block& k = blocks_[l];
    const std::string p = prefix + std::to_string(l) + ".";
    k.W_qkv = &params.add(p + "attn.qkv.weight", 3 * D, D);
    k.b_qkv = &params.add(p + "attn.qkv.bias", 1, 3 * D);
    k.W_o = &params.add(p + "attn.out.weight", D, D);
    k.b_o = &params.add(p + "attn.out.bias", 1, D);
    k.ln1_g = &params.add(p + "ln1.weight", 1, D);
    k.ln1_b = &params.add(p + "ln1.bias", 1, D);
    k.W1 = &params.add(p + "ffn.w1.weight", F, D);
    k.b1 = &params.add(p + "ffn.w1.bias", 1, F);
    k.W2 = &params.add(p + "ffn.w2.weight", D, F);
    k.b2 = &params.add(p + "ffn.w2.bias", 1, D);
    k.ln2_g = &params.add(p + "ln2.weight", 1, D);
    k.ln2_b = &params.add(p + "ln2.bias", 1, D);
    for (auto* w : {k.W_qkv, k.W_o, k.W1, k.W2}) init_normal(*w, 0.02f, rng);
    init_constant(*k.ln1_g, 1.0f);
    init_constant(*k.ln2_g, 1.0f);
  }
}

const float* TransformerStack::forward(const float* x, const int64_t* offsets, int64_t B,
                                       bool training, const std::function<uint64_t()>& key) {
  const int64_t D = config_.dim, F = config_.ffn_dim, Hh = config_.heads;
  const bool post_ln = config_.post_ln;
  const float p = config_.dropout, eps = config_.ln_eps;
  offsets_.assign(offsets, offsets + B + 1);
  B_ = B;
  const int64_t N = N_ = offsets_[B];
  for (Block& k : blocks_) {
    k.extra_grad.clear();
    k.in.assign(x, x + N * D);
    const float* attn_in = k.in.data();
    if (!post_ln) {
      k.h1.resize(N * D);
      k.mean1.resize(N);
      k.rstd1.resize(N);
      layernorm_forward(k.h1.data(), k.mean1.data(), k.rstd1.data(), k.in.data(), k.ln1_g->data(),
                        k.ln1_b->data(), N, D, eps);
      attn_in = k.h1.data();
    }
    k.qkv.resize(N * 3 * D);
    k.att.resize(packed_attention_size(offsets_.data(), B, Hh));
    k.a.resize(N * D);
    k.ao.resize(N * D);
    k.mask_a.resize(N * D);
    k.r1.resize(N * D);
    linear_forward(k.qkv.data(), attn_in, k.W_qkv->data(), k.b_qkv->data(), N, D, 3 * D);
    attention_forward_packed(k.a.data(), k.att.data(), k.qkv.data(), offsets_.data(), B, D, Hh,
                             config_.causal);
    linear_forward(k.ao.data(), k.a.data(), k.W_o->data(), k.b_o->data(), N, D, D);
    dropout_forward(k.r1.data(), k.mask_a.data(), k.ao.data(), N * D, p, training, key());
    for (int64_t i = 0; i < N * D; ++i) k.r1[i] += k.in[i];  // residual
    const float* ffn_in;
    k.x1.resize(N * D);
    k.mean2.resize(N);
    k.rstd2.resize(N);
    if (post_ln) {
      k.mean1.resize(N);
      k.rstd1.resize(N);
      layernorm_forward(k.x1.data(), k.mean1.data(), k.rstd1.data(), k.r1.data(), k.ln1_g->data(),
                        k.ln1_b->data(), N, D, eps);
      ffn_in = k.x1.data();
    } else {
      k.x1 = k.r1;
      k.h2.resize(N * D);
      layernorm_forward(k.h2.data(), k.mean2.data(), k.rstd2.data(), k.x1.data(), k.ln2_g->data(),
                        k.ln2_b->data(), N, D, eps);
      ffn_in = k.h2.data();
    }
    k.f1.resize(N * F);
    k.g.resize(N * F);
    k.f2.resize(N * D);
    k.mask_f.resize(N * D);
    k.r2.resize(N * D);
    linear_forward(k.f1.data(), ffn_in, k.W1->data(), k.b1->data(), N, D, F);
    if (config_.gelu)
      gelu_forward(k.g.data(), k.f1.data(), N * F);
    else
      relu_forward(k.g.data(), k.f1.data(), N * F);
    linear_forward(k.f2.data(), k.g.data(), k.W2->data(), k.b2->data(), N, F, D);
    dropout_forward(k.r2.data(), k.mask_f.data(), k.f2.data(), N * D, p, training, key());
    for (int64_t i = 0; i < N * D; ++i) k.r2[i] += k.x1[i];
    if (post_ln) {
      k.out.resize(N * D);
      layernorm_forward(k.out.data(), k.mean2.data(), k.rstd2.data(), k.r2.data(), k.ln2_g->data(),
                        k.ln2_b->data(), N, D, eps);
    } else {
      k.out = k.r2;
    }
    x = k.out.data();
  }
  return x;
}

void TransformerStack::add_layer_gradient(int64_t l, const float* grad) {
  if (l < 0 || l >= config_.layers) throw InputError("transformer: no layer " + std::to_string(l));
  Block& k = blocks_[l];
  const int64_t n = N_ * config_.dim;
  if (k.extra_grad.empty()) k.extra_grad.assign(n, 0.0f);
  for (int64_t i = 0; i < n; ++i) k.extra_grad[i] += grad[i];
}

void TransformerStack::backward(const float* dout, float* din_out) {
  const int64_t D = config_.dim, F = config_.ffn_dim, Hh = config_.heads, B = B_, N = N_;
  const bool post_ln = config_.post_ln;
  FloatBuffer& dx = dx_;
  dx.assign(dout, dout + N * D);
  FloatBuffer &dr2 = ws_[0], &dx1 = ws_[1], &df2 = ws_[2], &dg = ws_[3], &df1 = ws_[4],
              &dffn_in = ws_[5], &dr1 = ws_[6], &dao = ws_[7], &da = ws_[8], &dqkv = ws_[9],
              &dattn_in = ws_[10], &din = ws_[11];
  for (int64_t l = config_.layers - 1; l >= 0; --l) {
    Block& k = blocks_[l];
    // dx is the gradient of the block output.
    if (!k.extra_grad.empty()) {
      for (int64_t i = 0; i < N * D; ++i) dx[i] += k.extra_grad[i];
      k.extra_grad.clear();
    }
    dr2.assign(N * D, 0.0f);
    if (post_ln)
      layernorm_backward(dr2.data(), k.ln2_g->gradient(), k.ln2_b->gradient(), dx.data(),
                         k.r2.data(), k.mean2.data(), k.rstd2.data(), k.ln2_g->data(), N, D);
    else
      dr2 = dx;
    dx1 = dr2;  // residual
    df2.assign(N * D, 0.0f);
    dropout_backward(df2.data(), dr2.data(), k.mask_f.data(), N * D);
    dg.assign(N * F, 0.0f);
    linear_backward(dg.data(), k.W2->gradient(), k.b2->gradient(), df2.data(), k.g.data(),
                    k.W2->data(), N, F, D);
    df1.assign(N * F, 0.0f);
    if (config_.gelu)
      gelu_backward(df1.data(), dg.data(), k.f1.data(), N * F);
    else
      relu_backward(df1.data(), dg.data(), k.f1.data(), N * F);
    dffn_in.assign(N * D, 0.0f);
    const float* ffn_in = post_ln ? k.x1.data() : k.h2.data();
    linear_backward(dffn_in.data(), k.W1->gradient(), k.b1->gradient(), df1.data(), ffn_in,
                    k.W1->data(), N, D, F);
    dr1.assign(N * D, 0.0f);
    if (post_ln) {
      for (int64_t i = 0; i < N * D; ++i) dx1[i] += dffn_in[i];
      layernorm_backward(dr1.data(), k.ln1_g->gradient(), k.ln1_b->gradient(), dx1.data(),
                         k.r1.data(), k.mean1.data(), k.rstd1.data(), k.ln1_g->data(), N, D);
    } else {
      layernorm_backward(dx1.data(), k.ln2_g->gradient(), k.ln2_b->gradient(), dffn_in.data(),
                         k.x1.data(), k.mean2.data(), k.rstd2.data(), k.ln2_g->data(), N, D);
      dr1 = dx1;
    }
    din = dr1;  // residual to the block input
    dao.assign(N * D, 0.0f);
    dropout_backward(dao.data(), dr1.data(), k.mask_a.data(), N * D);
    da.assign(N * D, 0.0f);
    linear_backward(da.data(), k.W_o->gradient(), k.b_o->gradient(), dao.data(), k.a.data(),
                    k.W_o->data(), N, D, D);
    dqkv.assign(N * 3 * D, 0.0f);
    attention_backward_packed(dqkv.data(), da.data(), k.qkv.data(), k.att.data(), offsets_.data(),
                              B, D, Hh);
    dattn_in.assign(N * D, 0.0f);
    const float* attn_in = post_ln ? k.in.data() : k.h1.data();
    linear_backward(dattn_in.data(), k.W_qkv->gradient(), k.b_qkv->gradient(), dqkv.data(), attn_in,
                    k.W_qkv->data(), N, D, 3 * D);
    if (post_ln) {
      for (int64_t i = 0; i < N * D; ++i) din[i] += dattn_in[i];
    } else {
      layernorm_backward(din.data(), k.ln1_g->gradient(), k.ln1_b->gradient(), dattn_in.data(),
                         k.in.data(), k.mean1.data(), k.rstd1.data(), k.ln1_g->data(), N, D);
    }
    dx = din;
  }
  std::copy_n(dx.data(), N * D, din_out);
}

}  // namespace sessrec::nn
