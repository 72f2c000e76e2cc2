// GRU4Rec as RecBole builds it: item embedding -> dropout -> GRU -> dense layer back to the
// embedding size; every position's output is scored against the tied item embeddings.
#pragma once
#include <vector>

#include "sessrec/models/sequence_model.h"

namespace sessrec {

struct GRU4RecConfig {
  SequenceModelConfig base;
  int64_t hidden = 64;
};

class GRU4Rec : public SequenceModel {
 public:
  explicit GRU4Rec(GRU4RecConfig config);
  int64_t hidden() const { return hidden_; }

 protected:
  void forward(const SequenceBatch& batch, bool training, uint64_t step) override;
  void backward(const SequenceBatch& batch, const float* dout) override;
  const float* output() const override { return out_.data(); }
  // The GRU's input vectors x [B*T, dim] of a batch, zero at padding: here the item embeddings;
  // a subclass may build them otherwise (SideInfoGRU fuses side information in).
  virtual void input_forward(const SequenceBatch& batch, float* x);
  // dx [B*T, dim]: the loss gradient of those inputs, to be added to the parameters' gradients.
  virtual void input_backward(const SequenceBatch& batch, const float* dx);
  // The input vectors of the last forward [B*T, dim], and its outputs to adjust in place.
  const float* inputs() const { return emb_.data(); }
  float* writable_output() { return out_.data(); }

 private:
  int64_t hidden_;
  nn::Parameter *W_ih_, *b_ih_, *W_hh_, *b_hh_, *W_out_, *b_out_;
  // Per-batch activations.
  nn::FloatBuffer emb_, emb_mask_, emb_drop_, x_proj_, h_, gates_, hn_, out_;
  // Backward workspaces, kept to avoid fresh pages every step.
  nn::FloatBuffer dh_, dx_proj_, demb_drop_, demb_;
};

}  // namespace sessrec
