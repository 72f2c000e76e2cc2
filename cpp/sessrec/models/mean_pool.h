// Mean pooling: the session vector at position t is the mean of the item embeddings up to t,
// through a linear layer (linear = true) or as it is (linear = false: g_mean of the AlterRec
// paper, Eq. 2, q_s = (1/|s|) sum_i X_{s_i}). Order-blind, fast, the simplest baseline encoder.
#pragma once
#include <vector>

#include "sessrec/models/sequence_model.h"

namespace sessrec {

struct MeanPoolConfig {
  SequenceModelConfig base;
  bool linear = true;  // a D x D linear layer (with bias) after the mean
};

class MeanPool : public SequenceModel {
 public:
  explicit MeanPool(MeanPoolConfig config);
  bool linear() const { return W_ != nullptr; }

 protected:
  void forward(const SequenceBatch& batch, bool training, uint64_t step) override;
  void backward(const SequenceBatch& batch, const float* dout) override;
  const float* output() const override { return W_ != nullptr ? out_.data() : mean_.data(); }

 private:
  nn::Parameter *W_ = nullptr, *b_ = nullptr;
  nn::FloatBuffer emb_, mask_, drop_, mean_, out_;
  nn::FloatBuffer dmean_, ddrop_, demb_;  // backward workspaces
};

}  // namespace sessrec
