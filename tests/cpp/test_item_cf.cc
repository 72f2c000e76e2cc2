// ItemCF: similarities and scores against the KDD Cup 2023 equations worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <omp.h>

#include "sessrec/errors.h"
#include "sessrec/retrieval/item_cf.h"

using namespace sessrec;

namespace {
SessionStore two_sessions() {
  SessionStore s;
  s.items = {0, 1, 2, 1, 0};
  s.offsets = {0, 3, 5};
  return s;
}

float sim_of(const ItemCF& cf, int32_t x, int32_t y) {
  for (int64_t j = cf.offsets()[x]; j < cf.offsets()[x + 1]; ++j)
    if (cf.indices()[j] == y) return cf.similarities()[j];
  return 0.0f;
}
}  // namespace

TEST(ItemCF, SimilaritiesMatchHandComputation) {
  ItemCF cf(ItemCFConfig{}, 3);
  cf.fit(two_sessions());
  // Raw weights, session [0 1 2] then [1 0]:
  //   C(0,1) = 1/4 (fwd, d=1) + 1/4*1/3 (bwd, d=1)            = 1/3
  //   C(0,2) = 1/9 * 1.8 (fwd, d=2, last)                      = 0.2
  //   C(1,0) = 1/4*1/3 (bwd) + 1/4*1.8 (fwd, last in [1 0])    = 1/12 + 0.45
  //   C(1,2) = 1/4*1.8                                         = 0.45
  //   C(2,0) = 1/9*1/3,  C(2,1) = 1/4*1/3
  // Counts |0| = 2, |1| = 2, |2| = 1; sim = C / (|x|^0.8 |y|^0.15).
  auto norm = [](double cx, double cy) { return std::pow(cx, 0.8) * std::pow(cy, 0.15); };
  EXPECT_NEAR(sim_of(cf, 0, 1), (1.0 / 3.0) / norm(2, 2), 1e-6);
  EXPECT_NEAR(sim_of(cf, 0, 2), 0.2 / norm(2, 1), 1e-6);
  EXPECT_NEAR(sim_of(cf, 1, 0), (1.0 / 12.0 + 0.45) / norm(2, 2), 1e-6);
  EXPECT_NEAR(sim_of(cf, 1, 2), 0.45 / norm(2, 1), 1e-6);
  EXPECT_NEAR(sim_of(cf, 2, 0), (1.0 / 27.0) / norm(1, 2), 1e-6);
  EXPECT_NEAR(sim_of(cf, 2, 1), (1.0 / 12.0) / norm(1, 2), 1e-6);
  EXPECT_EQ(sim_of(cf, 0, 0), 0.0f);  // no self-neighbours
  // Neighbours are sorted best first.
  EXPECT_EQ(cf.indices()[cf.offsets()[1]], 0);
}

TEST(ItemCF, EveryConstantIsAParameter) {
  ItemCFConfig c;
  c.distance_power = 1.0;
  c.backward_weight = 0.0;
  c.last_item_weight = 1.0;
  c.source_norm_power = 0.0;
  c.target_norm_power = 0.0;
  ItemCF cf(c, 3);
  cf.fit(two_sessions());
  EXPECT_NEAR(sim_of(cf, 0, 1), 0.5, 1e-6);          // forward d=1 only
  EXPECT_NEAR(sim_of(cf, 0, 2), 1.0 / 3.0, 1e-6);    // forward d=2
  EXPECT_EQ(sim_of(cf, 2, 0), 0.0f);                  // backward weight 0 removes the pair
}

TEST(ItemCF, ScoreSumsNeighboursWithRecency) {
  ItemCFConfig c;
  c.popularity_fallback = false;
  ItemCF cf(c, 3);
  cf.fit(two_sessions());
  const int32_t hist[] = {0, 1};
  const int64_t begin = 0, end = 2;
  float out[3];
  cf.score(HistoryBatch{hist, &begin, &end, 1}, out);
  for (int32_t y = 0; y < 3; ++y)
    EXPECT_NEAR(out[y], sim_of(cf, 1, y) + 0.7f * sim_of(cf, 0, y), 1e-6);
}

TEST(ItemCF, TopNAndFallback) {
  ItemCFConfig c;
  c.top_n = 1;
  ItemCF cf(c, 4);  // item 3 never occurs
  cf.fit(two_sessions());
  for (int32_t x = 0; x < 3; ++x) EXPECT_EQ(cf.offsets()[x + 1] - cf.offsets()[x], 1);
  const int32_t hist[] = {2};
  const int64_t begin = 0, end = 1;
  float out[4];
  cf.score(HistoryBatch{hist, &begin, &end, 1}, out);
  EXPECT_GT(out[1], 0.0f);  // 2's single kept neighbour is 1 (1/12 > 1/27 before norms)
  EXPECT_LT(out[0], 0.0f);  // unscored: popularity fallback, below every scored item
  EXPECT_LT(out[3], out[0]);  // never seen ranks below seen
}

TEST(ItemCF, DeterministicAcrossThreadCounts) {
  SessionStore s;
  for (int k = 0; k < 400; ++k) {
    for (int j = 0; j < 2 + k % 5; ++j) s.items.push_back((k * 7 + j * 13) % 97);
    s.offsets.push_back(s.items.size());
  }
  ItemCF a(ItemCFConfig{}, 97), b(ItemCFConfig{}, 97);
  omp_set_num_threads(1);
  a.fit(s);
  omp_set_num_threads(2);
  b.fit(s);
  EXPECT_EQ(a.indices(), b.indices());
  EXPECT_EQ(a.similarities(), b.similarities());
}

TEST(ItemCF, RejectsBadConfigAndData) {
  ItemCFConfig c;
  c.top_n = 0;
  EXPECT_THROW(ItemCF(c, 3), InputError);
  ItemCF cf(ItemCFConfig{}, 2);
  EXPECT_THROW(cf.fit(two_sessions()), InputError);  // item 2 outside a 2-item catalogue
}
