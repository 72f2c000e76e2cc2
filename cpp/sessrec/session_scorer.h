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
  // Rows a score call should cover at least, whatever the block budget: an embedding scorer
  // streams its whole item table once per call, so a handful of rows per call at a million
  // items would make evaluation memory-bound on the table (0: no preference).
  virtual int64_t preferred_block_rows() const { return 0; }
};

}  // namespace sessrec
