// SideInfoGRU: the customised GRU of the KDD Cup 2023 5th-place solution (Zhang et al. 2023,
// §2.1.2): "we utilize mean pooling on the embeddings of the items as well as their associated
// side information (such as price and brand) to derive fused embeddings. Subsequently, these
// embeddings are fed into a GRU layer for the extraction of sequential features. [...] we
// introduce a sequence-level residual connection block. This block conducts mean pooling on the
// initial fused embeddings prior to the GRU layer. It is then added to the output of the GRU
// layer to generate the final sequential representation."
//
// A GRU4Rec whose inputs are fused vectors, plus the residual. Shapes (B rows, T positions,
// N = B*T, D dim, F side fields):
//   fused[n]   = (E[item_n] + sum_f S_f[code_f(item_n)]) / (1 + F)     [N, D], 0 at padding
//   out        = GRU4Rec's dense(GRU(dropout(fused)))                    [N, D]
//   out[b, t] += mean of fused[b, s] over valid s <= t                   (if residual)
// Each field f has its own table S_f [size_f, D]; row 0 is the "missing" value. The residual
// mean is causal (positions s <= t), so that every position trained as a target sees only its
// own history; at scoring time the last position's mean is over all of the last max_len items.
// Without side fields and residual the model is GRU4Rec: same parameters, initial values and
// dropout masks.
//
// What the output is scored against: the tied item ID embeddings E, as GRU4Rec does. The paper's
// Figure 2 shows one "shared embedding lookup" for the input items; it says nothing of side
// information on the output side, and scoring against E keeps the objectives (full and sampled
// softmax) and blocked full-catalogue ranking of SequenceModel unchanged. Scoring against fused
// item vectors would need a per-step recomputation of the whole fused table and a backward
// through it into the side tables (an item tower), which SequenceModel only offers for its fixed
// tower kinds, so it is not an option here.
#pragma once
#include <string>
#include <vector>

#include "sessrec/models/gru4rec.h"

namespace sessrec {

struct SideInfoGRUConfig {
  SequenceModelConfig base;
  int64_t hidden = 64;
  bool residual = true;
  // One entry per side field: its name (parameter "side_embedding.<name>") and its number of
  // rows (row 0 = missing, so at least 1).
  std::vector<std::string> field_names;
  std::vector<int64_t> field_sizes;
  // [num_items, F] row-major: the row of item i in table f (0 = missing); empty when F = 0.
  std::vector<int32_t> item_codes;

  void validate() const;
};

class SideInfoGRU : public GRU4Rec {
 public:
  explicit SideInfoGRU(SideInfoGRUConfig config);
  int64_t num_fields() const { return static_cast<int64_t>(side_.size()); }
  bool residual() const { return residual_; }

 protected:
  void forward(const SequenceBatch& batch, bool training, uint64_t step) override;
  void backward(const SequenceBatch& batch, const float* dout) override;
  void input_forward(const SequenceBatch& batch, float* x) override;
  void input_backward(const SequenceBatch& batch, const float* dx) override;

 private:
  bool residual_;
  std::vector<int32_t> item_codes_;   // [num_items, F]
  std::vector<nn::Parameter*> side_;  // S_f
  std::vector<float> inverse_count_;  // [N] 1 / (valid positions <= t), 0 at padding
  // dfused: the residual's gradient of the fused vectors (backward), then the whole gradient.
  nn::FloatBuffer dfused_;
};

}  // namespace sessrec
