#include "sessrec/nn/transformer.h"

#include <algorithm>

#include "sessrec/errors.h"
#include "sessrec/nn/activation.h"
#include "sessrec/nn/attention.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/layernorm.h"
#include "sessrec/nn/linear.h"

namespace sessrec::nn {

namespace {

void add_in_place(float* y, const float* x, int64_t n) {
  KernelTimer timer(Kernel::Elementwise);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace

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

// Buffers are written, never zero-filled then accumulated into; dropout sites that are inactive
// (p == 0 or evaluation) keep no mask, and residual connections are fused into the products
// (linear_forward_residual) or into the backward products (beta = 1), so a step moves no more
// memory than its kernels need.
const float* TransformerStack::forward(const float* x, const int64_t* offsets, int64_t B,
                                       bool training, const std::function<uint64_t()>& key) {
  const int64_t D = config_.dim, F = config_.ffn_dim, Hh = config_.heads;
  const bool post_ln = config_.post_ln;
  const float p = config_.dropout, eps = config_.ln_eps;
  offsets_.assign(offsets, offsets + B + 1);
  B_ = B;
  const int64_t N = N_ = offsets_[B];
  dropout_on_ = training && p > 0.0f;
  for (size_t l = 0; l < blocks_.size(); ++l) {
    Block& k = blocks_[l];
    k.extra_grad.clear();
    if (l == 0) {  // the caller's buffer may change before backward: keep a copy
      k.in.assign(x, x + N * D);
      k.in_ptr = k.in.data();
    } else {
      k.in_ptr = x;  // the previous block's output, kept until the next forward
    }
    const float* in = k.in_ptr;
    const float* attn_in = in;
    if (!post_ln) {
      k.h1.resize(N * D);
      k.mean1.resize(N);
      k.rstd1.resize(N);
      layernorm_forward(k.h1.data(), k.mean1.data(), k.rstd1.data(), in, k.ln1_g->data(),
                        k.ln1_b->data(), N, D, eps);
      attn_in = k.h1.data();
    }
    k.qkv.resize(N * 3 * D);
    k.att.resize(packed_attention_size(offsets_.data(), B, Hh));
    k.a.resize(N * D);
    k.r1.resize(N * D);
    linear_forward(k.qkv.data(), attn_in, k.W_qkv->data(), k.b_qkv->data(), N, D, 3 * D);
    attention_forward_packed(k.a.data(), k.att.data(), k.qkv.data(), offsets_.data(), B, D, Hh,
                             config_.causal);
    // r1 = in + Dropout(a W_o^T + b_o)
    if (dropout_on_) {
      k.ao.resize(N * D);
      k.mask_a.resize(N * D);
      linear_forward(k.ao.data(), k.a.data(), k.W_o->data(), k.b_o->data(), N, D, D);
      dropout_forward(k.r1.data(), k.mask_a.data(), k.ao.data(), N * D, p, true, key());
      add_in_place(k.r1.data(), in, N * D);
    } else {
      key();  // the dropout site still takes its key, so later sites keep theirs
      linear_forward_residual(k.r1.data(), k.a.data(), k.W_o->data(), k.b_o->data(), in, N, D, D);
    }
    const float* ffn_in;
    const float* x1;  // the FFN's residual input
    k.mean2.resize(N);
    k.rstd2.resize(N);
    if (post_ln) {
      k.x1.resize(N * D);
      k.mean1.resize(N);
      k.rstd1.resize(N);
      layernorm_forward(k.x1.data(), k.mean1.data(), k.rstd1.data(), k.r1.data(), k.ln1_g->data(),
                        k.ln1_b->data(), N, D, eps);
      ffn_in = x1 = k.x1.data();
    } else {
      x1 = k.r1.data();
      k.h2.resize(N * D);
      layernorm_forward(k.h2.data(), k.mean2.data(), k.rstd2.data(), x1, k.ln2_g->data(),
                        k.ln2_b->data(), N, D, eps);
      ffn_in = k.h2.data();
    }
    k.f1.resize(N * F);
    k.g.resize(N * F);
    k.r2.resize(N * D);
    linear_forward(k.f1.data(), ffn_in, k.W1->data(), static_cast<const float*>(nullptr), N, D, F);
    bias_activation_forward(k.g.data(), k.f1.data(), k.b1->data(), N, F, config_.gelu);
    // r2 = x1 + Dropout(g W2^T + b2)
    if (dropout_on_) {
      k.f2.resize(N * D);
      k.mask_f.resize(N * D);
      linear_forward(k.f2.data(), k.g.data(), k.W2->data(), k.b2->data(), N, F, D);
      dropout_forward(k.r2.data(), k.mask_f.data(), k.f2.data(), N * D, p, true, key());
      add_in_place(k.r2.data(), x1, N * D);
    } else {
      key();
      linear_forward_residual(k.r2.data(), k.g.data(), k.W2->data(), k.b2->data(), x1, N, F, D);
    }
    if (post_ln) {
      k.out.resize(N * D);
      layernorm_forward(k.out.data(), k.mean2.data(), k.rstd2.data(), k.r2.data(), k.ln2_g->data(),
                        k.ln2_b->data(), N, D, eps);
      x = k.out.data();
    } else {
      x = k.r2.data();  // pre-LN: the block's output is its second residual sum
    }
  }
  return x;
}

const float* TransformerStack::layer_output(int64_t l) const {
  return config_.post_ln ? blocks_[l].out.data() : blocks_[l].r2.data();
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
  // dx: the gradient of the current block's output, then (in place) of its input.
  FloatBuffer& dx = dx_;
  dx.assign(dout, dout + N * D);
  FloatBuffer &t = ws_[0], &dg = ws_[1], &da = ws_[2], &dqkv = ws_[3], &dmasked = ws_[4];
  t.resize(N * D);
  dg.resize(N * F);
  da.resize(N * D);
  dqkv.resize(N * 3 * D);
  if (dropout_on_) dmasked.resize(N * D);
  // d (output of a dropout site) -> d (its input): the mask product, or the same buffer.
  auto through_dropout = [&](const float* grad, const FloatBuffer& mask) -> const float* {
    if (!dropout_on_) return grad;
    std::fill(dmasked.begin(), dmasked.end(), 0.0f);
    dropout_backward(dmasked.data(), grad, mask.data(), N * D);
    return dmasked.data();
  };
  for (int64_t l = config_.layers - 1; l >= 0; --l) {
    Block& k = blocks_[l];
    if (!k.extra_grad.empty()) {
      add_in_place(dx.data(), k.extra_grad.data(), N * D);
      k.extra_grad.clear();
    }
    // FFN half. dr2: gradient of r2 = x1 + Dropout(FFN(ffn_in)).
    float* dr2 = dx.data();
    if (post_ln) {
      layernorm_backward(t.data(), k.ln2_g->gradient(), k.ln2_b->gradient(), dx.data(),
                         k.r2.data(), k.mean2.data(), k.rstd2.data(), k.ln2_g->data(), N, D,
                         /*accumulate_din=*/false);
      dr2 = t.data();
    }
    const float* df2 = through_dropout(dr2, k.mask_f);
    linear_backward(dg.data(), k.W2->gradient(), k.b2->gradient(), df2, k.g.data(), k.W2->data(),
                    N, F, D, /*accumulate_din=*/false);
    if (config_.gelu)
      gelu_backward(dg.data(), dg.data(), k.f1.data(), N * F, /*accumulate=*/false);
    else
      relu_backward(dg.data(), dg.data(), k.f1.data(), N * F, /*accumulate=*/false);
    // dx1 = dr2 (residual) + d ffn_in; both land in dr2's buffer (df2 is no longer needed).
    if (post_ln) {
      linear_backward(dr2, k.W1->gradient(), k.b1->gradient(), dg.data(), k.x1.data(),
                      k.W1->data(), N, D, F);
    } else {
      linear_backward(da.data(), k.W1->gradient(), k.b1->gradient(), dg.data(), k.h2.data(),
                      k.W1->data(), N, D, F, /*accumulate_din=*/false);
      layernorm_backward(dr2, k.ln2_g->gradient(), k.ln2_b->gradient(), da.data(), k.r1.data(),
                         k.mean2.data(), k.rstd2.data(), k.ln2_g->data(), N, D);
    }
    // Attention half. dr1: gradient of r1 = in + Dropout(Attn(attn_in)), into dx's buffer.
    float* dr1 = dx.data();
    if (post_ln)
      layernorm_backward(dr1, k.ln1_g->gradient(), k.ln1_b->gradient(), dr2, k.r1.data(),
                         k.mean1.data(), k.rstd1.data(), k.ln1_g->data(), N, D,
                         /*accumulate_din=*/false);
    const float* dao = through_dropout(dr1, k.mask_a);
    linear_backward(da.data(), k.W_o->gradient(), k.b_o->gradient(), dao, k.a.data(),
                    k.W_o->data(), N, D, D, /*accumulate_din=*/false);
    attention_backward_packed(dqkv.data(), da.data(), k.qkv.data(), k.att.data(), offsets_.data(),
                              B, D, Hh, /*accumulate=*/false);
    // d in = dr1 (residual) + d attn_in, in dx's buffer.
    if (post_ln) {
      linear_backward(dr1, k.W_qkv->gradient(), k.b_qkv->gradient(), dqkv.data(), k.in_ptr,
                      k.W_qkv->data(), N, D, 3 * D);
    } else {
      linear_backward(t.data(), k.W_qkv->gradient(), k.b_qkv->gradient(), dqkv.data(),
                      k.h1.data(), k.W_qkv->data(), N, D, 3 * D, /*accumulate_din=*/false);
      layernorm_backward(dr1, k.ln1_g->gradient(), k.ln1_b->gradient(), t.data(), k.in_ptr,
                         k.mean1.data(), k.rstd1.data(), k.ln1_g->data(), N, D);
    }
  }
  std::copy_n(dx.data(), N * D, din_out);
}

}  // namespace sessrec::nn
