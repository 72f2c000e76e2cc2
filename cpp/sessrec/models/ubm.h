// UBM, the User Behavior Model (Li et al., "Contrastive Pre-training for Deep Session Data
// Understanding", §3): a two-level encoder of sessions of interactions, and its two contrastive
// pre-training stages.
//
//   interaction i (tokens [CLS] action content, text/interaction_tokens.h)
//     b'_i = TextEncoder(tokens_i)[CLS]                       (the interaction encoder)
//   session s = interactions i_1 .. i_l (oldest first)
//     x_t = b'_{i_t} + sinusoid(t);  o = SessionStack(x)       (bidirectional transformer)
//     h'_s = mean_t o_t                                        (the session vector)
//
// Stage 1 (interaction encoder alone), a batch of N pairs (p_k, p_k^{++}) of consecutive
// interactions of a session ("next item pairing"); the 2N interactions p = [p_1..p_N,
// p^{++}_1..p^{++}_N] and their token-masked copies p^+ ("item token masking": action tokens,
// [CLS] and field markers are never masked) go through the encoder in one packed forward:
//   l1 = InfoNCE(b'(p), b'(p^+))           over the 2N interactions
//   l2 = InfoNCE(b'(p_k), b'(p^{++}_k))    over the N pairs
// Stage 2 (the whole model), a batch of N sessions s, their reordered copies s^+ (two
// interactions swapped) and their masked copies s^{++} (action and text tokens masked):
//   l3 = InfoNCE(h'(s), h'(s^+)),  l4 = InfoNCE(h'(s), h'(s^{++}))
// InfoNCE (loss/contrastive.h): cosine / temperature, the other rows of the batch as negatives,
// the mean over the rows (or, as the paper prints it, without the positive in the denominator:
// loss/decoupled_info_nce.h). Each loss can be switched off (the paper's no_loss1..4 ablation); a
// view no active loss reads is not built. Dropout is the model's own (on in training steps).
//
// Every augmentation and dropout mask is a hash of (seed, step, row): a step is deterministic
// given the seed and the step counter, whatever the thread count. One train_stage*() call is one
// optimizer step. The session stack's parameters live in the encoder's ParameterSet under
// "session.layers.<l>.*", so one set (one Adam) holds the whole model; stage 1 steps leave them
// unchanged.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "sessrec/models/text_encoder.h"
#include "sessrec/nn/optimizer.h"
#include "sessrec/nn/parameter.h"
#include "sessrec/nn/transformer.h"
#include "sessrec/text/session_text.h"
#include "sessrec/text/token_masking.h"

namespace sessrec {

struct UBMConfig {
  TextEncoderConfig interaction;  // the interaction encoder ("cls" pooling, no normalisation)
  nn::TransformerConfig session;  // the session encoder (bidirectional); dim = interaction dim
  int64_t max_interactions = 32;  // sinusoid table length: the longest session it reads
  // Token masking; mask_id, vocab_size and the protected IDs ([CLS], field markers, ...) set by
  // the caller. Stage 1 protects action_ids too, stage 2 masks them.
  MaskingConfig masking;
  std::vector<int32_t> action_ids;
  float temperature = 0.05f;
  // true: the standard InfoNCE (loss/contrastive.h, the positive in the denominator, as SimCSE);
  // false: the denominator as Eq. 1-4 print it, the negatives alone (loss/decoupled_info_nce.h).
  bool positive_in_denominator = true;
  std::array<bool, 4> losses{true, true, true, true};  // l1..l4 on
  uint64_t seed = 0;

  void validate() const;
};

// Sessions of interactions, two-level CSR: session s owns interactions
// [session_offsets[s], session_offsets[s+1]), interaction i owns ids
// [token_offsets[i], token_offsets[i+1]).
struct InteractionSessions {
  std::vector<int64_t> session_offsets{0};
  std::vector<int64_t> token_offsets{0};
  std::vector<int32_t> ids;
  int64_t num_sessions() const { return static_cast<int64_t>(session_offsets.size()) - 1; }
  int64_t num_interactions() const { return static_cast<int64_t>(token_offsets.size()) - 1; }
};

// A read-only view of the same layout (a whole tokenized dataset).
struct InteractionSessionsView {
  const int64_t* session_offsets = nullptr;  // [sessions + 1]
  int64_t sessions = 0;
  const int64_t* token_offsets = nullptr;  // [interactions + 1]
  int64_t interactions = 0;
  const int32_t* ids = nullptr;
};

// Appends session s of `all` (its interactions and their tokens) to `part`; InputError when s
// is not a session of `all`.
void append_session(InteractionSessions& part, const InteractionSessionsView& all, int64_t s);
// Sessions rows[r] (r < N) of `all`, copied into one batch.
InteractionSessions gather_sessions(const InteractionSessionsView& all, const int64_t* rows,
                                    int64_t N);

class UBMModel {
 public:
  explicit UBMModel(UBMConfig config);

  struct Losses {
    float loss = 0;                          // the sum of the active losses
    std::array<float, 4> parts{0, 0, 0, 0};  // l1..l4 (0 when off or not in the stage)
    int64_t examples = 0;                    // pairs (stage 1) or sessions (stage 2)
    int64_t tokens = 0;                      // tokens through the interaction encoder (all views)
    float gradient_norm = 0;
  };

  // ---- stage 1. Interactions first[k], second[k] (k < N) of `all` form the pairs.
  // The views [p (2N lists), p^+ (2N lists, when l1 is on)] of step `step`.
  TokenLists stage1_views(const InteractionSessionsView& all, const int64_t* first,
                          const int64_t* second, int64_t N, uint64_t step) const;
  // l1 + l2 of the views; with backward, parameter gradients accumulate.
  Losses stage1_loss(const TokenLists& views, int64_t N, bool training, uint64_t step,
                     bool backward);
  // Views, loss, backward and one optimizer step (session parameters untouched).
  Losses train_stage1(const InteractionSessionsView& all, const int64_t* first,
                      const int64_t* second, int64_t N, nn::Adam& optimizer);

  // ---- stage 2. Sessions rows[r] (r < N) of `all`, each with at least one interaction.
  // The views [s (N), s^+ (N, when l3 is on), s^{++} (N, when l4 is on)] of step `step`.
  InteractionSessions stage2_views(const InteractionSessionsView& all, const int64_t* rows,
                                   int64_t N, uint64_t step) const;
  Losses stage2_loss(const InteractionSessions& views, int64_t N, bool training, uint64_t step,
                     bool backward);
  Losses train_stage2(const InteractionSessionsView& all, const int64_t* rows, int64_t N,
                      nn::Adam& optimizer);

  // ---- the two levels.
  // Session vectors h' [S, dim]; keeps what session_backward needs.
  void session_forward(const InteractionSessions& sessions, bool training, uint64_t step,
                       float* out);
  // dout [S, dim] -> parameter gradients (accumulate).
  void session_backward(const float* dout);
  // Evaluation-mode session vectors [S, dim] of sessions rows[r] of `all`, in chunks of about
  // kEncodeTokens tokens (activations are kept per forward, so a chunk bounds the memory).
  void encode_sessions(const InteractionSessionsView& all, const int64_t* rows, int64_t S,
                       float* out);

  nn::ParameterSet& params() { return encoder_->params(); }
  const nn::ParameterSet& params() const { return encoder_->params(); }
  void parameters_changed() {}
  // Zeroes Adam's moments (a new stage starts a new optimizer).
  void reset_optimizer_state();
  std::shared_ptr<TextEncoder> interaction_encoder() { return encoder_; }
  const UBMConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  static constexpr int64_t kEncodeTokens = 16384;
  void check_view(const InteractionSessionsView& all) const;
  float pair_loss(const float* a, const float* p, float* da, float* dp, int64_t B) const;
  UBMConfig config_;
  std::shared_ptr<TextEncoder> encoder_;
  std::unique_ptr<nn::TransformerStack> session_stack_;
  std::vector<nn::Parameter*> session_params_;
  nn::FloatBuffer sinusoids_;
  int64_t steps_ = 0;
  // The last session_forward.
  std::vector<int64_t> session_offsets_;
  nn::FloatBuffer interaction_vectors_, x_, session_vectors_, dz_, dx_;
  const float* z_ = nullptr;
};

}  // namespace sessrec
