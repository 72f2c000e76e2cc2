// Several threads scoring with one model at once (what several Python threads do when the
// bindings release the GIL): every result must equal the single-threaded one. Built also under
// ThreadSanitizer (make test-tsan), which checks that the scorers share no unguarded state.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "sessrec/eval/ranking.h"
#include "sessrec/models/gru4rec.h"
#include "sessrec/models/sasrec.h"
#include "sessrec/retrieval/item_cf.h"
#include "sessrec/retrieval/popularity.h"
#include "sessrec/retrieval/session_knn.h"

using namespace sessrec;

namespace {

constexpr int64_t kItems = 40;
constexpr int kThreads = 4;

SessionStore training_sessions() {
  SessionStore s;
  uint64_t state = 12345;
  for (int64_t session = 0; session < 60; ++session) {
    const int64_t length = 2 + static_cast<int64_t>(session % 5);
    for (int64_t e = 0; e < length; ++e) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      s.items.push_back(static_cast<int32_t>((state >> 33) % kItems));
      s.times.push_back(session);
    }
    s.offsets.push_back(static_cast<int64_t>(s.items.size()));
  }
  return s;
}

// Histories: items[begin[r] .. end[r]).
struct Histories {
  std::vector<int32_t> items{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 39, 38};
  std::vector<int64_t> begin{0, 3, 4, 9, 11};
  std::vector<int64_t> end{3, 4, 9, 11, 14};
  HistoryBatch batch() const {
    return HistoryBatch{items.data(), begin.data(), end.data(),
                        static_cast<int64_t>(end.size())};
  }
};

// Scores once on this thread, then kThreads times at once; all must be identical.
void expect_concurrent_scores_equal(const SessionScorer& scorer) {
  const Histories h;
  const int64_t rows = static_cast<int64_t>(h.end.size());
  std::vector<float> expected(rows * scorer.num_items());
  scorer.score(h.batch(), expected.data());
  std::vector<std::vector<float>> got(kThreads, std::vector<float>(expected.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int repeat = 0; repeat < 3; ++repeat) scorer.score(h.batch(), got[t].data());
    });
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t], expected) << "thread " << t;
}

SequenceModelConfig small_sequence_config() {
  SequenceModelConfig c;
  c.num_items = kItems;
  c.dim = 8;
  c.max_len = 6;
  c.seed = 3;
  return c;
}

}  // namespace

TEST(ConcurrentScoring, Popularity) {
  std::vector<int64_t> counts(kItems);
  for (int64_t i = 0; i < kItems; ++i) counts[i] = (i * 7) % 11;
  expect_concurrent_scores_equal(PopularityScorer(counts));
}

TEST(ConcurrentScoring, ItemCF) {
  ItemCF model(ItemCFConfig{}, kItems);
  model.fit(training_sessions());
  expect_concurrent_scores_equal(model);
}

TEST(ConcurrentScoring, SessionKNN) {
  SessionKNNConfig config;
  config.k = 10;
  config.sample_size = 30;
  SessionKNN model(config, kItems);
  const SessionStore train = training_sessions();
  model.fit(train, train.session_start_times());
  expect_concurrent_scores_equal(model);
}

TEST(ConcurrentScoring, SASRec) {
  SASRecConfig config;
  config.base = small_sequence_config();
  config.layers = 1;
  config.heads = 2;
  config.ffn_dim = 16;
  expect_concurrent_scores_equal(SASRec(config));
}

TEST(ConcurrentScoring, GRU4Rec) {
  GRU4RecConfig config;
  config.base = small_sequence_config();
  config.hidden = 8;
  expect_concurrent_scores_equal(GRU4Rec(config));
}

TEST(ConcurrentScoring, RankExamplesFromSeveralThreads) {
  ItemCF model(ItemCFConfig{}, kItems);
  const SessionStore train = training_sessions();
  model.fit(train);
  const ExampleSet examples = make_examples(train, TargetPositions::All, 0);
  RankOptions options;
  options.block_bytes = 4 * kItems * 7;  // several blocks
  const std::vector<double> expected = rank_examples(model, train, examples, options);
  std::vector<std::vector<double>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { got[t] = rank_examples(model, train, examples, options); });
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t], expected) << "thread " << t;
}
