// Rank metrics against values computed by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/eval/metrics.h"

using namespace sessrec;

TEST(RankMetrics, HandComputedValues) {
  // Target at rank 3, K = 5: hit; NDCG = 1/log2(4) = 0.5; MRR = 1/3; P = 1/5; R = 1.
  EXPECT_DOUBLE_EQ(rank_metric(RankMetric::Hits, 3, 5), 1.0);
  EXPECT_DOUBLE_EQ(rank_metric(RankMetric::NDCG, 3, 5), 0.5);
  EXPECT_DOUBLE_EQ(rank_metric(RankMetric::MRR, 3, 5), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(rank_metric(RankMetric::Precision, 3, 5), 0.2);
  EXPECT_DOUBLE_EQ(rank_metric(RankMetric::Recall, 3, 5), 1.0);
  // Rank 1: NDCG = 1/log2(2) = 1.
  EXPECT_DOUBLE_EQ(rank_metric(RankMetric::NDCG, 1, 10), 1.0);
  // Rank 7, K = 7 is still inside; NDCG = 1/log2(8) = 1/3.
  EXPECT_NEAR(rank_metric(RankMetric::NDCG, 7, 7), 1.0 / 3.0, 1e-12);
  // Outside K everything is zero.
  for (auto m : {RankMetric::Hits, RankMetric::NDCG, RankMetric::MRR, RankMetric::Precision,
                 RankMetric::Recall})
    EXPECT_EQ(rank_metric(m, 6, 5), 0.0);
}

TEST(RankMetrics, MeanOverExamples) {
  // Ranks 1, 2, 4, 30 at K = 10: Hits = 3/4; MRR = (1 + 1/2 + 1/4)/4 = 0.4375;
  // NDCG = (1 + 1/log2(3) + 1/log2(5)) / 4.
  std::vector<double> ranks{1, 2, 4, 30};
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / v.size();
  };
  EXPECT_DOUBLE_EQ(mean(rank_metric_values(RankMetric::Hits, ranks, 10)), 0.75);
  EXPECT_DOUBLE_EQ(mean(rank_metric_values(RankMetric::MRR, ranks, 10)), 0.4375);
  EXPECT_NEAR(mean(rank_metric_values(RankMetric::NDCG, ranks, 10)),
              (1.0 + 1.0 / std::log2(3.0) + 1.0 / std::log2(5.0)) / 4.0, 1e-12);
}

TEST(RankMetrics, RejectsBadInput) {
  EXPECT_THROW(rank_metric(RankMetric::Hits, 0.0, 5), InputError);
  EXPECT_THROW(rank_metric(RankMetric::Hits, 1.0, 0), InputError);
  EXPECT_THROW(parse_rank_metric("auc"), InputError);
  EXPECT_EQ(parse_rank_metric("NDCG"), RankMetric::NDCG);
}
