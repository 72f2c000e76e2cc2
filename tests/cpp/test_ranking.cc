// Full ranking: tie policies, history exclusion, NaN handling, blocked scoring and top-K.
#include <gtest/gtest.h>

#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/eval/ranking.h"

using namespace sessrec;

TEST(Ranking, TiePolicies) {
  // Target item 2 scores 0.5; item 0 scores higher, items 1 and 3 tie with it.
  const float scores[] = {0.9f, 0.5f, 0.5f, 0.5f, 0.1f};
  const int32_t target = 2;
  double rank = 0;
  RankOptions o;
  o.ties = TiePolicy::Pessimistic;
  ranks_from_scores(scores, 1, 5, &target, nullptr, o, &rank);
  EXPECT_DOUBLE_EQ(rank, 4.0);
  o.ties = TiePolicy::Optimistic;
  ranks_from_scores(scores, 1, 5, &target, nullptr, o, &rank);
  EXPECT_DOUBLE_EQ(rank, 2.0);
  o.ties = TiePolicy::Average;
  ranks_from_scores(scores, 1, 5, &target, nullptr, o, &rank);
  EXPECT_DOUBLE_EQ(rank, 3.0);
}

TEST(Ranking, ExcludeHistoryRemovesOnlyOtherHistoryItems) {
  const float scores[] = {0.9f, 0.8f, 0.5f, 0.7f, 0.1f};
  // History holds item 0 (above the target), item 2 (the target itself) and item 0 again.
  const int32_t history_items[] = {0, 2, 0};
  const int64_t begin = 0, end = 3;
  HistoryBatch h{history_items, &begin, &end, 1};
  const int32_t target = 2;
  double rank = 0;
  RankOptions o;
  ranks_from_scores(scores, 1, 5, &target, &h, o, &rank);
  EXPECT_DOUBLE_EQ(rank, 4.0);  // 0, 1, 3 are above
  o.exclude_history = true;
  ranks_from_scores(scores, 1, 5, &target, &h, o, &rank);
  EXPECT_DOUBLE_EQ(rank, 3.0);  // item 0 removed once, the target stays
}

TEST(Ranking, RejectsNaNTargetAndBadTarget) {
  const float scores[] = {0.1f, NAN, 0.3f};
  int32_t target = 1;
  double rank = 0;
  EXPECT_THROW(ranks_from_scores(scores, 1, 3, &target, nullptr, RankOptions{}, &rank), InputError);
  target = 3;
  EXPECT_THROW(ranks_from_scores(scores, 1, 3, &target, nullptr, RankOptions{}, &rank), InputError);
}

namespace {
// Scores item i as (i + number of history items) mod N, so ranks are easy to predict.
class ModScorer : public SessionScorer {
 public:
  explicit ModScorer(int64_t n) : n_(n) {}
  int64_t num_items() const override { return n_; }
  void score(const HistoryBatch& b, float* out) const override {
    for (int64_t r = 0; r < b.size; ++r)
      for (int64_t i = 0; i < n_; ++i) out[r * n_ + i] = float((i + b.length(r)) % n_);
  }

 private:
  int64_t n_;
};
}  // namespace

TEST(Ranking, BlockedScoringMatchesOneBlock) {
  SessionStore store;
  store.items = {0, 1, 2, 3, 4, 1, 2, 0};
  store.offsets = {0, 5, 8};
  ExampleSet ex = make_examples(store, TargetPositions::All, 0);
  ASSERT_EQ(ex.size(), 6);
  ModScorer scorer(5);
  RankOptions big, tiny;
  tiny.block_bytes = 1;  // one row per block
  auto a = rank_examples(scorer, store, ex, big);
  auto b = rank_examples(scorer, store, ex, tiny);
  ASSERT_EQ(a, b);
  // First example: history {0} (length 1), target 1 scores (1+1)%5 = 2; items scoring more: 3,4.
  EXPECT_DOUBLE_EQ(a[0], 3.0);
}

TEST(Ranking, TopKOrdersAndExcludes) {
  const float scores[] = {0.2f, 0.9f, 0.9f, 0.4f};
  int32_t items[3];
  float top[3];
  top_k_from_scores(scores, 1, 4, 3, nullptr, items, top);
  EXPECT_EQ(items[0], 1);  // ties broken by smaller index
  EXPECT_EQ(items[1], 2);
  EXPECT_EQ(items[2], 3);
  const int32_t hist[] = {1};
  const int64_t begin = 0, end = 1;
  HistoryBatch h{hist, &begin, &end, 1};
  top_k_from_scores(scores, 1, 4, 3, &h, items, top);
  EXPECT_EQ(items[0], 2);
  EXPECT_EQ(items[1], 3);
  EXPECT_EQ(items[2], 0);
}

TEST(Examples, PrefixesRespectMaxHistoryAndLastOnly) {
  SessionStore store;
  store.items = {5, 6, 7, 8, 9, 1};
  store.offsets = {0, 4, 5, 6};  // lengths 4, 1, 1
  ExampleSet all = make_examples(store, TargetPositions::All, 2);
  ASSERT_EQ(all.size(), 3);
  EXPECT_EQ(all.begin[2], 1);  // target at 3, history capped to 2 items: [1, 3)
  EXPECT_EQ(all.end[2], 3);
  ExampleSet last = make_examples(store, TargetPositions::Last, 0);
  ASSERT_EQ(last.size(), 1);
  EXPECT_EQ(last.begin[0], 0);
  EXPECT_EQ(last.end[0], 3);
}
