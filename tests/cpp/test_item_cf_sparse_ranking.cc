// ItemCF's sparse ranking against the dense path (ItemCF::score, then top_k_from_scores and
// ranks_from_scores): identical items, scores and ranks on random models built to tie a lot.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>

#include "sessrec/errors.h"
#include "sessrec/eval/ranking.h"
#include "sessrec/retrieval/item_cf.h"
#include "sessrec/retrieval/item_cf_sparse_ranking.h"

using namespace sessrec;

namespace {

// A model whose similarities take two values and whose counts take three, with items that have
// no neighbours and items nobody lists (unseen in training: count 0).
std::shared_ptr<ItemCF> tie_heavy_model(int64_t n, bool fallback, uint32_t seed) {
  ItemCFConfig config;
  config.popularity_fallback = fallback;
  config.recency_decay = 0.5;  // powers of two: sums of equal terms tie exactly
  auto cf = std::make_shared<ItemCF>(config, n);
  std::mt19937 rng(seed);
  std::vector<int64_t> offsets{0}, counts(n);
  std::vector<int32_t> indices;
  std::vector<float> sims;
  for (int64_t x = 0; x < n; ++x) {
    const int64_t neighbours = x % 5 == 0 ? 0 : rng() % 6;
    for (int64_t j = 0; j < neighbours; ++j) {
      indices.push_back(static_cast<int32_t>(rng() % (n / 2)));  // the upper half is never listed
      sims.push_back(rng() % 2 ? 0.5f : 1.0f);
    }
    offsets.push_back(static_cast<int64_t>(indices.size()));
    counts[x] = x >= n - n / 8 ? 0 : static_cast<int64_t>(rng() % 3);
  }
  cf->set_state(offsets, indices, sims, counts);
  return cf;
}

struct Histories {
  std::vector<int32_t> items;
  std::vector<int64_t> begin, end;
  std::vector<int32_t> targets;
  HistoryBatch batch() const {
    return HistoryBatch{items.data(), begin.data(), end.data(), static_cast<int64_t>(end.size())};
  }
};

Histories random_histories(int64_t n, int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  Histories h;
  for (int64_t r = 0; r < rows; ++r) {
    h.begin.push_back(static_cast<int64_t>(h.items.size()));
    const int64_t length = r % 7 == 0 ? 0 : 1 + rng() % 6;  // some empty histories
    for (int64_t t = 0; t < length; ++t) h.items.push_back(static_cast<int32_t>(rng() % n));
    h.end.push_back(static_cast<int64_t>(h.items.size()));
    h.targets.push_back(static_cast<int32_t>(rng() % n));
  }
  return h;
}

}  // namespace

TEST(ItemCFSparseRanking, TopKAndRanksEqualTheDensePath) {
  const int64_t n = 200, rows = 300;
  for (bool fallback : {true, false}) {
    for (uint32_t seed : {1u, 2u, 3u}) {
      auto cf = tie_heavy_model(n, fallback, seed);
      ItemCFSparseRanking sparse(cf);
      Histories h = random_histories(n, rows, seed + 10);
      HistoryBatch batch = h.batch();
      std::vector<float> dense(rows * n);
      cf->score(batch, dense.data());
      for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{50}, n, n + 5}) {
        for (bool exclude : {false, true}) {
          std::vector<int32_t> want_items(rows * k), got_items(rows * k);
          std::vector<float> want_scores(rows * k), got_scores(rows * k);
          top_k_from_scores(dense.data(), rows, n, k, exclude ? &batch : nullptr, want_items.data(),
                            want_scores.data());
          sparse.top_k(batch, k, exclude, got_items.data(), got_scores.data());
          ASSERT_EQ(want_items, got_items) << "k " << k << " exclude " << exclude;
          ASSERT_EQ(0, std::memcmp(want_scores.data(), got_scores.data(), 4 * rows * k));
        }
      }
      for (TiePolicy ties : {TiePolicy::Pessimistic, TiePolicy::Optimistic, TiePolicy::Average}) {
        for (bool exclude : {false, true}) {
          RankOptions options{ties, exclude};
          std::vector<double> want(rows), got(rows);
          ranks_from_scores(dense.data(), rows, n, h.targets.data(), &batch, options, want.data());
          sparse.ranks(batch, h.targets.data(), options, got.data());
          ASSERT_EQ(want, got) << "fallback " << fallback << " exclude " << exclude;
        }
      }
    }
  }
}

TEST(ItemCFSparseRanking, FittedModelRanksExamplesAsRankExamples) {
  SessionStore train;
  std::mt19937 rng(7);
  train.offsets = {0};
  for (int s = 0; s < 400; ++s) {
    const int length = 2 + rng() % 5;
    for (int t = 0; t < length; ++t) train.items.push_back(static_cast<int32_t>(rng() % 150));
    train.offsets.push_back(static_cast<int64_t>(train.items.size()));
  }
  auto cf = std::make_shared<ItemCF>(ItemCFConfig{}, 160);  // items 150..159 unseen
  cf->fit(train);
  ItemCFSparseRanking sparse(cf);
  ExampleSet examples = make_examples(train, TargetPositions::All, 50);
  for (bool exclude : {false, true}) {
    RankOptions options{TiePolicy::Pessimistic, exclude};
    EXPECT_EQ(rank_examples(*cf, train, examples, options),
              sparse.rank_examples(train, examples, options));
  }
}

TEST(ItemCFSparseRanking, RefusesBadInput) {
  auto cf = tie_heavy_model(20, true, 1);
  ItemCFSparseRanking sparse(cf);
  Histories h = random_histories(20, 3, 1);
  std::vector<int32_t> items(3);
  std::vector<float> scores(3);
  EXPECT_THROW(sparse.top_k(h.batch(), 0, true, items.data(), scores.data()), InputError);
  std::vector<int32_t> targets{0, 20, 1};
  std::vector<double> ranks(3);
  EXPECT_THROW(sparse.ranks(h.batch(), targets.data(), RankOptions{}, ranks.data()), InputError);
}
