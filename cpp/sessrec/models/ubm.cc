#include "sessrec/models/ubm.h"

#include <algorithm>
#include <string>
#include <utility>

#include "sessrec/errors.h"
#include "sessrec/loss/contrastive.h"
#include "sessrec/loss/decoupled_info_nce.h"
#include "sessrec/nn/positional.h"
#include "sessrec/random.h"

namespace sessrec {

namespace {

// Streams of the hashes that key each augmentation (the encoders key their dropout apart).
constexpr uint64_t kItemMaskingStream = 0x1A5C;
constexpr uint64_t kSessionMaskingStream = 0x2A5C;
constexpr uint64_t kReorderStream = 0x3E0D;
constexpr uint64_t kSessionDropoutStream = 0x5E55;

uint64_t stream_seed(uint64_t seed, uint64_t stream) { return mix64(mix64(seed) ^ stream); }

}  // namespace

void UBMConfig::validate() const {
  interaction.validate();
  session.validate("UBM session encoder");
  if (session.causal) throw InputError("UBM: the session encoder is bidirectional (causal=false)");
  if (session.dim != interaction.blocks.dim)
    throw InputError("UBM: the session encoder's dim " + std::to_string(session.dim) +
                     " differs from the interaction encoder's " +
                     std::to_string(interaction.blocks.dim));
  if (interaction.normalize)
    throw InputError("UBM: the interaction vectors are not normalised (normalize=false)");
  if (max_interactions < 1) throw InputError("UBM: max_interactions must be >= 1");
  if (!(temperature > 0)) throw InputError("UBM: temperature must be > 0");
  MaskingConfig m = masking;
  m.vocab_size = interaction.vocab_size;
  m.validate();
  for (int32_t id : action_ids)
    if (id < 0 || id >= interaction.vocab_size)
      throw InputError("UBM: action token " + std::to_string(id) + " is outside the vocabulary");
}

UBMModel::UBMModel(UBMConfig config) : config_(std::move(config)) {
  config_.masking.vocab_size = config_.interaction.vocab_size;
  config_.masking.max_tokens = config_.interaction.max_tokens;
  config_.validate();
  encoder_ = std::make_shared<TextEncoder>(config_.interaction);
  auto rng = derived_rng(config_.seed, 31, 0);
  session_stack_ = std::make_unique<nn::TransformerStack>(config_.session, encoder_->params(),
                                                          "session.layers.", rng);
  session_params_ = encoder_->params().select("session.*");
  const int64_t D = config_.session.dim;
  sinusoids_.resize(config_.max_interactions * D);
  nn::sinusoidal_table(sinusoids_.data(), config_.max_interactions, D);
}

void UBMModel::reset_optimizer_state() {
  for (nn::Parameter* p : params().all()) {
    std::fill(p->adam_m.begin(), p->adam_m.end(), 0.0f);
    std::fill(p->adam_v.begin(), p->adam_v.end(), 0.0f);
  }
}

void UBMModel::check_view(const InteractionSessionsView& all) const {
  if (all.sessions < 0 || all.interactions < 0 || all.session_offsets == nullptr ||
      all.token_offsets == nullptr)
    throw InputError("UBM: no interaction sessions");
  if (all.session_offsets[0] != 0 || all.session_offsets[all.sessions] != all.interactions ||
      all.token_offsets[0] != 0)
    throw InputError(
        "UBM: session offsets must start at 0 and end at the number of interactions, token "
        "offsets start at 0");
}

float UBMModel::pair_loss(const float* a, const float* p, float* da, float* dp, int64_t B) const {
  if (!config_.positive_in_denominator)
    return loss::decoupled_info_nce<float>(da, dp, a, p, B, config_.session.dim,
                                           config_.temperature);
  return loss::info_nce<float>(nullptr, da, dp, a, p, nullptr, B, config_.session.dim, {},
                               config_.temperature);
}

// ---------------------------------------------------------------------------------------------
// The two levels.

void UBMModel::session_forward(const InteractionSessions& sessions, bool training, uint64_t step,
                               float* out) {
  const int64_t D = config_.session.dim, S = sessions.num_sessions(),
                I = sessions.num_interactions();
  if (S <= 0) throw InputError("UBM: no sessions");
  if (sessions.session_offsets.front() != 0 || sessions.session_offsets.back() != I)
    throw InputError("UBM: session offsets must cover the interactions");
  if (sessions.token_offsets.front() != 0 ||
      sessions.token_offsets.back() != static_cast<int64_t>(sessions.ids.size()))
    throw InputError("UBM: token offsets must start at 0 and end at the number of token IDs");
  for (int64_t s = 0; s < S; ++s) {
    const int64_t len = sessions.session_offsets[s + 1] - sessions.session_offsets[s];
    if (len <= 0) throw InputError("UBM: session " + std::to_string(s) + " has no interactions");
    if (len > config_.max_interactions)
      throw InputError("UBM: session " + std::to_string(s) + " has " + std::to_string(len) +
                       " interactions, more than max_interactions = " +
                       std::to_string(config_.max_interactions));
  }
  interaction_vectors_.resize(I * D);
  encoder_->forward(sessions.token_offsets.data(), sessions.ids.data(), I, training, step,
                    interaction_vectors_.data());
  session_offsets_ = sessions.session_offsets;
  x_.resize(I * D);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = session_offsets_[s]; i < session_offsets_[s + 1]; ++i) {
      const float* pos = sinusoids_.data() + (i - session_offsets_[s]) * D;
      for (int64_t d = 0; d < D; ++d) x_[i * D + d] = interaction_vectors_[i * D + d] + pos[d];
    }
  uint64_t site = 0;
  const uint64_t dropout_seed = stream_seed(config_.seed, kSessionDropoutStream);
  auto key = [&] { return mix64(dropout_seed ^ mix64(step * 64 + site++)); };
  z_ = session_stack_->forward(x_.data(), session_offsets_.data(), S, training, key);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; ++s) {
    float* o = out + s * D;
    std::fill(o, o + D, 0.0f);
    const int64_t first = session_offsets_[s], count = session_offsets_[s + 1] - first;
    for (int64_t i = first; i < first + count; ++i)
      for (int64_t d = 0; d < D; ++d) o[d] += z_[i * D + d];
    for (int64_t d = 0; d < D; ++d) o[d] /= float(count);
  }
}

void UBMModel::session_backward(const float* dout) {
  const int64_t D = config_.session.dim, S = static_cast<int64_t>(session_offsets_.size()) - 1;
  if (S <= 0 || z_ == nullptr) throw InputError("UBM: backward before forward");
  const int64_t I = session_offsets_.back();
  dz_.resize(I * D);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; ++s) {
    const int64_t first = session_offsets_[s], count = session_offsets_[s + 1] - first;
    for (int64_t i = first; i < first + count; ++i)
      for (int64_t d = 0; d < D; ++d) dz_[i * D + d] = dout[s * D + d] / float(count);
  }
  dx_.resize(I * D);
  session_stack_->backward(dz_.data(), dx_.data());
  // The positions are constants: d b' = d x.
  encoder_->backward(dx_.data());
}

void append_session(InteractionSessions& part, const InteractionSessionsView& all, int64_t s) {
  if (s < 0 || s >= all.sessions)
    throw InputError("UBM: session " + std::to_string(s) + " is outside the " +
                     std::to_string(all.sessions) + " sessions");
  for (int64_t i = all.session_offsets[s]; i < all.session_offsets[s + 1]; ++i) {
    part.ids.insert(part.ids.end(), all.ids + all.token_offsets[i],
                    all.ids + all.token_offsets[i + 1]);
    part.token_offsets.push_back(static_cast<int64_t>(part.ids.size()));
  }
  part.session_offsets.push_back(part.num_interactions());
}

InteractionSessions gather_sessions(const InteractionSessionsView& all, const int64_t* rows,
                                    int64_t N) {
  InteractionSessions part;
  for (int64_t r = 0; r < N; ++r) append_session(part, all, rows[r]);
  return part;
}

void UBMModel::encode_sessions(const InteractionSessionsView& all, const int64_t* rows, int64_t S,
                               float* out) {
  check_view(all);
  const int64_t D = config_.session.dim;
  for (int64_t first = 0; first < S;) {
    InteractionSessions part;
    int64_t r = first;
    while (r < S && (r == first || static_cast<int64_t>(part.ids.size()) < kEncodeTokens)) {
      append_session(part, all, rows[r++]);
    }
    session_forward(part, false, 0, out + first * D);
    first = r;
  }
}

// ---------------------------------------------------------------------------------------------
// Stage 1: item token masking and next item pairing.

TokenLists UBMModel::stage1_views(const InteractionSessionsView& all, const int64_t* first,
                                  const int64_t* second, int64_t N, uint64_t step) const {
  check_view(all);
  if (N < 2) throw InputError("UBM stage 1: a batch needs at least 2 pairs (in-batch negatives)");
  TokenLists p;
  for (const int64_t* side : {first, second})
    for (int64_t k = 0; k < N; ++k) {
      const int64_t i = side[k];
      if (i < 0 || i >= all.interactions)
        throw InputError("UBM stage 1: interaction " + std::to_string(i) + " is outside the " +
                         std::to_string(all.interactions) + " interactions");
      p.ids.insert(p.ids.end(), all.ids + all.token_offsets[i], all.ids + all.token_offsets[i + 1]);
      p.offsets.push_back(static_cast<int64_t>(p.ids.size()));
    }
  if (!config_.losses[0]) return p;
  MaskingConfig item_masking = config_.masking;
  item_masking.protected_ids.insert(item_masking.protected_ids.end(), config_.action_ids.begin(),
                                    config_.action_ids.end());
  const MaskedTokens masked = mask_tokens(p.offsets.data(), p.ids.data(), 2 * N, item_masking,
                                          stream_seed(config_.seed, kItemMaskingStream), step);
  const int64_t shift = static_cast<int64_t>(p.ids.size());
  for (int64_t r = 1; r <= 2 * N; ++r) p.offsets.push_back(shift + masked.offsets[r]);
  p.ids.insert(p.ids.end(), masked.ids.begin(), masked.ids.end());
  return p;
}

UBMModel::Losses UBMModel::stage1_loss(const TokenLists& views, int64_t N, bool training,
                                       uint64_t step, bool backward) {
  const bool l1 = config_.losses[0], l2 = config_.losses[1];
  if (!l1 && !l2) throw InputError("UBM stage 1: both of its losses (l1, l2) are off");
  const int64_t D = config_.session.dim, M = (l1 ? 4 : 2) * N;
  if (N < 2 || views.size() != M)
    throw InputError("UBM stage 1: expected " + std::to_string(M) + " views for " +
                     std::to_string(N) + " pairs, got " + std::to_string(views.size()));
  nn::FloatBuffer out(M * D), grad(M * D, 0.0f);
  encoder_->forward(views.offsets.data(), views.ids.data(), M, training, step, out.data());
  Losses result;
  result.examples = N;
  float* g = backward ? grad.data() : nullptr;
  if (l1)  // each of the 2N interactions against its masked copy
    result.parts[0] =
        pair_loss(out.data(), out.data() + 2 * N * D, g, backward ? g + 2 * N * D : nullptr, 2 * N);
  if (l2)  // each interaction against the next one
    result.parts[1] =
        pair_loss(out.data(), out.data() + N * D, g, backward ? g + N * D : nullptr, N);
  result.loss = result.parts[0] + result.parts[1];
  result.tokens = encoder_->num_tokens();
  if (backward) encoder_->backward(grad.data());
  return result;
}

UBMModel::Losses UBMModel::train_stage1(const InteractionSessionsView& all, const int64_t* first,
                                        const int64_t* second, int64_t N, nn::Adam& optimizer) {
  const uint64_t step = static_cast<uint64_t>(steps_);
  const TokenLists views = stage1_views(all, first, second, N, step);
  params().zero_grad();
  Losses result = stage1_loss(views, N, true, step, true);
  // The session encoder sits out stage 1: frozen for this step (no moments, no decay).
  std::vector<bool> was_frozen;
  for (nn::Parameter* p : session_params_) {
    was_frozen.push_back(p->frozen);
    p->frozen = true;
  }
  result.gradient_norm = optimizer.step(params());
  for (size_t i = 0; i < session_params_.size(); ++i) session_params_[i]->frozen = was_frozen[i];
  params().zero_grad();
  ++steps_;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Stage 2: behavior reordering and action and item token masking.

InteractionSessions UBMModel::stage2_views(const InteractionSessionsView& all, const int64_t* rows,
                                           int64_t N, uint64_t step) const {
  check_view(all);
  if (N < 2)
    throw InputError("UBM stage 2: a batch needs at least 2 sessions (in-batch negatives)");
  InteractionSessions v;
  auto append = [&](int64_t i) {
    v.ids.insert(v.ids.end(), all.ids + all.token_offsets[i], all.ids + all.token_offsets[i + 1]);
    v.token_offsets.push_back(static_cast<int64_t>(v.ids.size()));
  };
  for (int64_t r = 0; r < N; ++r) {
    const int64_t s = rows[r];
    if (s < 0 || s >= all.sessions)
      throw InputError("UBM stage 2: session " + std::to_string(s) + " is outside the " +
                       std::to_string(all.sessions) + " sessions");
    if (all.session_offsets[s + 1] <= all.session_offsets[s])
      throw InputError("UBM stage 2: session " + std::to_string(s) + " has no interactions");
    for (int64_t i = all.session_offsets[s]; i < all.session_offsets[s + 1]; ++i) append(i);
    v.session_offsets.push_back(v.num_interactions());
  }
  const int64_t originals = v.num_interactions();
  if (config_.losses[2]) {  // s^+: interactions a != b of each session (of >= 2) exchanged
    const uint64_t seed = stream_seed(config_.seed, kReorderStream);
    for (int64_t r = 0; r < N; ++r) {
      const int64_t first = all.session_offsets[rows[r]],
                    L = all.session_offsets[rows[r] + 1] - first;
      std::vector<int64_t> order(L);
      for (int64_t t = 0; t < L; ++t) order[t] = first + t;
      if (L >= 2) {
        const uint64_t h = mix64(seed ^ mix64(step * 0x10000 + static_cast<uint64_t>(r)));
        const int64_t a = static_cast<int64_t>(h % uint64_t(L));
        const int64_t b = (a + 1 + static_cast<int64_t>((h >> 32) % uint64_t(L - 1))) % L;
        std::swap(order[a], order[b]);
      }
      for (int64_t i : order) append(i);
      v.session_offsets.push_back(v.num_interactions());
    }
  }
  if (config_.losses[3]) {  // s^{++}: every interaction of s token-masked, actions included
    const MaskedTokens masked =
        mask_tokens(v.token_offsets.data(), v.ids.data(), originals, config_.masking,
                    stream_seed(config_.seed, kSessionMaskingStream), step);
    const int64_t shift = static_cast<int64_t>(v.ids.size());
    for (int64_t i = 1; i <= originals; ++i) v.token_offsets.push_back(shift + masked.offsets[i]);
    v.ids.insert(v.ids.end(), masked.ids.begin(), masked.ids.end());
    for (int64_t r = 1; r <= N; ++r)
      v.session_offsets.push_back(v.session_offsets.back() + v.session_offsets[r] -
                                  v.session_offsets[r - 1]);
  }
  return v;
}

UBMModel::Losses UBMModel::stage2_loss(const InteractionSessions& views, int64_t N, bool training,
                                       uint64_t step, bool backward) {
  const bool l3 = config_.losses[2], l4 = config_.losses[3];
  if (!l3 && !l4) throw InputError("UBM stage 2: both of its losses (l3, l4) are off");
  const int64_t D = config_.session.dim, S = (1 + int64_t(l3) + int64_t(l4)) * N;
  if (N < 2 || views.num_sessions() != S)
    throw InputError("UBM stage 2: expected " + std::to_string(S) + " views for " +
                     std::to_string(N) + " sessions, got " + std::to_string(views.num_sessions()));
  nn::FloatBuffer h(S * D), grad(S * D, 0.0f);
  session_forward(views, training, step, h.data());
  Losses result;
  result.examples = N;
  float* g = backward ? grad.data() : nullptr;
  int64_t view = 1;
  if (l3) {  // each session against its reordered copy
    result.parts[2] = pair_loss(h.data(), h.data() + N * D, g, backward ? g + N * D : nullptr, N);
    ++view;
  }
  if (l4)  // each session against its masked copy
    result.parts[3] =
        pair_loss(h.data(), h.data() + view * N * D, g, backward ? g + view * N * D : nullptr, N);
  result.loss = result.parts[2] + result.parts[3];
  result.tokens = encoder_->num_tokens();
  if (backward) session_backward(grad.data());
  return result;
}

UBMModel::Losses UBMModel::train_stage2(const InteractionSessionsView& all, const int64_t* rows,
                                        int64_t N, nn::Adam& optimizer) {
  const uint64_t step = static_cast<uint64_t>(steps_);
  const InteractionSessions views = stage2_views(all, rows, N, step);
  params().zero_grad();
  Losses result = stage2_loss(views, N, true, step, true);
  result.gradient_norm = optimizer.step(params());
  params().zero_grad();
  ++steps_;
  return result;
}

}  // namespace sessrec
