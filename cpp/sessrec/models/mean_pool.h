// Mean pooling: the session vector at position t is a linear map of the mean of the item
// embeddings up to t. Order-blind, fast, and the simplest text-free baseline encoder.
#pragma once
#include <vector>

#include "sessrec/models/sequence_model.h"

namespace sessrec {

class MeanPool : public SequenceModel {
 public:
  explicit MeanPool(SequenceModelConfig config);

 protected:
  void forward(const SequenceBatch& batch, bool training, uint64_t step) override;
  void backward(const SequenceBatch& batch, const float* dout) override;
  const float* output() const override { return out_.data(); }

 private:
  nn::Parameter *W_, *b_;
  nn::FloatBuffer emb_, mask_, drop_, mean_, out_;
  nn::FloatBuffer dmean_, ddrop_, demb_;  // backward workspaces
};

}  // namespace sessrec
