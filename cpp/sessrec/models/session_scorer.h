// SessionScorer: the C++ face of a recommender. It scores every catalogue item for a batch of
// session histories; evaluation and top-K recommendation are built on this one call.
#pragma once
#include <cstdint>

#include "sessrec/data/examples.h"

namespace sessrec {

class SessionScorer {
 public:
  virtual ~SessionScorer() = default;
  virtual int64_t num_items() const = 0;
  // out is batch.size x num_items(), row-major; every entry must be written.
  virtual void score(const HistoryBatch& batch, float* out) const = 0;
};

}  // namespace sessrec
