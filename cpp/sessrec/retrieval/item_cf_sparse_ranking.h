// Exact ItemCF ranking without a dense score row. A session reaches only the neighbours of its
// items (a few hundred); every other item scores its fixed fallback (the popularity fallback of
// ItemCF::score, or 0 without it). So the catalogue splits into a short list of scored items and
// a fixed order of the rest, known once per model:
//   top-k:  the scored items, merged with the first items of the fixed order that are not
//           scored (or excluded);
//   rank:   items above/equal to the target = those of the fixed values (binary search in their
//           sorted copy), corrected by the scored items (their fixed value out, their score in).
// Guarantee: the same items, scores, order and ranks as ItemCF::score followed by
// top_k_from_scores / ranks_from_scores (ties, NaN and exclude_history alike), at a cost of
// O(neighbours + k + log n) per session instead of O(n).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sessrec/data/examples.h"
#include "sessrec/eval/ranking.h"
#include "sessrec/retrieval/item_cf.h"

namespace sessrec {

class ItemCFSparseRanking {
 public:
  // Reads the fitted model's state once (O(n log n)); the model must not change afterwards.
  explicit ItemCFSparseRanking(std::shared_ptr<const ItemCF> model);

  int64_t num_items() const { return static_cast<int64_t>(unscored_.size()); }

  // As top_k_from_scores over ItemCF::score: items_out/scores_out are [batch.size, k], best
  // first, ties by smaller index, padded with -1 / -inf; exclude_history skips history items.
  void top_k(const HistoryBatch& batch, int64_t k, bool exclude_history, int32_t* items_out,
             float* scores_out) const;

  // As ranks_from_scores over ItemCF::score: the 1-based rank of targets[r] for history r.
  void ranks(const HistoryBatch& batch, const int32_t* targets, const RankOptions& options,
             double* ranks_out) const;

  // As rank_examples(model, ...): the rank of every example's target, polling for Ctrl-C.
  std::vector<double> rank_examples(const SessionStore& store, const ExampleSet& examples,
                                    const RankOptions& options) const;

 private:
  std::shared_ptr<const ItemCF> model_;
  std::vector<float> unscored_;          // score of item i when no neighbour list reaches it
  std::vector<float> unscored_sorted_;   // unscored_, ascending (for counting by value)
  std::vector<int32_t> unscored_order_;  // items by (unscored_ descending, index ascending)
};

}  // namespace sessrec
