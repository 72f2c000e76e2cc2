// ItemTower: how a sequence model represents catalogue items when they are more than a free ID
// embedding. It computes the whole item table [num_items + 1, dim] (row 0 is padding and stays
// zero) from its own parameters and inputs, and back-propagates the table's gradient to them.
//
//   id_ln    A = LayerNorm(E_id)                                      (AlterRec's ID network)
//   text     B = LayerNorm(dropout(MLP(X)))                           (text-only / AlterRec text)
//   sum      A + B                                                    (NFRec-sum)
//   concat   W [A; B] + b                                             (NFRec-concat)
//
// X is either a frozen feature matrix [num_items, F] (sentence vectors, LSA, word vectors) or,
// with a subword source, the mean of learned token embeddings over each item's tokens, so that
// every item with text - seen in training or not - gets an embedding from its text alone.
// sum and concat keep the ID and text contributions apart (parts), so that a fused model's score
// can be decomposed into "ID in NFRec" and "text in NFRec".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sessrec/nn/mlp.h"
#include "sessrec/nn/parameter.h"

namespace sessrec {

struct ItemTowerConfig {
  std::string kind = "id";               // id (no tower) | id_ln | text | sum | concat
  std::string text_source = "features";  // features (frozen X) | subword (learned tokens)
  std::vector<int64_t> hidden;           // hidden sizes of the text MLP (none: one linear layer)
  bool gelu = false;                     // MLP activation: ReLU (false) or GELU
  bool text_layernorm = true;            // LayerNorm after the text MLP
  bool id_layernorm = true;              // LayerNorm on the ID part (sum, concat; id_ln always)
  float dropout = 0.1f;                  // on the text MLP output, training only
  // features: row-major [num_items, feature_dim]
  std::shared_ptr<const std::vector<float>> features;
  int64_t feature_dim = 0;
  // subword: the tokens of item i are tokens[token_offsets[i] .. token_offsets[i + 1])
  std::shared_ptr<const std::vector<int64_t>> token_offsets;
  std::shared_ptr<const std::vector<int32_t>> tokens;
  int64_t vocab_size = 0;
  int64_t token_dim = 64;

  bool uses_id() const { return kind == "id_ln" || kind == "sum" || kind == "concat"; }
  bool uses_text() const { return kind == "text" || kind == "sum" || kind == "concat"; }
  void validate(int64_t num_items) const;
};

class ItemTower {
 public:
  // Registers its parameters ("tower.*") in params and initialises them from seed.
  ItemTower(ItemTowerConfig config, int64_t num_items, int64_t dim, uint64_t seed,
            nn::ParameterSet& params);

  // table: [num_items + 1, dim]; row 0 is written as zeros. `step` seeds the dropout mask.
  void forward(float* table, bool training, uint64_t step);
  // dtable: [num_items + 1, dim] gradient of the table from the last forward (training mode).
  // touched: table rows that carry a gradient (nullptr: all) - row-sparse parameters touch them.
  void backward(const float* dtable, const std::vector<int32_t>* touched);

  bool has_parts() const { return config_.kind == "sum" || config_.kind == "concat"; }
  // After an evaluation-mode forward of sum/concat: the ID (0) or text (1) contribution to the
  // table, [num_items, dim] without the padding row (concat splits its bias evenly).
  const float* part(int which) const;
  const ItemTowerConfig& config() const { return config_; }

 private:
  void text_forward(bool training, uint64_t step);
  void text_backward(const float* dB, const std::vector<int32_t>* touched);

  ItemTowerConfig config_;
  int64_t N_, D_;
  std::vector<int64_t> dims_;  // text MLP dims {in, hidden..., D}
  nn::Parameter *E_ = nullptr, *id_g_ = nullptr, *id_b_ = nullptr;  // ID part
  nn::Parameter* tok_ = nullptr;                                    // subword tokens
  std::vector<nn::Parameter*> W_, b_;                               // text MLP
  nn::Parameter *tx_g_ = nullptr, *tx_b_ = nullptr;                 // text LayerNorm
  nn::Parameter *Wc_ = nullptr, *bc_ = nullptr;                     // concat projection
  // Forward caches ([N, .] rows, item i in row i).
  nn::FloatBuffer A_, A_mean_, A_rstd_;                      // ID part
  nn::FloatBuffer X_, Y_, mask_, Yd_, B_, B_mean_, B_rstd_;  // text part
  nn::MLPCache<float> mlp_;
  nn::FloatBuffer AB_, part_id_, part_text_;  // concat input; eval-mode parts
  // Backward workspaces, kept across steps (fresh pages per step cost more than the math).
  nn::FloatBuffer dA_, dB_, dAB_, dYd_, dY_, dX_;
};

}  // namespace sessrec
