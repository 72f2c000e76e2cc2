#include "sessrec/models/text_encoder.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/l2_normalize.h"
#include "sessrec/nn/layernorm.h"
#include "sessrec/nn/positional.h"
#include "sessrec/random.h"

namespace sessrec {

void TextEncoderConfig::validate() const {
  if (vocab_size <= 0) throw InputError("text encoder: vocab_size must be positive");
  if (max_tokens <= 0) throw InputError("text encoder: max_tokens must be positive");
  blocks.validate("text encoder");
  if (blocks.causal) throw InputError("text encoder: the blocks are bidirectional (causal=false)");
  if (positions != "learned" && positions != "sinusoidal")
    throw InputError("text encoder: positions must be 'learned' or 'sinusoidal', got '" +
                     positions + "'");
  if (pooling != "cls" && pooling != "mean")
    throw InputError("text encoder: pooling must be 'cls' or 'mean', got '" + pooling + "'");
  if (pool_layer < -1 || pool_layer >= blocks.layers)
    throw InputError("text encoder: pool_layer must be -1 or a block in [0, " +
                     std::to_string(blocks.layers) + ")");
}

TextEncoder::TextEncoder(TextEncoderConfig config) : config_(std::move(config)) {
  config_.validate();
  const int64_t D = config_.blocks.dim;
  tok_ = &params_.add("token_embedding", config_.vocab_size, D, true);
  if (config_.positions == "learned") {
    pos_ = &params_.add("position_embedding", config_.max_tokens, D);
  } else {
    sinusoids_.resize(config_.max_tokens * D);
    nn::sinusoidal_table(sinusoids_.data(), config_.max_tokens, D);
  }
  const std::string ln = config_.blocks.post_ln ? "embedding_ln" : "final_ln";
  ln_g_ = &params_.add(ln + ".weight", 1, D);
  ln_b_ = &params_.add(ln + ".bias", 1, D);
  auto rng = derived_rng(config_.seed, 11, 0);
  nn::init_normal(*tok_, 0.02f, rng);
  if (pos_ != nullptr) nn::init_normal(*pos_, 0.02f, rng);
  nn::init_constant(*ln_g_, 1.0f);
  stack_ = std::make_unique<nn::TransformerStack>(config_.blocks, params_, "layers.", rng);
  if (config_.mlm_head)
    mlm_ = std::make_unique<MaskedTokenHead>(D, config_.vocab_size, config_.blocks.ln_eps, params_,
                                             rng);
}

float TextEncoder::masked_token_loss(const int64_t* rows, const int32_t* labels, int64_t M,
                                     float* dtokens) {
  if (!mlm_) throw InputError("text encoder: built without a masked-token head (mlm_head)");
  if (num_tokens() == 0) throw InputError("text encoder: masked_token_loss before forward");
  return mlm_->forward_backward(z_, num_tokens(), rows, labels, M, *tok_, dtokens);
}

bool TextEncoder::pools_last() const {
  return config_.pool_layer < 0 || config_.pool_layer == config_.blocks.layers - 1;
}

void TextEncoder::forward(const int64_t* offsets, const int32_t* ids, int64_t B, bool training,
                          uint64_t step, float* out) {
  const int64_t D = config_.blocks.dim, V = config_.vocab_size;
  if (B <= 0) throw InputError("text encoder: no token lists");
  offsets_.assign(B + 1, 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = offsets[b + 1] - offsets[b];
    if (len <= 0)
      throw InputError("text encoder: token list " + std::to_string(b) +
                       (len == 0 ? " is empty" : " has a negative length (offsets decrease)"));
    offsets_[b + 1] = offsets_[b] + std::min(len, config_.max_tokens);
  }
  const int64_t N = offsets_[B];
  ids_.resize(N);
  positions_.resize(N);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < offsets_[b + 1] - offsets_[b]; ++t) {
      const int32_t id = ids[offsets[b] + t];
      if (id < 0 || id >= V)
        throw InputError("text encoder: token " + std::to_string(id) + " of list " +
                         std::to_string(b) + " is outside the vocabulary of " + std::to_string(V));
      ids_[offsets_[b] + t] = id;
      positions_[offsets_[b] + t] = static_cast<int32_t>(t);
    }
  B_ = B;
  const float* position_table = pos_ != nullptr ? pos_->data() : sinusoids_.data();
  x0_.resize(N * D);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < N; ++r) {
    const float* e = tok_->data() + int64_t(ids_[r]) * D;
    const float* p = position_table + int64_t(positions_[r]) * D;
    for (int64_t d = 0; d < D; ++d) x0_[r * D + d] = e[d] + p[d];
  }
  uint64_t site = 0;
  auto key = [&] { return mix64(mix64(config_.seed ^ 0x7E47ULL) ^ mix64(step * 64 + site++)); };
  const float p = config_.blocks.dropout, eps = config_.blocks.ln_eps;
  const float* x_in = x0_.data();
  mean0_.resize(N);
  rstd0_.resize(N);
  if (config_.blocks.post_ln) {
    e_.resize(N * D);
    nn::layernorm_forward(e_.data(), mean0_.data(), rstd0_.data(), x0_.data(), ln_g_->data(),
                          ln_b_->data(), N, D, eps);
    x_in = e_.data();
  }
  x_.resize(N * D);
  mask0_.resize(N * D);
  nn::dropout_forward(x_.data(), mask0_.data(), x_in, N * D, p, training, key());
  const float* last = stack_->forward(x_.data(), offsets_.data(), B, training, key);
  z_ = last;
  if (!config_.blocks.post_ln) {
    final_.resize(N * D);
    nn::layernorm_forward(final_.data(), mean0_.data(), rstd0_.data(), last, ln_g_->data(),
                          ln_b_->data(), N, D, eps);
    z_ = final_.data();
  }
  const float* S = pools_last() ? z_ : stack_->layer_output(config_.pool_layer);
  const bool mean = config_.pooling == "mean";
  pooled_.resize(B * D);
  norms_.resize(B);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    float* o = pooled_.data() + b * D;
    const int64_t first = offsets_[b], count = offsets_[b + 1] - first;
    if (!mean) {
      std::copy_n(S + first * D, D, o);
    } else {
      std::fill(o, o + D, 0.0f);
      for (int64_t r = first; r < first + count; ++r)
        for (int64_t d = 0; d < D; ++d) o[d] += S[r * D + d];
      for (int64_t d = 0; d < D; ++d) o[d] /= float(count);
    }
  }
  out_.resize(B * D);
  if (config_.normalize)
    nn::l2_normalize_rows_forward(out_.data(), norms_.data(), pooled_.data(), B, D);
  else
    out_ = pooled_;
  std::copy(out_.begin(), out_.end(), out);
}

void TextEncoder::backward(const float* dout, const float* dtokens) {
  const int64_t D = config_.blocks.dim, B = B_, N = num_tokens();
  if (N == 0) throw InputError("text encoder: backward before forward");
  // Through the L2 normalisation (nn/l2_normalize.h), then the pooling.
  if (config_.normalize) {
    dpool_.assign(B * D, 0.0f);
    nn::l2_normalize_rows_backward(dpool_.data(), dout, out_.data(), norms_.data(), B, D);
  } else {
    dpool_.assign(dout, dout + B * D);
  }
  // Through the pooling, into the pooled layer's token rows.
  nn::FloatBuffer& dS = dz_;
  dS.assign(N * D, 0.0f);
  const bool mean = config_.pooling == "mean";
  for (int64_t b = 0; b < B; ++b) {
    const int64_t first = offsets_[b], count = offsets_[b + 1] - first;
    const float* dp = dpool_.data() + b * D;
    if (!mean) {
      std::copy_n(dp, D, dS.data() + first * D);
    } else {
      for (int64_t r = first; r < first + count; ++r)
        for (int64_t d = 0; d < D; ++d) dS[r * D + d] = dp[d] / float(count);
    }
  }
  if (!pools_last()) {
    stack_->add_layer_gradient(config_.pool_layer, dS.data());
    std::fill(dS.begin(), dS.end(), 0.0f);
  }
  if (dtokens != nullptr)
    for (int64_t i = 0; i < N * D; ++i) dS[i] += dtokens[i];
  nn::FloatBuffer& dlast = dlast_;
  if (config_.blocks.post_ln) {
    dlast = dS;
  } else {
    dlast.assign(N * D, 0.0f);
    nn::layernorm_backward(dlast.data(), ln_g_->gradient(), ln_b_->gradient(), dS.data(),
                           stack_->layer_output(config_.blocks.layers - 1), mean0_.data(),
                           rstd0_.data(), ln_g_->data(), N, D);
  }
  dx_.resize(N * D);
  stack_->backward(dlast.data(), dx_.data());
  de_.assign(N * D, 0.0f);
  nn::dropout_backward(de_.data(), dx_.data(), mask0_.data(), N * D);
  const float* dx0 = de_.data();
  if (config_.blocks.post_ln) {
    dx0_.assign(N * D, 0.0f);
    nn::layernorm_backward(dx0_.data(), ln_g_->gradient(), ln_b_->gradient(), de_.data(),
                           x0_.data(), mean0_.data(), rstd0_.data(), ln_g_->data(), N, D);
    dx0 = dx0_.data();
  }
  for (int64_t r = 0; r < N; ++r) {  // serial: token rows repeat
    float* g = tok_->gradient() + int64_t(ids_[r]) * D;
    for (int64_t d = 0; d < D; ++d) g[d] += dx0[r * D + d];
    tok_->touch_row(ids_[r]);
  }
  if (pos_ != nullptr)
    for (int64_t r = 0; r < N; ++r) {
      float* g = pos_->gradient() + int64_t(positions_[r]) * D;
      for (int64_t d = 0; d < D; ++d) g[d] += dx0[r * D + d];
    }
}

}  // namespace sessrec
