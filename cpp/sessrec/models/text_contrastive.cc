#include "sessrec/models/text_contrastive.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/l2_normalize.h"
#include "sessrec/nn/tensor.h"

namespace sessrec {

void TextContrastiveConfig::validate() const {
  encoder.validate();
  objective.validate();
  if (!(momentum >= 0 && momentum < 1)) throw InputError("text contrastive: momentum in [0, 1)");
  for (int32_t id : {cls_id, sep_id})
    if (id < 0 || id >= encoder.vocab_size)
      throw InputError("text contrastive: special token " + std::to_string(id) +
                       " is outside the vocabulary");
  if (encoder.max_tokens < 2) throw InputError("text contrastive: max_tokens must be >= 2");
}

namespace {

TextContrastiveConfig with_encoder(TextContrastiveConfig config, const TextEncoder* encoder) {
  if (encoder == nullptr) throw InputError("text contrastive: no encoder");
  config.encoder = encoder->config();
  return config;
}

}  // namespace

TextContrastiveModel::TextContrastiveModel(std::shared_ptr<TextEncoder> encoder,
                                           TextContrastiveConfig config,
                                           std::vector<int64_t> item_offsets,
                                           std::vector<int32_t> item_ids)
    : config_(with_encoder(std::move(config), encoder.get())),
      item_offsets_(std::move(item_offsets)),
      item_ids_(std::move(item_ids)),
      objective_((config_.validate(), config_.objective), config_.encoder.blocks.dim) {
  if (item_offsets_.size() < 2 || item_offsets_.front() != 0 ||
      item_offsets_.back() != static_cast<int64_t>(item_ids_.size()))
    throw InputError(
        "text contrastive: item token offsets must start at 0, end at the number "
        "of token IDs and cover at least one item");
  for (size_t i = 1; i < item_offsets_.size(); ++i)
    if (item_offsets_[i] < item_offsets_[i - 1])
      throw InputError("text contrastive: item token offsets decrease at item " +
                       std::to_string(i - 1));
  for (int32_t id : item_ids_)
    if (id < 0 || id >= config_.encoder.vocab_size)
      throw InputError("text contrastive: item token " + std::to_string(id) +
                       " is outside the vocabulary of " +
                       std::to_string(config_.encoder.vocab_size));
  encoder_ = std::move(encoder);
  if (config_.momentum > 0) {
    momentum_ = std::make_shared<TextEncoder>(config_.encoder);
    nn::copy_values(momentum_->params(), encoder_->params());
  }
}

ItemTokens TextContrastiveModel::item_tokens() const {
  return ItemTokens{item_offsets_.data(), item_ids_.data(), num_items(), config_.cls_id,
                    config_.sep_id};
}

void TextContrastiveModel::encode_lists(TextEncoder& encoder, const TokenLists& lists,
                                        float* out) const {
  const int64_t D = config_.encoder.blocks.dim, chunk = 512;
  for (int64_t first = 0; first < lists.size(); first += chunk) {
    const int64_t count = std::min(chunk, lists.size() - first);
    std::vector<int64_t> offsets(lists.offsets.begin() + first,
                                 lists.offsets.begin() + first + count + 1);
    for (int64_t& o : offsets) o -= lists.offsets[first];
    encoder.forward(offsets.data(), lists.ids.data() + lists.offsets[first], count, false, 0,
                    out + first * D);
  }
  std::vector<float> norms(lists.size());
  nn::l2_normalize_rows_forward(out, norms.data(), out, lists.size(), D);
}

void TextContrastiveModel::ensure_item_vectors() const {
  if (items_fresh_) return;
  const int64_t N = num_items(), D = config_.encoder.blocks.dim;
  std::vector<int32_t> all(N);
  for (int64_t i = 0; i < N; ++i) all[i] = static_cast<int32_t>(i);
  item_vectors_.resize(N * D);
  encode_lists(*encoder_,
               item_token_lists(item_tokens(), all.data(), N, config_.encoder.max_tokens),
               item_vectors_.data());
  items_fresh_ = true;
}

void TextContrastiveModel::encode_sessions(const HistoryBatch& histories, float* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  encode_lists(*encoder_, session_token_lists(item_tokens(), histories, config_.encoder.max_tokens),
               out);
}

void TextContrastiveModel::encode_items(const int32_t* indices, int64_t count, float* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  encode_lists(*encoder_,
               item_token_lists(item_tokens(), indices, count, config_.encoder.max_tokens), out);
}

void TextContrastiveModel::score(const HistoryBatch& histories, float* out) const {
  const int64_t D = config_.encoder.blocks.dim, N = num_items();
  nn::FloatBuffer H(histories.size * D);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ensure_item_vectors();
    encode_lists(*encoder_,
                 session_token_lists(item_tokens(), histories, config_.encoder.max_tokens),
                 H.data());
  }
  nn::parallel_product(nn::MapMat<float>(out, histories.size, N),
                       nn::MapConstMat<float>(H.data(), histories.size, D),
                       nn::MapConstMat<float>(item_vectors_.data(), N, D).transpose());
}

TextContrastiveModel::Step TextContrastiveModel::train_step(const SessionStore& store,
                                                            const int64_t* begin,
                                                            const int64_t* end, int64_t count,
                                                            nn::Adam& optimizer) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t D = config_.encoder.blocks.dim, T = config_.encoder.max_tokens;
  const int64_t total = static_cast<int64_t>(store.items.size());
  std::vector<int64_t> hb, he;
  std::vector<int32_t> targets;
  for (int64_t r = 0; r < count; ++r) {
    if (begin[r] < 0 || end[r] > total || begin[r] > end[r])
      throw InputError("train_step: unit " + std::to_string(r) + " is outside the sessions");
    if (end[r] - begin[r] < 2) continue;
    hb.push_back(begin[r]);
    he.push_back(end[r] - 1);
    targets.push_back(store.items[end[r] - 1]);
  }
  Step result;
  const int64_t B = static_cast<int64_t>(targets.size());
  result.pairs = B;
  if (B == 0) return result;
  const HistoryBatch histories{store.items.data(), hb.data(), he.data(), B};
  // Sessions then next items, one packed forward.
  TokenLists lists = session_token_lists(item_tokens(), histories, T);
  const TokenLists positives = item_token_lists(item_tokens(), targets.data(), B, T);
  const int64_t shift = lists.offsets.back();
  for (int64_t r = 1; r <= B; ++r) lists.offsets.push_back(shift + positives.offsets[r]);
  lists.ids.insert(lists.ids.end(), positives.ids.begin(), positives.ids.end());
  nn::FloatBuffer out(2 * B * D), grad(2 * B * D, 0.0f), keys(2 * B * D);
  const uint64_t step = static_cast<uint64_t>(steps_);
  encoder_->forward(lists.offsets.data(), lists.ids.data(), 2 * B, true, step, out.data());
  if (momentum_) {
    momentum_->forward(lists.offsets.data(), lists.ids.data(), 2 * B, false, 0, keys.data());
  } else {
    keys = out;
  }
  result.loss = objective_.forward_backward(out.data(), out.data() + B * D, B, D, nullptr,
                                            grad.data(), grad.data() + B * D);
  encoder_->backward(grad.data());
  result.gradient_norm = optimizer.step(encoder_->params());
  encoder_->params().zero_grad();
  if (momentum_) nn::ema_update(momentum_->params(), encoder_->params(), config_.momentum);
  objective_.enqueue(keys.data(), keys.data() + B * D, B, D);
  ++steps_;
  items_fresh_ = false;
  return result;
}

}  // namespace sessrec
