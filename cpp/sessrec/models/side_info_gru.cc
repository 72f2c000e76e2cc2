#include "sessrec/models/side_info_gru.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/embedding.h"
#include "sessrec/nn/gru.h"
#include "sessrec/nn/linear.h"

namespace sessrec {

void SideInfoGRUConfig::validate() const {
  if (hidden <= 0) throw InputError("SideInfoGRU: hidden must be positive");
  const int64_t F = static_cast<int64_t>(field_names.size());
  if (static_cast<int64_t>(field_sizes.size()) != F)
    throw InputError("SideInfoGRU: " + std::to_string(field_names.size()) + " field names but " +
                     std::to_string(field_sizes.size()) + " field sizes");
  for (int64_t f = 0; f < F; ++f) {
    if (field_names[f].empty()) throw InputError("SideInfoGRU: side field " + std::to_string(f) +
                                                 " has an empty name");
    for (int64_t g = 0; g < f; ++g)
      if (field_names[g] == field_names[f])
        throw InputError("SideInfoGRU: side field '" + field_names[f] + "' is given twice");
    if (field_sizes[f] < 1)
      throw InputError("SideInfoGRU: side field '" + field_names[f] +
                       "' needs at least one row (row 0 is the missing value)");
  }
  const int64_t N = base.num_items;
  if (static_cast<int64_t>(item_codes.size()) != N * F)
    throw InputError("SideInfoGRU: item_codes has " + std::to_string(item_codes.size()) +
                     " entries; " + std::to_string(N) + " items x " + std::to_string(F) +
                     " fields need " + std::to_string(N * F));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t f = 0; f < F; ++f) {
      const int32_t code = item_codes[i * F + f];
      if (code < 0 || code >= field_sizes[f])
        throw InputError("SideInfoGRU: side field '" + field_names[f] + "' of item " +
                         std::to_string(i) + " has code " + std::to_string(code) +
                         ", outside its table of " + std::to_string(field_sizes[f]) + " rows");
    }
}

SideInfoGRU::SideInfoGRU(SideInfoGRUConfig config)
    : SequenceModel(config.base), hidden_(config.hidden), residual_(config.residual) {
  config.validate();
  item_codes_ = std::move(config.item_codes);
  const int64_t D = config_.dim, H = hidden_;
  W_ih_ = &params_.add("gru.weight_ih", 3 * H, D);
  b_ih_ = &params_.add("gru.bias_ih", 1, 3 * H);
  W_hh_ = &params_.add("gru.weight_hh", 3 * H, H);
  b_hh_ = &params_.add("gru.bias_hh", 1, 3 * H);
  W_out_ = &params_.add("dense.weight", D, H);
  b_out_ = &params_.add("dense.bias", 1, D);
  for (size_t f = 0; f < config.field_names.size(); ++f)
    side_.push_back(
        &params_.add("side_embedding." + config.field_names[f], config.field_sizes[f], D, true));
  // The same stream and order as GRU4Rec: without side fields the two start from equal weights.
  auto rng = derived_rng(config_.seed, 1, 0);
  nn::init_embedding(*item_embedding_, 0.02f, rng);
  const float bound = 1.0f / std::sqrt(float(H));
  for (auto* p : {W_ih_, b_ih_, W_hh_, b_hh_}) nn::init_uniform(*p, bound, rng);
  nn::init_xavier_uniform(*W_out_, rng);
  nn::init_constant(*b_out_, 0.0f);
  // Side tables from their own stream; row 0 (missing) is a learned row like any other.
  auto side_rng = derived_rng(config_.seed, 2, 0);
  for (auto* table : side_) nn::init_normal(*table, 0.02f, side_rng);
}

void SideInfoGRU::forward(const SequenceBatch& batch, bool training, uint64_t step) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, H = hidden_, N = B * T;
  const int64_t F = num_fields();
  fused_.resize(N * D);
  fused_mask_.resize(N * D);
  fused_drop_.resize(N * D);
  x_proj_.resize(N * 3 * H);
  h_.resize(N * H);
  gates_.resize(N * 3 * H);
  hn_.resize(N * H);
  out_.resize(N * D);
  uint64_t site = 0;  // the dropout key of GRU4Rec: equal masks without side fields
  auto key = [&] { return mix64(mix64(config_.seed ^ 0xD0) ^ mix64(step * 64 + site++)); };
  nn::embedding_forward(fused_.data(), batch.input.data(), item_embedding_->data(), N, D);
  if (F > 0) {
    const float scale = 1.0f / float(1 + F);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      const int32_t id = batch.input[n];
      if (id == 0) continue;  // padding stays zero
      float* row = fused_.data() + n * D;
      const int32_t* codes = item_codes_.data() + int64_t(id - 1) * F;
      for (int64_t f = 0; f < F; ++f) {
        const float* s = side_[f]->data() + int64_t(codes[f]) * D;
        for (int64_t d = 0; d < D; ++d) row[d] += s[d];
      }
      for (int64_t d = 0; d < D; ++d) row[d] *= scale;
    }
  }
  nn::dropout_forward(fused_drop_.data(), fused_mask_.data(), fused_.data(), N * D,
                      config_.dropout, training, key());
  nn::linear_forward(x_proj_.data(), fused_drop_.data(), W_ih_->data(), b_ih_->data(), N, D,
                     3 * H);
  nn::gru_forward(h_.data(), gates_.data(), hn_.data(), x_proj_.data(), W_hh_->data(),
                  b_hh_->data(), B, T, H);
  nn::linear_forward(out_.data(), h_.data(), W_out_->data(), b_out_->data(), N, H, D);
  if (!residual_) return;
  // out[b, t] += (sum of fused[b, s], valid s <= t) / count, a running sum per row.
  inverse_count_.assign(N, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    std::vector<float> sum(D, 0.0f);
    int64_t count = 0;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t n = b * T + t;
      if (!batch.valid[n]) continue;
      ++count;
      const float* x = fused_.data() + n * D;
      for (int64_t d = 0; d < D; ++d) sum[d] += x[d];
      const float inv = 1.0f / float(count);
      inverse_count_[n] = inv;
      float* o = out_.data() + n * D;
      for (int64_t d = 0; d < D; ++d) o[d] += sum[d] * inv;
    }
  }
}

void SideInfoGRU::backward(const SequenceBatch& batch, const float* dout) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim, H = hidden_, N = B * T;
  const int64_t F = num_fields();
  dh_.assign(N * H, 0.0f);
  dx_proj_.assign(N * 3 * H, 0.0f);
  dfused_drop_.assign(N * D, 0.0f);
  dfused_.assign(N * D, 0.0f);
  nn::linear_backward(dh_.data(), W_out_->gradient(), b_out_->gradient(), dout, h_.data(),
                      W_out_->data(), N, H, D);
  nn::gru_backward(dx_proj_.data(), W_hh_->gradient(), b_hh_->gradient(), dh_.data(), h_.data(),
                   gates_.data(), hn_.data(), W_hh_->data(), B, T, H);
  nn::linear_backward(dfused_drop_.data(), W_ih_->gradient(), b_ih_->gradient(), dx_proj_.data(),
                      fused_drop_.data(), W_ih_->data(), N, D, 3 * H);
  nn::dropout_backward(dfused_.data(), dfused_drop_.data(), fused_mask_.data(), N * D);
  if (residual_) {
    // dfused[b, s] += sum over valid t >= s of dout[b, t] / count(t): a reverse running sum.
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> sum(D, 0.0f);
      for (int64_t t = T - 1; t >= 0; --t) {
        const int64_t n = b * T + t;
        if (!batch.valid[n]) continue;
        const float inv = inverse_count_[n];
        const float* g = dout + n * D;
        float* dx = dfused_.data() + n * D;
        for (int64_t d = 0; d < D; ++d) {
          sum[d] += g[d] * inv;
          dx[d] += sum[d];
        }
      }
    }
  }
  if (F > 0) {  // the mean's 1 / (1 + F) reaches the item and every side row alike
    const float scale = 1.0f / float(1 + F);
    for (float& g : dfused_) g *= scale;
  }
  nn::embedding_backward(item_embedding_->gradient(), dfused_.data(), batch.input.data(), N, D);
  for (int64_t n = 0; n < N; ++n)
    if (batch.input[n] != 0) item_embedding_->touch_row(batch.input[n]);
  // Serial over positions, as embedding_backward: rows repeat and the order stays fixed.
  for (int64_t f = 0; f < F; ++f) {
    nn::Parameter& table = *side_[f];
    float* grad = table.gradient();
    for (int64_t n = 0; n < N; ++n) {
      const int32_t id = batch.input[n];
      if (id == 0) continue;
      const int32_t code = item_codes_[int64_t(id - 1) * F + f];
      float* row = grad + int64_t(code) * D;
      const float* g = dfused_.data() + n * D;
      for (int64_t d = 0; d < D; ++d) row[d] += g[d];
      table.touch_row(code);
    }
  }
}

}  // namespace sessrec
