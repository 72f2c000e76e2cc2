// Quantised item tables for serving: approximate inner products over a compressed copy of the
// float32 item table pick a candidate pool, and exact float32 re-scoring (exact_rescore_top_k)
// orders it. Reading the table is the cost of one session over a million items, so a table of
// int8 codes (a float scale per row, 1/4 of the bytes) or of bfloat16 values (1/2) answers
// faster; the re-scoring makes the top-k exact whenever the true top-k lies in the pool.
//
// Layout: rows in blocks of kRowsPerBlock, each block stored dim-major ([dim][kRowsPerBlock]),
// so that one query updates kRowsPerBlock running sums with contiguous, vectorised loads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/data/examples.h"

namespace sessrec {

enum class ItemQuantisation { Int8, BFloat16 };
ItemQuantisation parse_item_quantisation(const std::string& name);  // "int8" | "bf16"

class QuantisedItemTable {
 public:
  static constexpr int64_t kRowsPerBlock = 16;

  // items: [num_items, dim] float32, finite (InputError otherwise).
  QuantisedItemTable(const float* items, int64_t num_items, int64_t dim, ItemQuantisation kind);

  int64_t num_items() const { return num_items_; }
  int64_t dim() const { return dim_; }
  ItemQuantisation kind() const { return kind_; }
  int64_t bytes() const;

  // Approximate scores <query, item i> for every item, [num_items].
  void approximate_scores(const float* query, float* out) const;

  // The `pool` items of highest approximate score per query (best first, ties by smaller index),
  // [count, pool]; -1 pads when pool > num_items. Threads split the items of a few queries at a
  // time, so one query uses every core.
  void top_candidates(const float* queries, int64_t count, int64_t pool, int32_t* out) const;

 private:
  // Approximate scores of the rows of block b for each of `count` queries: out[q * kRowsPerBlock].
  void score_block(int64_t b, const float* queries, int64_t count, float* out) const;

  int64_t num_items_, dim_;
  ItemQuantisation kind_;
  std::vector<int8_t> int8_codes_;    // Int8: [blocks][dim][kRowsPerBlock]
  std::vector<float> scales_;         // Int8: per row, x ~ scale * code
  std::vector<uint16_t> bf16_codes_;  // BFloat16: [blocks][dim][kRowsPerBlock], upper 16 bits
};

// Exact float32 re-scoring: for query r, scores <queries[r], items[c]> of its candidates
// c = candidates[r * width + j] (-1 and repeated entries skipped, and the items of history r
// when `exclude` is given), and writes the top k by score (ties by smaller index) to
// items_out/scores_out [count, k], padded with -1 / -inf.
void exact_rescore_top_k(const float* queries, int64_t count, const float* items, int64_t num_items,
                         int64_t dim, const int32_t* candidates, int64_t width, int64_t k,
                         const HistoryBatch* exclude, int32_t* items_out, float* scores_out);

}  // namespace sessrec
