// TextEncoder: a bidirectional transformer over the token IDs of each item's text (the fields
// joined by a separator token; see sessrec.text for the sentencepiece side), one vector per item.
//
//   x_t = token_embedding[id_t] + position(t)          (learned table or fixed sinusoids)
//   post-LN (BERT):  x = Dropout(LN_emb(x)); z = Blocks(x)
//   pre-LN:          x = Dropout(x);         z = LN_final(Blocks(x))
//   pooled = z[0] ("cls": the first token, e.g. a [CLS] symbol) or the mean over the item's tokens
//            ("mean"); pool_layer selects another block's outputs (pre-LN: without LN_final)
//   out = pooled / ||pooled|| when normalize, else pooled
//
// Token lists come in CSR (offsets [B + 1], ids) with any lengths; each row keeps its first
// max_tokens tokens and rows are packed back to back, so no work is spent on padding (a padding
// mask in effect). Every token ID must be in [0, vocab_size): ID 0 is an ordinary token here.
//
// Parameters (the layout of parameter files, see sessrec.models.parameter_groups):
//   token_embedding [vocab_size, dim], position_embedding [max_tokens, dim] (learned only),
//   embedding_ln.weight/.bias [1, dim] (post-LN) or final_ln.weight/.bias (pre-LN),
//   layers.<l>.* as in nn/transformer.h, and mlm.* with a masked-token head
//   (models/masked_token_head.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sessrec/models/masked_token_head.h"
#include "sessrec/nn/parameter.h"
#include "sessrec/nn/transformer.h"

namespace sessrec {

struct TextEncoderConfig {
  int64_t vocab_size = 0;
  int64_t max_tokens = 64;
  nn::TransformerConfig blocks;       // causal must stay false
  std::string positions = "learned";  // learned | sinusoidal
  std::string pooling = "cls";        // cls | mean
  int64_t pool_layer = -1;            // -1: the last block; l: block l (0-based)
  bool normalize = false;             // L2-normalise the output
  bool mlm_head = false;              // add a masked-token prediction head (mlm.* parameters)
  uint64_t seed = 0;

  void validate() const;
};

class TextEncoder {
 public:
  explicit TextEncoder(TextEncoderConfig config);

  // out [B, dim] for the B token lists (offsets [B + 1] into ids). `step` keys the dropout masks
  // (training only). Keeps what backward needs.
  void forward(const int64_t* offsets, const int32_t* ids, int64_t B, bool training, uint64_t step,
               float* out);
  // Gradients of the last forward: dout [B, dim] on the output and, optionally, dtokens
  // [num_tokens(), dim] on token_outputs() (a token-level loss such as masked-token prediction).
  // Parameter gradients accumulate.
  void backward(const float* dout, const float* dtokens = nullptr);

  // The last forward's final token representations [num_tokens(), dim] (after LN_final), in
  // packed order: row token_offsets()[b] + t is token t of list b.
  const float* token_outputs() const { return z_; }
  int64_t num_tokens() const { return offsets_.empty() ? 0 : offsets_.back(); }
  const std::vector<int64_t>& token_offsets() const { return offsets_; }
  // The packed token IDs of the last forward (truncated lists).
  const std::vector<int32_t>& token_ids() const { return ids_; }

  // Masked-token prediction on the last forward's token outputs (the head must exist): rows [M]
  // of token_outputs() and their original IDs. Returns the loss; with dtokens (nullable) writes
  // d loss / d token outputs [num_tokens(), dim] for backward and accumulates the head's and the
  // tied embedding's gradients.
  float masked_token_loss(const int64_t* rows, const int32_t* labels, int64_t M, float* dtokens);
  bool has_mlm_head() const { return mlm_ != nullptr; }

  nn::ParameterSet& params() { return params_; }
  const nn::ParameterSet& params() const { return params_; }
  const TextEncoderConfig& config() const { return config_; }
  nn::Parameter& token_embedding() { return *tok_; }
  void parameters_changed() {}

 private:
  bool pools_last() const;
  TextEncoderConfig config_;
  nn::ParameterSet params_;
  nn::Parameter *tok_ = nullptr, *pos_ = nullptr, *ln_g_ = nullptr, *ln_b_ = nullptr;
  nn::FloatBuffer sinusoids_;
  std::unique_ptr<nn::TransformerStack> stack_;
  std::unique_ptr<MaskedTokenHead> mlm_;
  // The last forward.
  int64_t B_ = 0;
  std::vector<int64_t> offsets_;
  std::vector<int32_t> ids_;
  std::vector<int32_t> positions_;
  nn::FloatBuffer x0_, e_, mean0_, rstd0_, mask0_, x_, final_, pooled_, out_, norms_;
  const float* z_ = nullptr;
  // Backward workspaces.
  nn::FloatBuffer dpool_, dz_, dlast_, dx_, de_, dx0_;
};

}  // namespace sessrec
