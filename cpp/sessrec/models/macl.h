// MACL (Zhang et al., 2025, "Rethinking Contrastive Learning in Session-based Recommendation"):
// a SASRec encoder over multi-modal items, trained with the recommendation cross-entropy plus an
// item-level and a session-level contrastive task on semantically consistent augmented views,
// each weighted by the adaptive contrastive loss.
//
// Items (Sec. 4.1.1, "A fusion network is developed to merge such information for comprehensive
// item representations"): e_i = e^{id}_i + g_1 \odot e^{img}_i + g_2 \odot e^{txt}_i, the gates
// of nn/masked_gated_fusion.h, where e^{img} = W_img x_img + b and e^{txt} = W_txt x_txt + b
// project the item's image and text vectors (x_txt: a frozen text vector, or the mean of
// learned sentencepiece token embeddings). An item may lack a modality (masked, see the kernel).
//
// Training step (one C++ call): the original batch and its augmented copy run through SASRec
// together (rows B..2B-1 read augmented item rows appended to the item table), then
//   L = CE + item_weight * L_item + session_weight * L_session,
// L_item: anchor e_i (original view) against e'_i (an augmented view of the same item), negatives
// the augmented views of M other items of the batch; L_session: anchor h_s, the session vector,
// against h'_s, the session encoded from augmented items - "applying the same technique to all
// items in a session creates an augmented session view" - negatives M other sessions' h'.
// Each is loss/adaptive_info_nce.h (adaptive, or equal weights).
//
// Augmentation "semantic" (MACL): each view draws one image op (models/macl_augmentation.h:
// noise, dropout, mix within a category) and one text op (text/token_augmentation.h on tokens:
// delete, substitute, insert, swap; or the feature ops for a frozen text vector), the same ops
// for every item of a session. "id" (MACL-com): the session view is a crop, mask or reorder of
// the item IDs, and there is no item-level task (an ID cannot be augmented by itself).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sessrec/data/session_store.h"
#include "sessrec/loss/objective.h"
#include "sessrec/models/macl_augmentation.h"
#include "sessrec/models/sasrec.h"
#include "sessrec/nn/mlp.h"
#include "sessrec/text/token_augmentation.h"

namespace sessrec {

struct MACLConfig {
  SASRecConfig sasrec;  // the encoder (its base.tower must be "id": MACL has its own items)
  // Image: frozen vectors [num_items, image_dim] (image_dim 0: no image modality).
  std::shared_ptr<const std::vector<float>> image;
  int64_t image_dim = 0;
  std::vector<uint8_t> image_mask;  // [num_items], 1 = the item has an image; empty: all
  // Text: "none", "features" (frozen vectors [num_items, text_dim]) or "subword" (learned token
  // embeddings of token_dim, averaged over the item's tokens; items without tokens lack text).
  std::string text_source = "none";
  std::shared_ptr<const std::vector<float>> text;
  int64_t text_dim = 0;
  std::shared_ptr<const std::vector<int64_t>> token_offsets;
  std::shared_ptr<const std::vector<int32_t>> tokens;
  int64_t vocab_size = 0;
  int64_t token_dim = 64;
  std::vector<uint8_t> text_mask;   // [num_items]; empty: all (subword: items with tokens)
  std::vector<int32_t> categories;  // [num_items] for "mix" (-1: none); empty: no categories
  // The contrastive tasks.
  float item_weight = 0.1f;     // lambda of L_item (0: no item-level task)
  float session_weight = 0.1f;  // lambda of L_session (0: no session-level task)
  int64_t num_negatives = 64;   // M (capped at the batch's sets - 1)
  float cl_temperature = 0.2f;
  bool adaptive = true;                   // adaptive weights (false: equal weights)
  int64_t weight_hidden = 32;             // the weighting MLP's hidden width
  std::string augmentation = "semantic";  // semantic | id
  int64_t max_item_sets = 256;            // item-level sets per step (distinct items of the batch)
  std::vector<std::string> image_ops = {"noise", "dropout", "mix"};
  std::vector<std::string> text_ops = {"delete", "substitute", "insert"};
  std::vector<std::string> id_ops = {"crop", "mask", "reorder"};
  FeatureViewConfig feature_view;
  float token_rate = 0.2f;  // share of an item's tokens a text op edits
  int64_t neighbours = 5;   // co-occurrence neighbours per token (substitute, insert)
  SequenceViewConfig sequence_view;

  bool has_image() const { return image_dim > 0; }
  bool has_text() const { return text_source != "none"; }
  void validate() const;
};

// The losses of one step, for the training log.
struct MACLStep {
  StepResult result;  // loss: the total; targets: the CE's targets
  float ce = 0, item = 0, session = 0;
  float alpha_min = 1, alpha_max = 1;  // the adaptive weights' range (session task, else item)
};

// What the last training step drew, so that a reference implementation (the PyTorch parity
// test) can rebuild the same loss: the augmented item rows (rows N+1.. of the encoder's table),
// the encoder's batch (rows B..2B-1 the augmented sessions), the item-level sets and both tasks'
// negatives.
struct MACLViews {
  std::vector<int32_t> row_items;          // [R] the item of each augmented row
  std::vector<float> row_image;            // [R, image_dim]
  std::vector<float> row_text;             // [R, text_dim] (frozen text)
  std::vector<int64_t> row_token_offsets;  // [R + 1] (subword)
  std::vector<int32_t> row_tokens;
  int64_t rows = 0, T = 0;
  std::vector<int32_t> inputs;                             // [rows, T] table ids (0 padding)
  std::vector<int64_t> last;                               // [rows]
  std::vector<int32_t> item_sets;                          // [S, 2]: item, augmented row
  std::vector<int32_t> item_negatives, session_negatives;  // [S, M_item], [B, M_session]
  int64_t item_M = 0, session_M = 0;
};

// The losses of the training steps since the last take_totals(), for the training log.
struct MACLTotals {
  int64_t steps = 0;
  double ce = 0, item = 0, session = 0;  // sums over the steps
  float alpha_min = 1, alpha_max = 1;    // the range of every step's adaptive weights
};

class MACL : public SASRec {
 public:
  explicit MACL(MACLConfig config);
  const MACLConfig& macl_config() const { return macl_; }

  // Evaluation-mode scores against the fused item table.
  void score(const HistoryBatch& batch, float* out) const override;
  void encode(const HistoryBatch& batch, float* out) const;
  // The fused item table [num_items + 1, dim] (row 0 padding), evaluation mode.
  std::vector<float> item_table() const;
  // Forward, the three losses and backward on the units; gradients are left in params().
  MACLStep forward_backward(const SessionStore& store, const int64_t* begin, const int64_t* end,
                            int64_t count, bool last_only);
  MACLStep train_step(const SessionStore& store, const int64_t* begin, const int64_t* end,
                      int64_t count, bool last_only, nn::Adam& optimizer);
  void parameters_changed() { table_is_eval_ = false; }
  void set_item_counts(std::vector<int64_t> counts);
  const TokenNeighbours& token_neighbours() const { return neighbours_; }
  const MACLViews& last_views() const { return views_; }
  // The totals of train_step since the last call, and a fresh start.
  MACLTotals take_totals();

 private:
  // The inputs and caches of one pass of the item tower over R rows.
  struct ItemRows {
    std::vector<int32_t> items;          // [R] item index (0-based)
    nn::FloatBuffer image;               // [R, image_dim] (empty: the catalogue's rows)
    nn::FloatBuffer text;                // [R, text_dim] frozen text (empty: catalogue)
    std::vector<int64_t> token_offsets;  // subword: [R + 1] (empty: the catalogue's)
    std::vector<int32_t> tokens;
    std::vector<uint8_t> image_mask, text_mask;  // [R]
    // caches
    nn::FloatBuffer id, e_img, e_txt, x_txt, u, g;
    void clear() {
      items.clear();
      image.clear();
      text.clear();
      token_offsets.clear();
      tokens.clear();
    }
  };
  void prepare_rows(ItemRows& rows) const;  // masks of the rows
  void items_forward(ItemRows& rows, float* out);
  void items_backward(ItemRows& rows, const float* dout);
  void ensure_eval_table();
  // Fills aug_ (and the augmented batch rows) for the step.
  void build_views(const SequenceBatch& batch, uint64_t step, SequenceBatch& combined,
                   std::vector<int32_t>& item_sets);

  MACLConfig macl_;
  int64_t N_, D_;
  nn::Parameter* id_;  // e^{id}: the base's "item_embedding" [N + 1, D]
  nn::Parameter *img_W_ = nullptr, *img_b_ = nullptr, *txt_W_ = nullptr, *txt_b_ = nullptr;
  nn::Parameter* tok_ = nullptr;
  std::vector<nn::Parameter*> gate_W_, gate_b_;
  nn::Parameter *mlp_W1_ = nullptr, *mlp_b1_ = nullptr, *mlp_W2_ = nullptr, *mlp_b2_ = nullptr;
  std::unique_ptr<loss::Objective> ce_;
  TokenNeighbours neighbours_;
  CategoryIndex categories_;
  std::vector<FeatureOp> image_ops_, text_feature_ops_;
  std::vector<TokenOp> text_ops_;
  std::vector<SequenceOp> id_ops_;
  // The encoder's item table: rows 0..N the original items, then the step's augmented rows.
  nn::Parameter table_;
  nn::Parameter original_;  // rows 0..N again, for the CE objective (which scores every row)
  bool table_is_eval_ = false;
  ItemRows orig_rows_, aug_rows_;
  MACLViews views_;
  MACLTotals totals_;
  mutable std::mutex macl_mutex_;
};

}  // namespace sessrec
