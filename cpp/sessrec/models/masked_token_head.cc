#include "sessrec/models/masked_token_head.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/loss/softmax_cross_entropy.h"
#include "sessrec/nn/activation.h"
#include "sessrec/nn/layernorm.h"
#include "sessrec/nn/linear.h"

namespace sessrec {

MaskedTokenHead::MaskedTokenHead(int64_t dim, int64_t vocab_size, float ln_eps,
                                 nn::ParameterSet& params, std::mt19937_64& rng)
    : D_(dim), V_(vocab_size), eps_(ln_eps) {
  W_ = &params.add("mlm.transform.weight", dim, dim);
  b_ = &params.add("mlm.transform.bias", 1, dim);
  ln_g_ = &params.add("mlm.ln.weight", 1, dim);
  ln_b_ = &params.add("mlm.ln.bias", 1, dim);
  bias_ = &params.add("mlm.decoder.bias", 1, vocab_size);
  nn::init_normal(*W_, 0.02f, rng);
  nn::init_constant(*ln_g_, 1.0f);
}

float MaskedTokenHead::forward_backward(const float* tokens, int64_t N, const int64_t* rows,
                                        const int32_t* labels, int64_t M, nn::Parameter& embedding,
                                        float* dtokens) {
  const int64_t D = D_, V = V_, Dx = D + 1;
  if (embedding.rows != V || embedding.cols != D)
    throw InputError("masked-token head: the tied embedding must be [vocab, dim]");
  if (dtokens != nullptr) std::fill(dtokens, dtokens + N * D, 0.0f);
  if (M == 0) return 0.0f;
  z_.resize(M * D);
  for (int64_t m = 0; m < M; ++m) {
    if (rows[m] < 0 || rows[m] >= N)
      throw InputError("masked-token head: row " + std::to_string(rows[m]) + " outside the " +
                       std::to_string(N) + " tokens");
    if (labels[m] < 0 || labels[m] >= V)
      throw InputError("masked-token head: label " + std::to_string(labels[m]) +
                       " outside the vocabulary");
    std::copy_n(tokens + rows[m] * D, D, z_.data() + m * D);
  }
  a_.resize(M * D);
  g_.resize(M * D);
  h_.resize(M * D);
  mean_.resize(M);
  rstd_.resize(M);
  nn::linear_forward(a_.data(), z_.data(), W_->data(), b_->data(), M, D, D);
  nn::gelu_forward(g_.data(), a_.data(), M * D);
  nn::layernorm_forward(h_.data(), mean_.data(), rstd_.data(), g_.data(), ln_g_->data(),
                        ln_b_->data(), M, D, eps_);
  // The output bias as one more dimension: [h, 1] . [E, c] = h E^T + c.
  hx_.resize(M * Dx);
  ex_.resize(V * Dx);
  for (int64_t m = 0; m < M; ++m) {
    std::copy_n(h_.data() + m * D, D, hx_.data() + m * Dx);
    hx_[m * Dx + D] = 1.0f;
  }
  for (int64_t v = 0; v < V; ++v) {
    std::copy_n(embedding.data() + v * D, D, ex_.data() + v * Dx);
    ex_[v * Dx + D] = bias_->value[v];
  }
  if (dtokens == nullptr)
    return loss::softmax_cross_entropy<float>(nullptr, nullptr, hx_.data(), ex_.data(), labels,
                                              nullptr, M, V, Dx);
  dhx_.assign(M * Dx, 0.0f);
  dex_.assign(V * Dx, 0.0f);
  const float loss = loss::softmax_cross_entropy<float>(dhx_.data(), dex_.data(), hx_.data(),
                                                        ex_.data(), labels, nullptr, M, V, Dx);
  float* dE = embedding.gradient();
  for (int64_t v = 0; v < V; ++v) {
    for (int64_t d = 0; d < D; ++d) dE[v * D + d] += dex_[v * Dx + d];
    bias_->grad[v] += dex_[v * Dx + D];
  }
  embedding.touch_all();
  dh_.resize(M * D);
  for (int64_t m = 0; m < M; ++m) std::copy_n(dhx_.data() + m * Dx, D, dh_.data() + m * D);
  dg_.assign(M * D, 0.0f);
  nn::layernorm_backward(dg_.data(), ln_g_->gradient(), ln_b_->gradient(), dh_.data(), g_.data(),
                         mean_.data(), rstd_.data(), ln_g_->data(), M, D);
  da_.assign(M * D, 0.0f);
  nn::gelu_backward(da_.data(), dg_.data(), a_.data(), M * D);
  dz_.assign(M * D, 0.0f);
  nn::linear_backward(dz_.data(), W_->gradient(), b_->gradient(), da_.data(), z_.data(), W_->data(),
                      M, D, D);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t d = 0; d < D; ++d) dtokens[rows[m] * D + d] += dz_[m * D + d];
  return loss;
}

}  // namespace sessrec
