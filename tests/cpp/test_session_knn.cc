// V-SKNN against hand-worked examples, one per option of session-rec's VMContextKNN.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/retrieval/session_knn.h"

using namespace sessrec;

namespace {

// Training sessions (times 0, 1, 2): A = [0 1], B = [1 2 3], C = [0 4]; 6 items (5 unseen).
// Item event counts 2, 2, 1, 1, 1, 0 over 3 sessions.
SessionStore three_sessions() {
  SessionStore train;
  train.items = {0, 1, 1, 2, 3, 0, 4};
  train.offsets = {0, 2, 5, 7};
  return train;
}

// session-rec's defaults (k and sample_size from its docstring).
SessionKNNConfig session_rec() {
  SessionKNNConfig c;
  c.k = 100;
  c.sample_size = 500;
  c.similarity = "vec";
  c.weighting = "div";
  c.weighting_score = "div";
  c.idf_weighting = 0.0;
  return c;
}

std::vector<float> scores(SessionKNNConfig c, const std::vector<int32_t>& query) {
  c.popularity_fallback = false;
  SessionKNN knn(c, 6);
  knn.fit(three_sessions(), {0, 1, 2});
  const int64_t begin = 0, end = static_cast<int64_t>(query.size());
  std::vector<float> out(6);
  knn.score(HistoryBatch{query.data(), &begin, &end, 1}, out.data());
  return out;
}

}  // namespace

TEST(SessionKNN, DecayFunctionsAreSessionRecs) {
  // Position weights w(p, T).
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kSame, 1, 4), 1.0f);
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kDiv, 1, 4), 0.25f);
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kLinear, 1, 4), 0.7f);
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kLinear, 1, 15), 0.0f);   // not negative
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kLinear, 15, 15), 1.0f);  // session-rec: 0
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kLog, 3, 4), 1.0f / std::log10(2.7f));
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kLog, 4, 4), 1.0f / std::log10(1.7f));
  EXPECT_FLOAT_EQ(knn_position_weight(KnnDecay::kQuadratic, 1, 4), 0.0625f);
  // Score decays d(step).
  EXPECT_FLOAT_EQ(knn_score_decay(KnnDecay::kSame, 7), 1.0f);
  EXPECT_FLOAT_EQ(knn_score_decay(KnnDecay::kDiv, 4), 0.25f);
  EXPECT_FLOAT_EQ(knn_score_decay(KnnDecay::kLinear, 3), 0.7f);
  EXPECT_FLOAT_EQ(knn_score_decay(KnnDecay::kLinear, 12), 0.0f);  // session-rec: -0.2
  EXPECT_FLOAT_EQ(knn_score_decay(KnnDecay::kLog, 1), 1.0f / std::log10(2.7f));
  EXPECT_FLOAT_EQ(knn_score_decay(KnnDecay::kQuadratic, 3), 1.0f / 9.0f);
  EXPECT_THROW(knn_decay_from_name("exp"), InputError);
}

TEST(SessionKNN, SessionRecDefaultsDecayVotesOfNeighboursMatchedByOlderItems) {
  // Query [0 1], div weights 0 -> 1/2 (position 1), 1 -> 1 (position 2); vec divides by |q| = 2.
  // sim(A) = 1.5/2 = 0.75 and sim(B) = 1/2 contain item 1 (step 1, d = 1); sim(C) = 0.5/2 = 0.25
  // contains only item 0 (step 2, div score d = 1/2): C votes 0.125.
  const auto out = scores(session_rec(), {0, 1});
  EXPECT_FLOAT_EQ(out[0], 0.875f);
  EXPECT_FLOAT_EQ(out[1], 1.25f);
  EXPECT_FLOAT_EQ(out[2], 0.5f);
  EXPECT_FLOAT_EQ(out[3], 0.5f);
  EXPECT_FLOAT_EQ(out[4], 0.125f);
  EXPECT_FLOAT_EQ(out[5], 0.0f);
}

TEST(SessionKNN, RepeatedItemKeepsItsLatestPositionForWeightAndStep) {
  // Query [0 1 0]: 0 -> weight 1 (position 3), 1 -> 2/3 (position 2); |q| = 2.
  // sim(A) = (1 + 2/3)/2 = 5/6, step 1; sim(C) = 1/2, step 1; sim(B) = (2/3)/2 = 1/3 with
  // its latest match at position 2: step 2, vote 1/6.
  const auto out = scores(session_rec(), {0, 1, 0});
  EXPECT_FLOAT_EQ(out[0], 5.0f / 6.0f + 0.5f);
  EXPECT_FLOAT_EQ(out[1], 5.0f / 6.0f + 1.0f / 6.0f);
  EXPECT_FLOAT_EQ(out[2], 1.0f / 6.0f);
  EXPECT_FLOAT_EQ(out[4], 0.5f);
}

TEST(SessionKNN, SameScoreIsTheUndecayedVote) {
  SessionKNNConfig c = session_rec();
  c.weighting_score = "same";
  const auto out = scores(c, {0, 1});
  EXPECT_FLOAT_EQ(out[0], 1.0f);  // 0.75 + 0.25
  EXPECT_FLOAT_EQ(out[4], 0.25f);
}

TEST(SessionKNN, CosineUsesTheWeightedQueryNorm) {
  // weighting "quadratic": 0 -> 1/4, 1 -> 1; norm sqrt(1/16 + 1) = sqrt(17)/4.
  // sim(A) = 1.25 / (norm sqrt 2), sim(B) = 1 / (norm sqrt 3), sim(C) = 0.25 / (norm sqrt 2).
  SessionKNNConfig c = session_rec();
  c.weighting = "quadratic";
  c.weighting_score = "same";
  c.similarity = "cosine";
  const auto out = scores(c, {0, 1});
  const double norm = std::sqrt(17.0) / 4.0;
  const double a = 1.25 / (norm * std::sqrt(2.0)), b = 1.0 / (norm * std::sqrt(3.0)),
               cc = 0.25 / (norm * std::sqrt(2.0));
  EXPECT_FLOAT_EQ(out[0], static_cast<float>(a + cc));
  EXPECT_FLOAT_EQ(out[1], static_cast<float>(a + b));
  EXPECT_FLOAT_EQ(out[2], static_cast<float>(b));
  EXPECT_FLOAT_EQ(out[4], static_cast<float>(cc));
}

TEST(SessionKNN, JaccardIgnoresTheWeights) {
  // |q & n| / |q | n|: A 2/2, B 1/4, C 1/3.
  SessionKNNConfig c = session_rec();
  c.weighting_score = "same";
  c.similarity = "jaccard";
  const auto out = scores(c, {0, 1});
  EXPECT_FLOAT_EQ(out[0], 1.0f + 1.0f / 3.0f);
  EXPECT_FLOAT_EQ(out[1], 1.25f);
  EXPECT_FLOAT_EQ(out[2], 0.25f);
  EXPECT_FLOAT_EQ(out[4], 1.0f / 3.0f);
}

TEST(SessionKNN, IdfWeightingScalesEachItemsVote) {
  // vote * (1 + 2 ln(3 / events of the item)); votes A 0.75, B 0.5, C 0.125 as with defaults.
  SessionKNNConfig c = session_rec();
  c.idf_weighting = 2.0;
  const auto out = scores(c, {0, 1});
  const float common = 1.0f + 2.0f * std::log(1.5f), rare = 1.0f + 2.0f * std::log(3.0f);
  EXPECT_FLOAT_EQ(out[0], 0.875f * common);
  EXPECT_FLOAT_EQ(out[1], 1.25f * common);
  EXPECT_FLOAT_EQ(out[2], 0.5f * rare);
  EXPECT_FLOAT_EQ(out[4], 0.125f * rare);
}

TEST(SessionKNN, WithoutRemindTheSessionsItemsGetNothing) {
  SessionKNNConfig c = session_rec();
  c.remind = false;
  const auto out = scores(c, {0, 1});
  EXPECT_FLOAT_EQ(out[0], 0.0f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
  EXPECT_FLOAT_EQ(out[2], 0.5f);
  EXPECT_FLOAT_EQ(out[4], 0.125f);
}

TEST(SessionKNN, LastNClicksBuildsTheQueryFromTheLastItems) {
  // Query window [1], weight 1, |q| = 1: A and B get similarity 1; C shares no window item.
  SessionKNNConfig c = session_rec();
  c.last_n_clicks = 1;
  const auto out = scores(c, {0, 1});
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[1], 2.0f);
  EXPECT_FLOAT_EQ(out[2], 1.0f);
  EXPECT_FLOAT_EQ(out[4], 0.0f);
}

TEST(SessionKNN, KAndSampleSizeLimitNeighbours) {
  SessionKNNConfig c = session_rec();
  c.k = 1;
  auto out = scores(c, {0, 1});
  EXPECT_FLOAT_EQ(out[0], 0.75f);  // only A votes
  EXPECT_FLOAT_EQ(out[2], 0.0f);
  c.k = 100;
  c.sample_size = 1;  // only the most recent candidate session (C, time 2)
  out = scores(c, {0, 1});
  EXPECT_FLOAT_EQ(out[4], 0.125f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
  c.sample_size = 0;  // no limit
  out = scores(c, {0, 1});
  EXPECT_FLOAT_EQ(out[1], 1.25f);
}

TEST(SessionKNN, RandomSamplingKeepsSampleSizeAndDependsOnlyOnTheHistory) {
  SessionKNNConfig c = session_rec();
  c.sampling = "random";
  c.sample_size = 1;
  c.popularity_fallback = false;
  SessionKNN knn(c, 6);
  knn.fit(three_sessions(), {0, 1, 2});
  // The history [0 1] alone, then second in a batch after [2].
  const int32_t q[] = {2, 0, 1};
  const int64_t alone_begin = 0, alone_end = 2, begin[] = {0, 1}, end[] = {1, 3};
  float out[18];
  knn.score(HistoryBatch{q + 1, &alone_begin, &alone_end, 1}, out);
  knn.score(HistoryBatch{q, begin, end, 2}, out + 6);
  int voters = 0;
  for (int i = 0; i < 6; ++i) {
    EXPECT_FLOAT_EQ(out[i], out[12 + i]);
    voters += out[i] > 0.0f;
  }
  EXPECT_GE(voters, 2);  // one whole session votes
  EXPECT_LE(voters, 3);
}

TEST(SessionKNN, RejectsBadInput) {
  SessionKNNConfig c;
  c.k = 0;
  EXPECT_THROW(SessionKNN(c, 3), InputError);
  for (auto bad : {&SessionKNNConfig::weighting, &SessionKNNConfig::weighting_score,
                   &SessionKNNConfig::similarity, &SessionKNNConfig::sampling}) {
    SessionKNNConfig d;
    d.*bad = "nonsense";
    EXPECT_THROW(SessionKNN(d, 3), InputError);
  }
  c = SessionKNNConfig{};
  c.idf_weighting = -1.0;
  EXPECT_THROW(SessionKNN(c, 3), InputError);
  c = SessionKNNConfig{};
  c.sample_size = -1;
  EXPECT_THROW(SessionKNN(c, 3), InputError);
  SessionStore train;
  train.items = {0, 1};
  train.offsets = {0, 2};
  SessionKNN knn(SessionKNNConfig{}, 3);
  EXPECT_THROW(knn.fit(train, {0, 1}), InputError);  // two times for one session
}
