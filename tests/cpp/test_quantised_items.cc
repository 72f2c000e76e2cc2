// Quantised item tables and exact re-scoring (retrieval/quantised_items.h): approximation error
// within the quantisation step, candidates ordered by the approximate score, and re-scoring that
// equals brute force (ties by index, exclusions, padding, -1 and repeated candidates).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "sessrec/errors.h"
#include "sessrec/retrieval/quantised_items.h"

using namespace sessrec;

namespace {
std::vector<float> random_table(int64_t n, int64_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> t(n * dim);
  for (float& x : t) x = normal(rng);
  return t;
}
}  // namespace

TEST(QuantisedItemTable, ApproximatesInnerProductsWithinTheStep) {
  const int64_t n = 37, dim = 11;  // neither a multiple of the block nor of two
  auto items = random_table(n, dim, 1);
  auto query = random_table(1, dim, 2);
  for (auto kind : {ItemQuantisation::Int8, ItemQuantisation::BFloat16}) {
    QuantisedItemTable table(items.data(), n, dim, kind);
    std::vector<float> approx(n);
    table.approximate_scores(query.data(), approx.data());
    for (int64_t i = 0; i < n; ++i) {
      float exact = 0, bound = 0, largest = 0;
      for (int64_t d = 0; d < dim; ++d) {
        exact += query[d] * items[i * dim + d];
        largest = std::max(largest, std::fabs(items[i * dim + d]));
      }
      for (int64_t d = 0; d < dim; ++d)
        bound += std::fabs(query[d]) * (kind == ItemQuantisation::Int8
                                            ? 0.5f * largest / 127.0f
                                            : std::fabs(items[i * dim + d]) / 256.0f);
      EXPECT_NEAR(approx[i], exact, bound + 1e-5f) << "item " << i;
    }
  }
}

TEST(QuantisedItemTable, CandidatesFollowTheApproximateOrder) {
  const int64_t n = 50, dim = 8;
  auto items = random_table(n, dim, 3);
  auto queries = random_table(3, dim, 4);
  QuantisedItemTable table(items.data(), n, dim, ItemQuantisation::Int8);
  std::vector<int32_t> pool(3 * (n + 2));
  table.top_candidates(queries.data(), 3, n + 2, pool.data());
  for (int64_t q = 0; q < 3; ++q) {
    std::vector<float> approx(n);
    table.approximate_scores(queries.data() + q * dim, approx.data());
    std::vector<int32_t> want(n);
    std::iota(want.begin(), want.end(), 0);
    std::stable_sort(want.begin(), want.end(),
                     [&](int32_t a, int32_t b) { return approx[a] > approx[b]; });
    for (int64_t j = 0; j < n; ++j) EXPECT_EQ(pool[q * (n + 2) + j], want[j]);
    EXPECT_EQ(pool[q * (n + 2) + n], -1);  // padding beyond the catalogue
  }
}

TEST(ExactRescore, EqualsBruteForceWithTiesAndExclusions) {
  const int64_t n = 6, dim = 2;
  // Items 1, 3 and 4 tie; item 5 is best.
  std::vector<float> items{0, 0, 1, 1, 0.5f, 0, 1, 1, 1, 1, 3, 3};
  std::vector<float> query{1, 1};
  std::vector<int32_t> candidates{4, -1, 3, 1, 5, 3, 2};  // -1 and a repeat are skipped
  std::vector<int32_t> history{5};
  std::vector<int64_t> begin{0}, end{1};
  HistoryBatch exclude{history.data(), begin.data(), end.data(), 1};
  std::vector<int32_t> top(5);
  std::vector<float> scores(5);
  exact_rescore_top_k(query.data(), 1, items.data(), n, dim, candidates.data(), 7, 5, &exclude,
                      top.data(), scores.data());
  EXPECT_EQ(top, (std::vector<int32_t>{1, 3, 4, 2, -1}));
  EXPECT_EQ(scores[0], 2.0f);
  EXPECT_EQ(scores[3], 0.5f);
  EXPECT_TRUE(std::isinf(scores[4]) && scores[4] < 0);
}

TEST(QuantisedItemTable, RefusesBadInput) {
  std::vector<float> items{1, std::nanf(""), 0, 1};
  EXPECT_THROW(QuantisedItemTable(items.data(), 2, 2, ItemQuantisation::Int8), InputError);
  EXPECT_THROW(QuantisedItemTable(items.data(), 0, 2, ItemQuantisation::BFloat16), InputError);
  EXPECT_THROW(parse_item_quantisation("int4"), InputError);
  std::vector<float> ok{1, 0, 0, 1}, query{1, 0};
  std::vector<int32_t> bad{7}, top(1);
  std::vector<float> scores(1);
  EXPECT_THROW(exact_rescore_top_k(query.data(), 1, ok.data(), 2, 2, bad.data(), 1, 1, nullptr,
                                   top.data(), scores.data()),
               InputError);
}
