// The co-occurrence graph and its edge-weight statistics against cases worked by hand.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/retrieval/cooccurrence_features.h"
#include "sessrec/retrieval/item_cf.h"

using namespace sessrec;

namespace {
// Directed lists: 0 -> {1: 0.5, 2: 0.25}, 1 -> {0: 1.0}, 2 -> {}, 3 -> {1: 2.0}.
struct Directed {
  std::vector<int64_t> offsets{0, 2, 3, 3, 4};
  std::vector<int32_t> indices{1, 2, 0, 1};
  std::vector<float> sims{0.5f, 0.25f, 1.0f, 2.0f};
};

CooccurrenceGraph hand_graph() {
  Directed d;
  return symmetric_cooccurrence_graph(4, d.offsets.data(), d.indices.data(), d.sims.data());
}
}  // namespace

TEST(CooccurrenceGraph, SymmetrisesBySummingBothDirections) {
  CooccurrenceGraph g = hand_graph();
  g.validate();
  // {0,1} = 0.5 + 1.0, {0,2} = 0.25, {1,3} = 2.0; nothing else.
  EXPECT_FLOAT_EQ(g.weight(0, 1), 1.5f);
  EXPECT_FLOAT_EQ(g.weight(1, 0), 1.5f);
  EXPECT_FLOAT_EQ(g.weight(0, 2), 0.25f);
  EXPECT_FLOAT_EQ(g.weight(2, 0), 0.25f);
  EXPECT_FLOAT_EQ(g.weight(1, 3), 2.0f);
  EXPECT_FLOAT_EQ(g.weight(3, 1), 2.0f);
  EXPECT_EQ(g.weight(2, 3), 0.0f);
  EXPECT_EQ(g.weight(0, 0), 0.0f);
  EXPECT_EQ(g.offsets, (std::vector<int64_t>{0, 2, 4, 5, 6}));
  EXPECT_EQ(g.neighbours, (std::vector<int32_t>{1, 2, 0, 3, 0, 1}));
}

TEST(CooccurrenceGraph, EdgeStatsMatchHandComputation) {
  CooccurrenceGraph g = hand_graph();
  // History [0, 3, 0] (distinct {0, 3}); candidates 1, 2, 3 and an empty slot.
  std::vector<int32_t> items{0, 3, 0};
  std::vector<int64_t> begin{0}, end{3};
  std::vector<int32_t> cand{1, 2, 3, -1};
  std::vector<float> out(4 * kEdgeStats, -1.0f);
  edge_weight_stats(g, HistoryBatch{items.data(), begin.data(), end.data(), 1}, cand.data(), 4,
                    out.data());
  // Candidate 1: edges {0,1} = 1.5 and {3,1} = 2.0 -> mean 1.75, count 2, max 2, std 0.25.
  EXPECT_FLOAT_EQ(out[0 * kEdgeStats + kEdgeMean], 1.75f);
  EXPECT_FLOAT_EQ(out[0 * kEdgeStats + kEdgeCount], 2.0f);
  EXPECT_FLOAT_EQ(out[0 * kEdgeStats + kEdgeMax], 2.0f);
  EXPECT_NEAR(out[0 * kEdgeStats + kEdgeStd], 0.25f, 1e-6);
  // Candidate 2: only {0,2} = 0.25 (item 0 counts once although it occurs twice).
  EXPECT_FLOAT_EQ(out[1 * kEdgeStats + kEdgeMean], 0.25f);
  EXPECT_FLOAT_EQ(out[1 * kEdgeStats + kEdgeCount], 1.0f);
  EXPECT_FLOAT_EQ(out[1 * kEdgeStats + kEdgeMax], 0.25f);
  EXPECT_FLOAT_EQ(out[1 * kEdgeStats + kEdgeStd], 0.0f);
  // Candidate 3 shares no edge with 0 and is itself in the history (no self-loop): all 0.
  for (int s = 0; s < kEdgeStats; ++s) EXPECT_EQ(out[2 * kEdgeStats + s], 0.0f);
  for (int s = 0; s < kEdgeStats; ++s) EXPECT_EQ(out[3 * kEdgeStats + s], 0.0f);
}

TEST(CooccurrenceGraph, FromItemCFIsSymmetricAndThreadIndependent) {
  SessionStore s;
  s.items = {0, 1, 2, 1, 0, 3, 2, 4, 0, 4, 3, 1};
  s.offsets = {0, 3, 5, 8, 12};
  ItemCF cf(ItemCFConfig{}, 5);
  cf.fit(s);
  auto build = [&] {
    return symmetric_cooccurrence_graph(5, cf.offsets().data(), cf.indices().data(),
                                        cf.similarities().data());
  };
  omp_set_num_threads(1);
  CooccurrenceGraph one = build();
  omp_set_num_threads(2);
  CooccurrenceGraph two = build();
  EXPECT_EQ(one.weights, two.weights);
  for (int32_t x = 0; x < 5; ++x)
    for (int32_t y = 0; y < 5; ++y) {
      EXPECT_EQ(one.weight(x, y), one.weight(y, x));
      float expected = 0.0f;
      for (int64_t j = cf.offsets()[x]; j < cf.offsets()[x + 1]; ++j)
        if (cf.indices()[j] == y) expected += cf.similarities()[j];
      for (int64_t j = cf.offsets()[y]; j < cf.offsets()[y + 1]; ++j)
        if (cf.indices()[j] == x) expected += cf.similarities()[j];
      EXPECT_NEAR(one.weight(x, y), expected, 1e-6);
    }
}

TEST(CooccurrenceGraph, RejectsBadInput) {
  Directed d;
  d.indices[0] = 9;
  EXPECT_THROW(symmetric_cooccurrence_graph(4, d.offsets.data(), d.indices.data(), d.sims.data()),
               InputError);
  CooccurrenceGraph g = hand_graph();
  g.neighbours[0] = 2;  // row 0 now reads {2, 2}: not strictly ascending
  EXPECT_THROW(g.validate(), InputError);
  CooccurrenceGraph ok = hand_graph();
  std::vector<int32_t> items{0, 7};
  std::vector<int64_t> begin{0}, end{2};
  std::vector<int32_t> cand{1};
  std::vector<float> out(kEdgeStats);
  EXPECT_THROW(edge_weight_stats(ok, HistoryBatch{items.data(), begin.data(), end.data(), 1},
                                 cand.data(), 1, out.data()),
               InputError);
  items[1] = 1;
  cand[0] = 4;
  EXPECT_THROW(edge_weight_stats(ok, HistoryBatch{items.data(), begin.data(), end.data(), 1},
                                 cand.data(), 1, out.data()),
               InputError);
}
