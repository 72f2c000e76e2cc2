// Scorers composed from sequence models, so that evaluation ranks them with the same blocked
// C++ code as every other model:
//   BlendScorer   alpha * a + (1 - alpha) * b      (AlterRec's inference, y = a y_ID + (1-a)
//                 y_text), and b alone for the items marked b_only (items that never occur in
//                 training: their ID embedding was never trained, only pushed down as a
//                 negative, so the ID score would bury them)
//   PartScorer    one part of a fused item tower   ("ID in NFRec", "text in NFRec")
#pragma once
#include <algorithm>
#include <memory>
#include <vector>

#include "sessrec/models/sequence_model.h"

namespace sessrec {

class BlendScorer : public SessionScorer {
 public:
  // b_only: empty, or one flag per item (1: score the item by b alone).
  BlendScorer(std::shared_ptr<const SessionScorer> a, std::shared_ptr<const SessionScorer> b,
              float alpha, std::vector<uint8_t> b_only = {});
  int64_t num_items() const override { return a_->num_items(); }
  void score(const HistoryBatch& batch, float* out) const override;
  int64_t preferred_block_rows() const override {
    return std::max(a_->preferred_block_rows(), b_->preferred_block_rows());
  }
  float alpha() const { return alpha_; }

 private:
  std::shared_ptr<const SessionScorer> a_, b_;
  float alpha_;
  std::vector<uint8_t> b_only_;
};

class PartScorer : public SessionScorer {
 public:
  PartScorer(std::shared_ptr<const SequenceModel> model, int which);
  int64_t num_items() const override { return model_->num_items(); }
  void score(const HistoryBatch& batch, float* out) const override {
    model_->score_part(batch, out, which_);
  }
  int64_t preferred_block_rows() const override { return model_->preferred_block_rows(); }

 private:
  std::shared_ptr<const SequenceModel> model_;
  int which_;
};

}  // namespace sessrec
