#include "sessrec/models/side_info_gru.h"

#include <algorithm>

#include "sessrec/errors.h"
#include "sessrec/nn/embedding.h"

namespace sessrec {

void SideInfoGRUConfig::validate() const {
  const int64_t F = static_cast<int64_t>(field_names.size());
  if (static_cast<int64_t>(field_sizes.size()) != F)
    throw InputError("SideInfoGRU: " + std::to_string(field_names.size()) + " field names but " +
                     std::to_string(field_sizes.size()) + " field sizes");
  for (int64_t f = 0; f < F; ++f) {
    if (field_names[f].empty())
      throw InputError("SideInfoGRU: side field " + std::to_string(f) + " has an empty name");
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
    : GRU4Rec(GRU4RecConfig{config.base, config.hidden}), residual_(config.residual) {
  config.validate();
  item_codes_ = std::move(config.item_codes);
  const int64_t D = config_.dim;
  for (size_t f = 0; f < config.field_names.size(); ++f)
    side_.push_back(
        &params_.add("side_embedding." + config.field_names[f], config.field_sizes[f], D, true));
  // GRU4Rec drew its weights from stream 1; the side tables come from their own stream, so that
  // without side fields the model starts from GRU4Rec's weights. Row 0 (missing) is learned.
  auto rng = derived_rng(config_.seed, 2, 0);
  for (auto* table : side_) nn::init_normal(*table, 0.02f, rng);
}

void SideInfoGRU::input_forward(const SequenceBatch& batch, float* x) {
  const int64_t N = batch.B * batch.T, D = config_.dim, F = num_fields();
  nn::embedding_forward(x, batch.input.data(), item_embedding_->data(), N, D);
  if (F == 0) return;
  const float scale = 1.0f / float(1 + F);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const int32_t id = batch.input[n];
    if (id == 0) continue;  // padding stays zero
    float* row = x + n * D;
    const int32_t* codes = item_codes_.data() + int64_t(id - 1) * F;
    for (int64_t f = 0; f < F; ++f) {
      const float* s = side_[f]->data() + int64_t(codes[f]) * D;
      for (int64_t d = 0; d < D; ++d) row[d] += s[d];
    }
    for (int64_t d = 0; d < D; ++d) row[d] *= scale;
  }
}

// dx: the gradient of the fused vectors through the GRU; the residual's share is in dfused_.
void SideInfoGRU::input_backward(const SequenceBatch& batch, const float* dx) {
  const int64_t N = batch.B * batch.T, D = config_.dim, F = num_fields();
  if (!residual_) dfused_.assign(N * D, 0.0f);
  // The mean's 1 / (1 + F) reaches the item row and every side row alike.
  const float scale = 1.0f / float(1 + F);
  for (int64_t i = 0; i < N * D; ++i) dfused_[i] = (dfused_[i] + dx[i]) * scale;
  GRU4Rec::input_backward(batch, dfused_.data());
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

void SideInfoGRU::forward(const SequenceBatch& batch, bool training, uint64_t step) {
  GRU4Rec::forward(batch, training, step);
  if (!residual_) return;
  // out[b, t] += (sum of fused[b, s], valid s <= t) / count, a running sum per row.
  const int64_t B = batch.B, T = batch.T, D = config_.dim;
  const float* fused = inputs();
  float* out = writable_output();
  inverse_count_.assign(B * T, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    std::vector<float> sum(D, 0.0f);
    int64_t count = 0;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t n = b * T + t;
      if (!batch.valid[n]) continue;
      ++count;
      for (int64_t d = 0; d < D; ++d) sum[d] += fused[n * D + d];
      inverse_count_[n] = 1.0f / float(count);
      for (int64_t d = 0; d < D; ++d) out[n * D + d] += sum[d] * inverse_count_[n];
    }
  }
}

void SideInfoGRU::backward(const SequenceBatch& batch, const float* dout) {
  const int64_t B = batch.B, T = batch.T, D = config_.dim;
  if (residual_) {
    // dfused[b, s] = sum over valid t >= s of dout[b, t] / count(t): a reverse running sum,
    // added to the GRU path's gradient in input_backward.
    dfused_.assign(B * T * D, 0.0f);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> sum(D, 0.0f);
      for (int64_t t = T - 1; t >= 0; --t) {
        const int64_t n = b * T + t;
        if (!batch.valid[n]) continue;
        for (int64_t d = 0; d < D; ++d) {
          sum[d] += dout[n * D + d] * inverse_count_[n];
          dfused_[n * D + d] = sum[d];
        }
      }
    }
  }
  GRU4Rec::backward(batch, dout);
}

}  // namespace sessrec
