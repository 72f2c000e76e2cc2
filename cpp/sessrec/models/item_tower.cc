#include "sessrec/models/item_tower.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/layernorm.h"
#include "sessrec/nn/linear.h"

namespace sessrec {

void ItemTowerConfig::validate(int64_t num_items) const {
  if (kind != "id" && kind != "id_ln" && kind != "text" && kind != "sum" && kind != "concat")
    throw InputError("item tower: kind must be id, id_ln, text, sum or concat, got '" + kind + "'");
  if (!(dropout >= 0 && dropout < 1)) throw InputError("item tower: dropout must be in [0, 1)");
  for (int64_t h : hidden)
    if (h <= 0) throw InputError("item tower: hidden sizes must be positive");
  if (!uses_text()) return;
  if (text_source == "features") {
    if (!features || feature_dim <= 0)
      throw InputError("item tower: a text tower needs an item feature matrix");
    if (static_cast<int64_t>(features->size()) != num_items * feature_dim)
      throw InputError("item tower: the feature matrix has " + std::to_string(features->size()) +
                       " values; " + std::to_string(num_items) + " items x " +
                       std::to_string(feature_dim) + " expected");
  } else if (text_source == "subword") {
    if (!token_offsets || !tokens || vocab_size <= 0 || token_dim <= 0)
      throw InputError("item tower: a subword tower needs token offsets, tokens and a vocabulary");
    if (static_cast<int64_t>(token_offsets->size()) != num_items + 1)
      throw InputError("item tower: token offsets cover " +
                       std::to_string(token_offsets->size() - 1) + " items; the catalogue has " +
                       std::to_string(num_items));
    if (token_offsets->front() != 0 ||
        token_offsets->back() != static_cast<int64_t>(tokens->size()) ||
        !std::is_sorted(token_offsets->begin(), token_offsets->end()))
      throw InputError("item tower: token offsets are not a valid CSR index");
    for (int32_t t : *tokens)
      if (t < 0 || t >= vocab_size)
        throw InputError("item tower: token id " + std::to_string(t) +
                         " outside the vocabulary of " + std::to_string(vocab_size));
  } else {
    throw InputError("item tower: text_source must be 'features' or 'subword', got '" +
                     text_source + "'");
  }
}

ItemTower::ItemTower(ItemTowerConfig config, int64_t num_items, int64_t dim, uint64_t seed,
                     nn::ParameterSet& params)
    : config_(std::move(config)), N_(num_items), D_(dim) {
  config_.validate(N_);
  auto rng = derived_rng(seed, 7, 0);
  if (config_.uses_id()) {
    E_ = &params.add("tower.id_embedding", N_, D_, true);
    nn::init_normal(*E_, 0.02f, rng);
    if (config_.kind == "id_ln" || config_.id_layernorm) {
      id_g_ = &params.add("tower.id_ln.weight", 1, D_);
      id_b_ = &params.add("tower.id_ln.bias", 1, D_);
      nn::init_constant(*id_g_, 1.0f);
    }
  }
  if (config_.uses_text()) {
    int64_t in = config_.feature_dim;
    if (config_.text_source == "subword") {
      tok_ = &params.add("tower.token_embedding", config_.vocab_size, config_.token_dim, true);
      nn::init_normal(*tok_, 0.02f, rng);
      in = config_.token_dim;
    }
    dims_ = {in};
    for (int64_t h : config_.hidden) dims_.push_back(h);
    dims_.push_back(D_);
    for (size_t l = 0; l + 1 < dims_.size(); ++l) {
      const std::string p = "tower.text_mlp." + std::to_string(l);
      W_.push_back(&params.add(p + ".weight", dims_[l + 1], dims_[l]));
      b_.push_back(&params.add(p + ".bias", 1, dims_[l + 1]));
      nn::init_xavier_uniform(*W_.back(), rng);
    }
    if (config_.text_layernorm) {
      tx_g_ = &params.add("tower.text_ln.weight", 1, D_);
      tx_b_ = &params.add("tower.text_ln.bias", 1, D_);
      nn::init_constant(*tx_g_, 1.0f);
    }
  }
  if (config_.kind == "concat") {
    Wc_ = &params.add("tower.concat.weight", D_, 2 * D_);
    bc_ = &params.add("tower.concat.bias", 1, D_);
    nn::init_xavier_uniform(*Wc_, rng);
  }
}

void ItemTower::text_forward(bool training, uint64_t step) {
  const int64_t N = N_, D = D_;
  const float* X = nullptr;
  if (tok_ != nullptr) {  // X = mean of each item's token embeddings (zero without tokens)
    const int64_t Dt = config_.token_dim;
    const auto& off = *config_.token_offsets;
    const auto& tok = *config_.tokens;
    X_.assign(N * Dt, 0.0f);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      const int64_t n = off[i + 1] - off[i];
      if (n == 0) continue;
      float* x = X_.data() + i * Dt;
      for (int64_t k = off[i]; k < off[i + 1]; ++k) {
        const float* e = tok_->data() + int64_t(tok[k]) * Dt;
        for (int64_t d = 0; d < Dt; ++d) x[d] += e[d];
      }
      for (int64_t d = 0; d < Dt; ++d) x[d] /= float(n);
    }
    X = X_.data();
  } else {
    X = config_.features->data();
  }
  std::vector<const float*> W, b;
  for (size_t l = 0; l < W_.size(); ++l) {
    W.push_back(W_[l]->data());
    b.push_back(b_[l]->data());
  }
  Y_.resize(N * D);
  nn::mlp_forward(Y_.data(), mlp_, X, W, b, dims_, N, config_.gelu);
  Yd_.resize(N * D);
  mask_.resize(N * D);
  const uint64_t key = mix64(mix64(0x70E3ULL) ^ mix64(step));
  nn::dropout_forward(Yd_.data(), mask_.data(), Y_.data(), N * D, config_.dropout, training, key);
  B_.resize(N * D);
  if (tx_g_ != nullptr) {
    B_mean_.resize(N);
    B_rstd_.resize(N);
    nn::layernorm_forward(B_.data(), B_mean_.data(), B_rstd_.data(), Yd_.data(), tx_g_->data(),
                          tx_b_->data(), N, D);
  } else {
    std::copy(Yd_.begin(), Yd_.end(), B_.begin());
  }
}

void ItemTower::forward(float* table, bool training, uint64_t step) {
  const int64_t N = N_, D = D_;
  std::fill(table, table + D, 0.0f);  // padding row
  float* rows = table + D;
  if (config_.uses_id()) {
    A_.resize(N * D);
    if (id_g_ != nullptr) {
      A_mean_.resize(N);
      A_rstd_.resize(N);
      nn::layernorm_forward(A_.data(), A_mean_.data(), A_rstd_.data(), E_->data(), id_g_->data(),
                            id_b_->data(), N, D);
    } else {
      std::copy(E_->value.begin(), E_->value.end(), A_.begin());
    }
  }
  if (config_.uses_text()) text_forward(training, step);
  const std::string& kind = config_.kind;
  if (kind == "id_ln") {
    std::copy(A_.begin(), A_.end(), rows);
  } else if (kind == "text") {
    std::copy(B_.begin(), B_.end(), rows);
  } else if (kind == "sum") {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N * D; ++i) rows[i] = A_[i] + B_[i];
    if (!training) {
      part_id_.assign(A_.begin(), A_.end());
      part_text_.assign(B_.begin(), B_.end());
    }
  } else {  // concat: rows = [A B] Wc^T + bc
    AB_.resize(N * 2 * D);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      std::copy_n(A_.data() + i * D, D, AB_.data() + i * 2 * D);
      std::copy_n(B_.data() + i * D, D, AB_.data() + i * 2 * D + D);
    }
    nn::linear_forward(rows, AB_.data(), Wc_->data(), bc_->data(), N, 2 * D, D);
    if (!training) {  // A Wc[:, :D]^T + bc/2 and B Wc[:, D:]^T + bc/2
      part_id_.resize(N * D);
      part_text_.resize(N * D);
      nn::MapConstMat<float> Wc(Wc_->data(), D, 2 * D);
      nn::MapMat<float>(part_id_.data(), N, D).noalias() =
          nn::MapConstMat<float>(A_.data(), N, D) * Wc.leftCols(D).transpose();
      nn::MapMat<float>(part_text_.data(), N, D).noalias() =
          nn::MapConstMat<float>(B_.data(), N, D) * Wc.rightCols(D).transpose();
      for (int64_t i = 0; i < N; ++i)
        for (int64_t d = 0; d < D; ++d) {
          part_id_[i * D + d] += 0.5f * bc_->value[d];
          part_text_[i * D + d] += 0.5f * bc_->value[d];
        }
    }
  }
}

void ItemTower::text_backward(const float* dB, const std::vector<int32_t>* touched) {
  const int64_t N = N_, D = D_;
  nn::FloatBuffer &dYd = dYd_, &dY = dY_;
  dYd.assign(N * D, 0.0f);
  dY.assign(N * D, 0.0f);
  if (tx_g_ != nullptr) {
    nn::layernorm_backward(dYd.data(), tx_g_->gradient(), tx_b_->gradient(), dB, Yd_.data(),
                           B_mean_.data(), B_rstd_.data(), tx_g_->data(), N, D);
  } else {
    std::copy(dB, dB + N * D, dYd.begin());
  }
  nn::dropout_backward(dY.data(), dYd.data(), mask_.data(), N * D);
  std::vector<const float*> W;
  std::vector<float*> dW, db;
  for (size_t l = 0; l < W_.size(); ++l) {
    W.push_back(W_[l]->data());
    dW.push_back(W_[l]->gradient());
    db.push_back(b_[l]->gradient());
  }
  if (tok_ == nullptr) {
    nn::mlp_backward<float>(nullptr, dW, db, dY.data(), mlp_, config_.features->data(), W, dims_, N,
                            config_.gelu);
    return;
  }
  const int64_t Dt = config_.token_dim;
  nn::FloatBuffer& dX = dX_;
  dX.assign(N * Dt, 0.0f);
  nn::mlp_backward<float>(dX.data(), dW, db, dY.data(), mlp_, X_.data(), W, dims_, N, config_.gelu);
  // Scatter to the token rows (serial: tokens repeat across items).
  const auto& off = *config_.token_offsets;
  const auto& tok = *config_.tokens;
  auto scatter = [&](int64_t i) {
    const int64_t n = off[i + 1] - off[i];
    if (n == 0) return;
    const float* dx = dX.data() + i * Dt;
    for (int64_t k = off[i]; k < off[i + 1]; ++k) {
      float* g = tok_->gradient() + int64_t(tok[k]) * Dt;
      for (int64_t d = 0; d < Dt; ++d) g[d] += dx[d] / float(n);
      tok_->touch_row(tok[k]);
    }
  };
  if (touched == nullptr) {
    for (int64_t i = 0; i < N; ++i) scatter(i);
  } else {
    for (int32_t row : *touched)
      if (row > 0) scatter(row - 1);
  }
}

void ItemTower::backward(const float* dtable, const std::vector<int32_t>* touched) {
  const int64_t N = N_, D = D_;
  const float* drows = dtable + D;  // row 0 is padding: no gradient flows from it
  nn::FloatBuffer &dA = dA_, &dB = dB_;
  const std::string& kind = config_.kind;
  if (kind == "concat") {
    nn::FloatBuffer& dAB = dAB_;
    dAB.assign(N * 2 * D, 0.0f);
    nn::linear_backward(dAB.data(), Wc_->gradient(), bc_->gradient(), drows, AB_.data(),
                        Wc_->data(), N, 2 * D, D);
    dA.resize(N * D);
    dB.resize(N * D);
    for (int64_t i = 0; i < N; ++i) {
      std::copy_n(dAB.data() + i * 2 * D, D, dA.data() + i * D);
      std::copy_n(dAB.data() + i * 2 * D + D, D, dB.data() + i * D);
    }
  } else {
    if (config_.uses_id()) dA.assign(drows, drows + N * D);
    if (config_.uses_text()) dB.assign(drows, drows + N * D);
  }
  if (config_.uses_id()) {
    if (id_g_ != nullptr) {
      nn::layernorm_backward(E_->gradient(), id_g_->gradient(), id_b_->gradient(), dA.data(),
                             E_->data(), A_mean_.data(), A_rstd_.data(), id_g_->data(), N, D);
    } else {
      for (int64_t i = 0; i < N * D; ++i) E_->grad[i] += dA[i];
    }
    if (touched == nullptr) {
      E_->touch_all();
    } else {
      for (int32_t row : *touched)
        if (row > 0) E_->touch_row(row - 1);
    }
  }
  if (config_.uses_text()) text_backward(dB.data(), touched);
}

const float* ItemTower::part(int which) const {
  if (!has_parts()) throw InputError("item tower: only sum and concat towers have parts");
  if (which != 0 && which != 1) throw InputError("item tower: part must be 0 (ID) or 1 (text)");
  return which == 0 ? part_id_.data() : part_text_.data();
}

}  // namespace sessrec
