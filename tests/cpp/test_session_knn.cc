// V-SKNN against a hand-worked example.
#include <gtest/gtest.h>

#include "sessrec/errors.h"
#include "sessrec/retrieval/session_knn.h"

using namespace sessrec;

TEST(SessionKNN, HandWorkedScores) {
  // Training sessions (times 0, 1, 2): A = [0 1], B = [1 2 3], C = [0 4].
  SessionStore train;
  train.items = {0, 1, 1, 2, 3, 0, 4};
  train.offsets = {0, 2, 5, 7};
  SessionKNNConfig c;
  c.popularity_fallback = false;
  SessionKNN knn(c, 6);
  knn.fit(train, {0, 1, 2});
  // Query [0 1]: weights 0 -> 1/2, 1 -> 1 (linear decay, last item 1).
  // sim(A) = 1/2 + 1 = 1.5; sim(B) = 1; sim(C) = 1/2.
  // Scores: 0 <- A + C = 2; 1 <- A + B = 2.5; 2, 3 <- B = 1; 4 <- C = 0.5; 5 <- 0.
  const int32_t q[] = {0, 1};
  const int64_t begin = 0, end = 2;
  float out[6];
  knn.score(HistoryBatch{q, &begin, &end, 1}, out);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  EXPECT_FLOAT_EQ(out[1], 2.5f);
  EXPECT_FLOAT_EQ(out[2], 1.0f);
  EXPECT_FLOAT_EQ(out[3], 1.0f);
  EXPECT_FLOAT_EQ(out[4], 0.5f);
  EXPECT_FLOAT_EQ(out[5], 0.0f);
}

TEST(SessionKNN, KAndSampleSizeLimitNeighbours) {
  SessionStore train;
  train.items = {0, 1, 1, 2, 3, 0, 4};
  train.offsets = {0, 2, 5, 7};
  SessionKNNConfig c;
  c.popularity_fallback = false;
  c.k = 1;
  SessionKNN top1(c, 6);
  top1.fit(train, {0, 1, 2});
  const int32_t q[] = {0, 1};
  const int64_t begin = 0, end = 2;
  float out[6];
  top1.score(HistoryBatch{q, &begin, &end, 1}, out);
  EXPECT_FLOAT_EQ(out[0], 1.5f);  // only A (sim 1.5) votes
  EXPECT_FLOAT_EQ(out[2], 0.0f);
  c.k = 100;
  c.sample_size = 1;  // only the most recent candidate session (C, time 2)
  SessionKNN recent(c, 6);
  recent.fit(train, {0, 1, 2});
  recent.score(HistoryBatch{q, &begin, &end, 1}, out);
  EXPECT_FLOAT_EQ(out[4], 0.5f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
}

TEST(SessionKNN, RejectsBadInput) {
  SessionKNNConfig c;
  c.k = 0;
  EXPECT_THROW(SessionKNN(c, 3), InputError);
  SessionStore train;
  train.items = {0, 1};
  train.offsets = {0, 2};
  SessionKNN knn(SessionKNNConfig{}, 3);
  EXPECT_THROW(knn.fit(train, {0, 1}), InputError);  // two times for one session
}
