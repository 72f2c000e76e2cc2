// SASRec: item + learned position embeddings, a stack of causal transformer blocks, the last
// position's output as the session vector, scored against the tied item embeddings.
// post_ln = true follows RecBole's SASRec (LayerNorm on the embeddings and after each
// residual); post_ln = false is the pre-LN block with a final LayerNorm.
#pragma once
#include <memory>
#include <vector>

#include "sessrec/models/sequence_model.h"
#include "sessrec/nn/transformer.h"

namespace sessrec {

struct SASRecConfig {
  SequenceModelConfig base;
  int64_t layers = 2;
  int64_t heads = 2;
  int64_t ffn_dim = 256;
  bool post_ln = true;
  bool gelu = true;  // FFN activation: GELU, or ReLU when false
};

class SASRec : public SequenceModel {
 public:
  explicit SASRec(SASRecConfig config);
  const SASRecConfig& sasrec_config() const { return sasrec_; }

 protected:
  void forward(const SequenceBatch& batch, bool training, uint64_t step) override;
  void backward(const SequenceBatch& batch, const float* dout) override;
  const float* output() const override { return out_.data(); }

 private:
  // Packs the batch's real positions: sequence b is rows offsets_[b] .. offsets_[b+1]-1.
  void pack(const SequenceBatch& batch);

  SASRecConfig sasrec_;
  nn::Parameter *pos_, *ln_g_, *ln_b_;           // embedding LN (post-LN) or final LN (pre-LN)
  std::unique_ptr<nn::TransformerStack> stack_;  // causal blocks, parameters "layers.<l>."
  std::vector<int64_t> offsets_, positions_;
  std::vector<int32_t> ids_;
  const float* last_ = nullptr;  // the stack's output of the last forward
  nn::FloatBuffer x0_, e_, mean0_, rstd0_, mask0_, x_, final_, out_;
  // Backward workspaces, kept to avoid fresh pages every step.
  nn::FloatBuffer dx_, dout_, de_, dx0_;
};

}  // namespace sessrec
