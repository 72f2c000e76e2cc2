#include "sessrec/models/macl.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sessrec/errors.h"
#include "sessrec/loss/adaptive_info_nce.h"
#include "sessrec/nn/linear.h"
#include "sessrec/nn/masked_gated_fusion.h"
#include "sessrec/nn/optimizer.h"

namespace sessrec {

namespace {

void check_finite(const std::vector<float>& values, int64_t cols, const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw InputError("MACL: " + what + " row " + std::to_string(i / cols) + " column " +
                       std::to_string(i % cols) + " is not finite (" + std::to_string(values[i]) +
                       ")");
}

void check_ratio(float value, const std::string& what) {
  if (!(value > 0 && value <= 1)) throw InputError("MACL: " + what + " must be in (0, 1]");
}

void reset_table(nn::Parameter& table, int64_t rows, int64_t cols) {
  table.rows = rows;
  table.cols = cols;
  table.value.assign(rows * cols, 0.0f);
  table.grad.assign(rows * cols, 0.0f);
  table.touched.assign(rows, 0);
  table.touched_rows.clear();
}

}  // namespace

void MACLConfig::validate() const {
  const int64_t N = sasrec.base.num_items;
  if (sasrec.base.tower.kind != "id")
    throw InputError("MACL: items are MACL's own fusion; the encoder's tower must be 'id'");
  if (augmentation != "semantic" && augmentation != "id")
    throw InputError("MACL: augmentation must be 'semantic' or 'id', got '" + augmentation + "'");
  if (image_dim < 0) throw InputError("MACL: image_dim must be >= 0");
  if (has_image()) {
    if (!image || static_cast<int64_t>(image->size()) != N * image_dim)
      throw InputError("MACL: the image features have " +
                       std::to_string(image ? image->size() : 0) + " values; " + std::to_string(N) +
                       " items x " + std::to_string(image_dim) + " expected");
    check_finite(*image, image_dim, "image features");
  }
  if (!image_mask.empty() && static_cast<int64_t>(image_mask.size()) != N)
    throw InputError("MACL: image_mask has " + std::to_string(image_mask.size()) + " entries for " +
                     std::to_string(N) + " items");
  if (!text_mask.empty() && static_cast<int64_t>(text_mask.size()) != N)
    throw InputError("MACL: text_mask has " + std::to_string(text_mask.size()) + " entries for " +
                     std::to_string(N) + " items");
  if (text_source == "features") {
    if (!text || text_dim <= 0 || static_cast<int64_t>(text->size()) != N * text_dim)
      throw InputError("MACL: the text features have " + std::to_string(text ? text->size() : 0) +
                       " values; " + std::to_string(N) + " items x " + std::to_string(text_dim) +
                       " expected");
    check_finite(*text, text_dim, "text features");
  } else if (text_source == "subword") {
    if (!token_offsets || !tokens || vocab_size <= 0 || token_dim <= 0)
      throw InputError("MACL: subword text needs token offsets, tokens and a vocabulary");
    if (static_cast<int64_t>(token_offsets->size()) != N + 1 || token_offsets->front() != 0 ||
        token_offsets->back() != static_cast<int64_t>(tokens->size()) ||
        !std::is_sorted(token_offsets->begin(), token_offsets->end()))
      throw InputError("MACL: token offsets are not a CSR index over " + std::to_string(N) +
                       " items");
    for (int32_t t : *tokens)
      if (t < 0 || t >= vocab_size)
        throw InputError("MACL: token id " + std::to_string(t) + " outside the vocabulary of " +
                         std::to_string(vocab_size));
  } else if (text_source != "none") {
    throw InputError("MACL: text_source must be none, features or subword, got '" + text_source +
                     "'");
  }
  if (augmentation == "semantic" && !has_image() && !has_text())
    throw InputError("MACL: semantic augmentation needs an image or a text modality");
  if (!categories.empty() && static_cast<int64_t>(categories.size()) != N)
    throw InputError("MACL: categories has " + std::to_string(categories.size()) + " entries for " +
                     std::to_string(N) + " items");
  if (!(item_weight >= 0) || !(session_weight >= 0))
    throw InputError("MACL: item_weight and session_weight must be >= 0");
  if (num_negatives < 1) throw InputError("MACL: num_negatives must be >= 1");
  if (!(cl_temperature > 0)) throw InputError("MACL: cl_temperature must be > 0");
  if (weight_hidden < 1) throw InputError("MACL: weight_hidden must be >= 1");
  if (max_item_sets < 2) throw InputError("MACL: max_item_sets must be >= 2");
  if (neighbours < 1) throw InputError("MACL: neighbours must be >= 1");
  check_ratio(token_rate, "token_rate");
  check_ratio(sequence_view.crop_ratio, "crop_ratio");
  check_ratio(sequence_view.mask_ratio, "mask_ratio");
  check_ratio(sequence_view.reorder_ratio, "reorder_ratio");
  check_ratio(feature_view.mix_ratio, "mix_ratio");
  if (!(feature_view.dropout >= 0 && feature_view.dropout < 1))
    throw InputError("MACL: feature dropout must be in [0, 1)");
  if (!(feature_view.noise_std >= 0)) throw InputError("MACL: noise_std must be >= 0");
  if (augmentation == "semantic") {
    if (has_image() && image_ops.empty()) throw InputError("MACL: image_ops is empty");
    if (has_text() && text_ops.empty()) throw InputError("MACL: text_ops is empty");
  } else if (id_ops.empty()) {
    throw InputError("MACL: id_ops is empty");
  }
}

MACL::MACL(MACLConfig config)
    : SASRec(config.sasrec),
      macl_(std::move(config)),
      N_(config_.num_items),
      D_(config_.dim),
      categories_(macl_.categories) {
  macl_.validate();
  const int64_t N = N_, D = D_;
  id_ = item_embedding_;
  auto rng = derived_rng(config_.seed, 13, 0);
  if (macl_.has_image()) {
    img_W_ = &params_.add("macl.image_proj.weight", D, macl_.image_dim);
    img_b_ = &params_.add("macl.image_proj.bias", 1, D);
    nn::init_xavier_uniform(*img_W_, rng);
  }
  if (macl_.has_text()) {
    int64_t in = macl_.text_dim;
    if (macl_.text_source == "subword") {
      tok_ = &params_.add("macl.token_embedding", macl_.vocab_size, macl_.token_dim, true);
      nn::init_normal(*tok_, 0.1f, rng);
      in = macl_.token_dim;
      neighbours_ = token_cooccurrence_neighbours(macl_.token_offsets->data(), macl_.tokens->data(),
                                                  N, macl_.vocab_size, macl_.neighbours);
    }
    txt_W_ = &params_.add("macl.text_proj.weight", D, in);
    txt_b_ = &params_.add("macl.text_proj.bias", 1, D);
    nn::init_xavier_uniform(*txt_W_, rng);
  }
  const int64_t K = int64_t(macl_.has_image()) + int64_t(macl_.has_text());
  const int64_t U = (1 + K) * D + K;
  for (const char* name : {"image", "text"}) {
    if ((std::string(name) == "image" && !macl_.has_image()) ||
        (std::string(name) == "text" && !macl_.has_text()))
      continue;
    gate_W_.push_back(&params_.add(std::string("macl.gate.") + name + ".weight", D, U));
    gate_b_.push_back(&params_.add(std::string("macl.gate.") + name + ".bias", 1, D));
    nn::init_xavier_uniform(*gate_W_.back(), rng);
  }
  if (macl_.adaptive) {
    const int64_t H = macl_.weight_hidden;
    mlp_W1_ = &params_.add("macl.weight_mlp.0.weight", H, 3 * D);
    mlp_b1_ = &params_.add("macl.weight_mlp.0.bias", 1, H);
    mlp_W2_ = &params_.add("macl.weight_mlp.1.weight", 1, H);  // zero: starts at equal weights
    mlp_b2_ = &params_.add("macl.weight_mlp.1.bias", 1, 1);
    nn::init_xavier_uniform(*mlp_W1_, rng);
  }
  for (const auto& op : macl_.image_ops) image_ops_.push_back(feature_op_from_name(op));
  if (macl_.text_source == "subword")
    for (const auto& op : macl_.text_ops) text_ops_.push_back(token_op_from_name(op));
  else if (macl_.text_source == "features")
    text_feature_ops_ = {FeatureOp::kNoise, FeatureOp::kDropout};
  for (const auto& op : macl_.id_ops) id_ops_.push_back(sequence_op_from_name(op));
  ce_ = loss::make_objective(config_.objective, N, config_.seed);
  table_.name = "macl_item_table";
  table_.row_sparse = true;
  reset_table(table_, N + 1, D);
  original_.name = "macl_item_table_original";
  original_.row_sparse = true;
  reset_table(original_, N + 1, D);
  item_embedding_ = &table_;
  orig_rows_.items.resize(N);
  std::iota(orig_rows_.items.begin(), orig_rows_.items.end(), 0);
  prepare_rows(orig_rows_);
}

void MACL::set_item_counts(std::vector<int64_t> counts) {
  SequenceModel::set_item_counts(counts);
  ce_->set_item_counts(counts);
}

void MACL::prepare_rows(ItemRows& rows) const {
  const int64_t R = static_cast<int64_t>(rows.items.size());
  rows.image_mask.assign(R, 1);
  rows.text_mask.assign(R, 1);
  for (int64_t r = 0; r < R; ++r) {
    const int32_t i = rows.items[r];
    if (!macl_.image_mask.empty()) rows.image_mask[r] = macl_.image_mask[i] != 0;
    if (!macl_.text_mask.empty()) rows.text_mask[r] = macl_.text_mask[i] != 0;
    if (macl_.text_source == "subword") {
      const auto& off = rows.token_offsets.empty() ? *macl_.token_offsets : rows.token_offsets;
      const int64_t at = rows.token_offsets.empty() ? i : r;
      if (off[at + 1] == off[at]) rows.text_mask[r] = 0;
    }
  }
}

void MACL::items_forward(ItemRows& rows, float* out) {
  const int64_t R = static_cast<int64_t>(rows.items.size()), D = D_;
  rows.id.resize(R * D);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(id_->data() + (int64_t(rows.items[r]) + 1) * D, D, rows.id.data() + r * D);
  std::vector<const float*> x, W, b;
  std::vector<const uint8_t*> mask;
  if (macl_.has_image()) {
    const float* X = rows.image.empty() ? macl_.image->data() : rows.image.data();
    rows.e_img.resize(R * D);
    nn::linear_forward(rows.e_img.data(), X, img_W_->data(), img_b_->data(), R, macl_.image_dim, D);
    x.push_back(rows.e_img.data());
    mask.push_back(rows.image_mask.data());
  }
  if (macl_.has_text()) {
    const float* X = nullptr;
    int64_t in = macl_.text_dim;
    if (tok_ != nullptr) {
      const int64_t Dt = macl_.token_dim;
      const auto& off = rows.token_offsets.empty() ? *macl_.token_offsets : rows.token_offsets;
      const auto& tok = rows.token_offsets.empty() ? *macl_.tokens : rows.tokens;
      rows.x_txt.assign(R * Dt, 0.0f);
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < R; ++r) {
        const int64_t n = off[r + 1] - off[r];
        if (n == 0) continue;
        float* xr = rows.x_txt.data() + r * Dt;
        for (int64_t k = off[r]; k < off[r + 1]; ++k)
          for (int64_t d = 0; d < Dt; ++d) xr[d] += tok_->value[int64_t(tok[k]) * Dt + d];
        for (int64_t d = 0; d < Dt; ++d) xr[d] /= float(n);
      }
      X = rows.x_txt.data();
      in = Dt;
    } else {
      X = rows.text.empty() ? macl_.text->data() : rows.text.data();
    }
    rows.e_txt.resize(R * D);
    nn::linear_forward(rows.e_txt.data(), X, txt_W_->data(), txt_b_->data(), R, in, D);
    x.push_back(rows.e_txt.data());
    mask.push_back(rows.text_mask.data());
  }
  for (size_t k = 0; k < gate_W_.size(); ++k) {
    W.push_back(gate_W_[k]->data());
    b.push_back(gate_b_[k]->data());
  }
  const int64_t K = static_cast<int64_t>(x.size()), U = (1 + K) * D + K;
  rows.u.resize(R * U);
  rows.g.resize(std::max<int64_t>(K, 1) * R * D);
  nn::masked_gated_fusion_forward(out, rows.u.data(), rows.g.data(), rows.id.data(), x, mask, W, b,
                                  R, D);
}

void MACL::items_backward(ItemRows& rows, const float* dout) {
  const int64_t R = static_cast<int64_t>(rows.items.size()), D = D_;
  std::vector<const float*> x, W;
  std::vector<const uint8_t*> mask;
  std::vector<float*> dW, db;
  nn::FloatBuffer did(R * D, 0.0f), dimg, dtxt;
  std::vector<float*> dx;
  if (macl_.has_image()) {
    dimg.assign(R * D, 0.0f);
    x.push_back(rows.e_img.data());
    mask.push_back(rows.image_mask.data());
    dx.push_back(dimg.data());
  }
  if (macl_.has_text()) {
    dtxt.assign(R * D, 0.0f);
    x.push_back(rows.e_txt.data());
    mask.push_back(rows.text_mask.data());
    dx.push_back(dtxt.data());
  }
  for (size_t k = 0; k < gate_W_.size(); ++k) {
    W.push_back(gate_W_[k]->data());
    dW.push_back(gate_W_[k]->gradient());
    db.push_back(gate_b_[k]->gradient());
  }
  nn::masked_gated_fusion_backward(did.data(), dx, dW, db, dout, rows.u.data(), rows.g.data(), x,
                                   mask, W, R, D);
  for (int64_t r = 0; r < R; ++r) {  // serial: an item may fill several rows
    const int64_t row = int64_t(rows.items[r]) + 1;
    float* g = id_->gradient() + row * D;
    for (int64_t d = 0; d < D; ++d) g[d] += did[r * D + d];
    id_->touch_row(static_cast<int32_t>(row));
  }
  if (macl_.has_image()) {
    const float* X = rows.image.empty() ? macl_.image->data() : rows.image.data();
    nn::linear_backward<float>(nullptr, img_W_->gradient(), img_b_->gradient(), dimg.data(), X,
                               img_W_->data(), R, macl_.image_dim, D);
  }
  if (macl_.has_text()) {
    if (tok_ == nullptr) {
      const float* X = rows.text.empty() ? macl_.text->data() : rows.text.data();
      nn::linear_backward<float>(nullptr, txt_W_->gradient(), txt_b_->gradient(), dtxt.data(), X,
                                 txt_W_->data(), R, macl_.text_dim, D);
    } else {
      const int64_t Dt = macl_.token_dim;
      nn::FloatBuffer dX(R * Dt, 0.0f);
      nn::linear_backward(dX.data(), txt_W_->gradient(), txt_b_->gradient(), dtxt.data(),
                          rows.x_txt.data(), txt_W_->data(), R, Dt, D);
      const auto& off = rows.token_offsets.empty() ? *macl_.token_offsets : rows.token_offsets;
      const auto& tok = rows.token_offsets.empty() ? *macl_.tokens : rows.tokens;
      for (int64_t r = 0; r < R; ++r) {  // serial: tokens repeat across rows
        const int64_t n = off[r + 1] - off[r];
        for (int64_t k = off[r]; k < off[r + 1]; ++k) {
          float* g = tok_->gradient() + int64_t(tok[k]) * Dt;
          for (int64_t d = 0; d < Dt; ++d) g[d] += dX[r * Dt + d] / float(n);
          tok_->touch_row(tok[k]);
        }
      }
    }
  }
}

void MACL::build_views(const SequenceBatch& batch, uint64_t step, SequenceBatch& combined,
                       std::vector<int32_t>& item_sets) {
  const int64_t B = batch.B, T = batch.T, N = N_;
  const bool semantic = macl_.augmentation == "semantic";
  const bool sessions = macl_.session_weight > 0 && B >= 2;
  const bool items = semantic && macl_.item_weight > 0;
  aug_rows_.clear();
  item_sets.clear();
  if (tok_ != nullptr) aug_rows_.token_offsets.push_back(0);
  const uint64_t key = mix64(mix64(config_.seed ^ 0xAC1ULL) ^ mix64(step));
  // One augmented row of item i with the view's ops; returns its row in aug_rows_.
  auto add_row = [&](int32_t item, size_t image_op, size_t text_op, CounterRandom& rng) {
    const int64_t r = static_cast<int64_t>(aug_rows_.items.size());
    aug_rows_.items.push_back(item);
    if (macl_.has_image()) {
      const int64_t F = macl_.image_dim;
      aug_rows_.image.resize((r + 1) * F);
      feature_view(aug_rows_.image.data() + r * F, macl_.image->data(), item, F,
                   image_ops_[image_op], macl_.feature_view, categories_, rng);
    }
    if (tok_ != nullptr) {
      const auto& off = *macl_.token_offsets;
      augment_tokens(aug_rows_.tokens, macl_.tokens->data() + off[item], off[item + 1] - off[item],
                     text_ops_[text_op], macl_.token_rate, neighbours_, rng);
      aug_rows_.token_offsets.push_back(static_cast<int64_t>(aug_rows_.tokens.size()));
    } else if (macl_.text_source == "features") {
      const int64_t F = macl_.text_dim;
      aug_rows_.text.resize((r + 1) * F);
      feature_view(aug_rows_.text.data() + r * F, macl_.text->data(), item, F,
                   text_feature_ops_[text_op % text_feature_ops_.size()], macl_.feature_view,
                   categories_, rng);
    }
    return r;
  };
  const size_t n_image_ops = std::max<size_t>(image_ops_.size(), 1);
  const size_t n_text_ops =
      std::max<size_t>(tok_ != nullptr ? text_ops_.size() : text_feature_ops_.size(), 1);
  combined.clear_to(sessions ? 2 * B : B, T);
  std::copy(batch.input.begin(), batch.input.end(), combined.input.begin());
  std::copy(batch.target.begin(), batch.target.end(), combined.target.begin());
  std::copy(batch.valid.begin(), batch.valid.end(), combined.valid.begin());
  std::copy(batch.last.begin(), batch.last.end(), combined.last.begin());
  if (sessions) {
    for (int64_t b = 0; b < B; ++b) {
      CounterRandom rng{mix64(key ^ mix64(0x5E55ULL + b))};
      const int64_t n = batch.last[b] + 1;
      const int32_t* ids = batch.input.data() + b * T;
      std::vector<int32_t> view;
      if (semantic) {  // one image op and one text op for every item of the session
        const size_t image_op = rng.below(n_image_ops), text_op = rng.below(n_text_ops);
        for (int64_t t = 0; t < n; ++t)
          view.push_back(static_cast<int32_t>(N + 1 + add_row(ids[t] - 1, image_op, text_op, rng)));
      } else {
        view = sequence_view(ids, n, id_ops_[rng.below(id_ops_.size())], macl_.sequence_view, rng);
      }
      const int64_t row = B + b;
      for (size_t t = 0; t < view.size(); ++t) {
        combined.input[row * T + t] = view[t];
        combined.valid[row * T + t] = 1;
      }
      combined.last[row] = static_cast<int64_t>(view.size()) - 1;
    }
  }
  if (items) {  // distinct items of the batch, at most max_item_sets of them
    std::vector<int32_t> distinct;
    for (int64_t i = 0; i < B * T; ++i)
      if (batch.valid[i]) distinct.push_back(batch.input[i] - 1);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    CounterRandom rng{mix64(key ^ 0x17E5ULL)};
    const int64_t S = std::min<int64_t>(distinct.size(), macl_.max_item_sets);
    for (int64_t s = 0; s < S; ++s)
      std::swap(distinct[s], distinct[s + rng.below(int64_t(distinct.size()) - s)]);
    if (S >= 2)
      for (int64_t s = 0; s < S; ++s) {
        const size_t image_op = rng.below(n_image_ops), text_op = rng.below(n_text_ops);
        item_sets.push_back(distinct[s]);
        item_sets.push_back(static_cast<int32_t>(add_row(distinct[s], image_op, text_op, rng)));
      }
  }
  prepare_rows(aug_rows_);
}

namespace {

// Random negatives: for set i, M others drawn uniformly with replacement (never i itself).
std::vector<int32_t> draw_negatives(int64_t sets, int64_t M, uint64_t key) {
  std::vector<int32_t> neg(sets * M);
  CounterRandom rng{key};
  for (int64_t i = 0; i < sets; ++i)
    for (int64_t j = 0; j < M; ++j) {
      int64_t o = rng.below(sets - 1);
      neg[i * M + j] = static_cast<int32_t>(o >= i ? o + 1 : o);
    }
  return neg;
}

}  // namespace

MACLStep MACL::forward_backward(const SessionStore& store, const int64_t* begin, const int64_t* end,
                                int64_t count, bool last_only) {
  std::lock_guard<std::mutex> lock(macl_mutex_);
  const int64_t N = N_, D = D_;
  SequenceBatch batch = batch_for_training(store, begin, end, count, last_only);
  for (int64_t i = 0; i < batch.B * batch.T; ++i)
    if (batch.input[i] > N || batch.target[i] > N)
      throw InputError("MACL: item index outside the model's catalogue of " + std::to_string(N) +
                       " items");
  const uint64_t step = static_cast<uint64_t>(steps());
  SequenceBatch combined;
  std::vector<int32_t> item_sets;
  build_views(batch, step, combined, item_sets);
  const int64_t R = static_cast<int64_t>(aug_rows_.items.size());
  // The table: original rows, then augmented rows.
  reset_table(table_, N + 1 + R, D);
  items_forward(orig_rows_, table_.data() + D);
  if (R > 0) items_forward(aug_rows_, table_.data() + (N + 1) * D);
  table_is_eval_ = false;
  original_.value.assign(table_.value.begin(), table_.value.begin() + (N + 1) * D);
  std::fill(original_.grad.begin(), original_.grad.end(), 0.0f);
  std::fill(original_.touched.begin(), original_.touched.end(), 0);
  original_.touched_rows.clear();

  forward(combined, true, step);
  const float* out = output();
  const int64_t B = batch.B, T = combined.T, rows = combined.B * T;
  MACLStep r;
  // Recommendation cross-entropy at the original rows' targets.
  std::vector<int64_t> target_rows;
  std::vector<int32_t> target;
  for (int64_t i = 0; i < B * T; ++i)
    if (combined.target[i] >= 0) {
      target_rows.push_back(i);
      target.push_back(combined.target[i]);
    }
  const int64_t M_ce = static_cast<int64_t>(target.size());
  const float inv_temp = 1.0f / config_.temperature;
  nn::FloatBuffer H(M_ce * D), dH(M_ce * D, 0.0f), dout(rows * D, 0.0f);
  for (int64_t m = 0; m < M_ce; ++m)
    for (int64_t d = 0; d < D; ++d) H[m * D + d] = out[target_rows[m] * D + d] * inv_temp;
  loss::ObjectiveBatch in;
  in.H = H.data();
  in.target = target.data();
  in.rows = M_ce;
  in.dim = D;
  in.step = step;
  r.ce = M_ce > 0 ? ce_->forward_backward(in, original_, dH.data()) : 0.0f;
  for (int64_t m = 0; m < M_ce; ++m)
    for (int64_t d = 0; d < D; ++d) dout[target_rows[m] * D + d] += dH[m * D + d] * inv_temp;

  // The contrastive tasks share the weighting MLP; its gradient is scaled by each task's lambda.
  std::vector<float> mlp_dW1, mlp_db1, mlp_dW2, mlp_db2;
  loss::SignalWeightMLP<float> mlp;
  if (macl_.adaptive) {
    mlp.W1 = mlp_W1_->data();
    mlp.b1 = mlp_b1_->data();
    mlp.W2 = mlp_W2_->data();
    mlp.b2 = mlp_b2_->data();
    mlp.hidden = macl_.weight_hidden;
  }
  auto contrastive = [&](const float* a, const float* p, int64_t sets, float lambda, float* da,
                         float* dp, uint64_t stream, float& value, std::vector<int32_t>& neg,
                         int64_t& M) {
    M = std::min<int64_t>(macl_.num_negatives, sets - 1);
    neg = draw_negatives(sets, M, mix64(mix64(step) ^ stream));
    std::vector<float> alpha(sets), ga(sets * D, 0.0f), gp(sets * D, 0.0f);
    if (macl_.adaptive) {
      mlp_dW1.assign(mlp_W1_->size(), 0.0f);
      mlp_db1.assign(mlp_b1_->size(), 0.0f);
      mlp_dW2.assign(mlp_W2_->size(), 0.0f);
      mlp_db2.assign(1, 0.0f);
      mlp.dW1 = mlp_dW1.data();
      mlp.db1 = mlp_db1.data();
      mlp.dW2 = mlp_dW2.data();
      mlp.db2 = mlp_db2.data();
    }
    value = loss::adaptive_info_nce(alpha.data(), static_cast<float*>(nullptr), ga.data(),
                                    gp.data(), a, p, neg.data(), sets, M, D, macl_.cl_temperature,
                                    macl_.adaptive ? &mlp : nullptr);
    for (int64_t i = 0; i < sets * D; ++i) {
      da[i] += lambda * ga[i];
      dp[i] += lambda * gp[i];
    }
    if (macl_.adaptive) {
      auto add = [lambda](nn::Parameter* p, const std::vector<float>& g) {
        for (size_t i = 0; i < g.size(); ++i) p->grad[i] += lambda * g[i];
      };
      add(mlp_W1_, mlp_dW1);
      add(mlp_b1_, mlp_db1);
      add(mlp_W2_, mlp_dW2);
      add(mlp_b2_, mlp_db2);
    }
    const auto [lo, hi] = std::minmax_element(alpha.begin(), alpha.end());
    r.alpha_min = *lo;
    r.alpha_max = *hi;
  };

  views_.row_items = aug_rows_.items;
  views_.row_image.assign(aug_rows_.image.begin(), aug_rows_.image.end());
  views_.row_text.assign(aug_rows_.text.begin(), aug_rows_.text.end());
  views_.row_token_offsets = aug_rows_.token_offsets;
  views_.row_tokens = aug_rows_.tokens;
  views_.rows = combined.B;
  views_.T = T;
  views_.inputs = combined.input;
  views_.last = combined.last;
  views_.item_sets = item_sets;
  views_.item_negatives.clear();
  views_.session_negatives.clear();
  views_.item_M = views_.session_M = 0;
  const int64_t S = static_cast<int64_t>(item_sets.size()) / 2;
  if (S >= 2) {  // item level: e_i against e'_i
    nn::FloatBuffer A(S * D), P(S * D), dA(S * D, 0.0f), dP(S * D, 0.0f);
    for (int64_t s = 0; s < S; ++s) {
      std::copy_n(table_.data() + (int64_t(item_sets[2 * s]) + 1) * D, D, A.data() + s * D);
      std::copy_n(table_.data() + (N + 1 + item_sets[2 * s + 1]) * D, D, P.data() + s * D);
    }
    contrastive(A.data(), P.data(), S, macl_.item_weight, dA.data(), dP.data(), 0x1EEFULL, r.item,
                views_.item_negatives, views_.item_M);
    for (int64_t s = 0; s < S; ++s)
      for (int64_t d = 0; d < D; ++d) {
        table_.grad[(int64_t(item_sets[2 * s]) + 1) * D + d] += dA[s * D + d];
        table_.grad[(N + 1 + item_sets[2 * s + 1]) * D + d] += dP[s * D + d];
      }
  }
  if (combined.B == 2 * B) {  // session level: h_s against h'_s
    nn::FloatBuffer A(B * D), P(B * D), dA(B * D, 0.0f), dP(B * D, 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      std::copy_n(out + (b * T + combined.last[b]) * D, D, A.data() + b * D);
      std::copy_n(out + ((B + b) * T + combined.last[B + b]) * D, D, P.data() + b * D);
    }
    contrastive(A.data(), P.data(), B, macl_.session_weight, dA.data(), dP.data(), 0x5E5ULL,
                r.session, views_.session_negatives, views_.session_M);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d) {
        dout[(b * T + combined.last[b]) * D + d] += dA[b * D + d];
        dout[((B + b) * T + combined.last[B + b]) * D + d] += dP[b * D + d];
      }
  }

  backward(combined, dout.data());  // the encoder; item rows' gradients land in table_
  for (int64_t i = D; i < (N + 1) * D; ++i) table_.grad[i] += original_.grad[i];
  items_backward(orig_rows_, table_.grad.data() + D);
  if (R > 0) items_backward(aug_rows_, table_.grad.data() + (N + 1) * D);
  r.result.loss = r.ce + macl_.item_weight * r.item + macl_.session_weight * r.session;
  r.result.targets = M_ce;
  r.result.gradient_norm = nn::gradient_norm(params_);
  return r;
}

MACLStep MACL::train_step(const SessionStore& store, const int64_t* begin, const int64_t* end,
                          int64_t count, bool last_only, nn::Adam& optimizer) {
  MACLStep r = forward_backward(store, begin, end, count, last_only);
  std::lock_guard<std::mutex> lock(macl_mutex_);
  optimizer.step(params_);
  params_.zero_grad();
  set_steps(steps() + 1);
  table_is_eval_ = false;
  MACLTotals& t = totals_;
  t.alpha_min = t.steps == 0 ? r.alpha_min : std::min(t.alpha_min, r.alpha_min);
  t.alpha_max = t.steps == 0 ? r.alpha_max : std::max(t.alpha_max, r.alpha_max);
  ++t.steps;
  t.ce += r.ce;
  t.item += r.item;
  t.session += r.session;
  return r;
}

MACLTotals MACL::take_totals() {
  std::lock_guard<std::mutex> lock(macl_mutex_);
  MACLTotals t = totals_;
  totals_ = MACLTotals();
  return t;
}

void MACL::ensure_eval_table() {
  if (table_is_eval_) return;
  reset_table(table_, N_ + 1, D_);
  items_forward(orig_rows_, table_.data() + D_);
  table_is_eval_ = true;
}

void MACL::score(const HistoryBatch& batch, float* out) const {
  std::lock_guard<std::mutex> lock(macl_mutex_);
  const_cast<MACL*>(this)->ensure_eval_table();
  SequenceModel::score(batch, out);
}

void MACL::encode(const HistoryBatch& batch, float* out) const {
  std::lock_guard<std::mutex> lock(macl_mutex_);
  const_cast<MACL*>(this)->ensure_eval_table();
  SequenceModel::encode(batch, out);
}

std::vector<float> MACL::item_table() const {
  std::lock_guard<std::mutex> lock(macl_mutex_);
  const_cast<MACL*>(this)->ensure_eval_table();
  return std::vector<float>(table_.value.begin(), table_.value.begin() + (N_ + 1) * D_);
}

}  // namespace sessrec
