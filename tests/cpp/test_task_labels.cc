// PIP and RLP example builders on a hand-made store.
#include <gtest/gtest.h>
#include <omp.h>

#include <set>

#include "sessrec/data/task_labels.h"
#include "sessrec/errors.h"

using namespace sessrec;

namespace {

constexpr int8_t S = 0, V = 1, A = 2, B = 3;  // the synthetic generator's codes; B buys

// Sessions (start offset, length):
//   0 (0, 12): V V V V V B V V B V V V  buys at positions 5 and 8
//   1 (12, 7): seven views
//   2 (19, 3): three views
//   3 (22, 40): views, a buy at position 38, a view
//   4 (62, 6): S V A V V V
//   5 (68, 6): B V V V V V  buys first
//   6 (74, 35): 35 views
SessionStore hand_store() {
  std::vector<std::vector<int8_t>> sessions = {{V, V, V, V, V, B, V, V, B, V, V, V},
                                               std::vector<int8_t>(7, V),
                                               std::vector<int8_t>(3, V),
                                               std::vector<int8_t>(40, V),
                                               {S, V, A, V, V, V},
                                               {B, V, V, V, V, V},
                                               std::vector<int8_t>(35, V)};
  sessions[3][38] = B;
  SessionStore store;
  for (const auto& actions : sessions) {
    store.actions.insert(store.actions.end(), actions.begin(), actions.end());
    store.offsets.push_back(store.offsets.back() + static_cast<int64_t>(actions.size()));
  }
  store.items.assign(store.actions.size(), 0);
  return store;
}

struct Row {
  int64_t session, begin, end, label;
  bool operator==(const Row& o) const {
    return session == o.session && begin == o.begin && end == o.end && label == o.label;
  }
};

std::vector<Row> rows(const TaskExamples& ex) {
  std::vector<Row> out;
  for (int64_t r = 0; r < ex.size(); ++r)
    out.push_back({ex.session[r], ex.begin[r], ex.end[r], ex.label[r]});
  return out;
}

}  // namespace

TEST(TaskLabels, PurchaseIntentionOnHandStore) {
  const SessionStore store = hand_store();
  // Defaults: back-trace up to 32, inputs of at least 5.
  // Session 0: the buy at 5 back-traces to [0, 5) (5 interactions, kept); the buy at 8 stops at
  //   the previous buy, [6, 8), 2 interactions, skipped. Session 1: no buy, negative [12, 19).
  //   Session 2: 3 interactions, skipped. Session 3: the buy at 22 + 38 = 60 back-traces 32
  //   interactions, [28, 60). Session 4: negative [62, 68). Session 5: its buy has nothing
  //   before it, and a session with a buy gives no negative. Session 6: 35 views, the last 32,
  //   [77, 109).
  std::vector<Row> want = {
      {0, 0, 5, 1}, {1, 12, 19, 0}, {3, 28, 60, 1}, {4, 62, 68, 0}, {6, 77, 109, 0}};
  EXPECT_EQ(rows(purchase_intention_examples(store, B, {})), want);
  // Limits are parameters: back-trace 4, inputs of at least 2. Session 0's buys give [1, 5)
  // and [6, 8); session 1 [15, 19); session 2 [19, 22); session 3 [56, 60); session 4
  // [64, 68); session 6 [105, 109).
  PurchaseIntentionConfig small;
  small.max_interactions = 4;
  small.min_length = 2;
  want = {{0, 1, 5, 1},   {0, 6, 8, 1},   {1, 15, 19, 0},  {2, 19, 22, 0},
          {3, 56, 60, 1}, {4, 64, 68, 0}, {6, 105, 109, 0}};
  EXPECT_EQ(rows(purchase_intention_examples(store, B, small)), want);
  // Another purchase code: with "add to cart" as the purchase, session 4's add at 64 has 2
  // interactions before it (skipped at min 5), and session 4 is no longer a negative.
  auto adds = rows(purchase_intention_examples(store, A, {}));
  for (const Row& r : adds) EXPECT_NE(r.session, 4);
}

TEST(TaskLabels, PurchaseIntentionOversamplesPositivesToBalance) {
  const SessionStore store = hand_store();
  // Defaults give 2 positives and 3 negatives: one copy of a positive is appended.
  PurchaseIntentionConfig config;
  config.oversample = true;
  std::set<int64_t> copied;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    config.seed = seed;
    const auto ex = rows(purchase_intention_examples(store, B, config));
    ASSERT_EQ(ex.size(), 6u);
    EXPECT_EQ(ex.back().label, 1);
    EXPECT_TRUE(ex.back() == ex[0] || ex.back() == ex[2]);
    EXPECT_EQ(ex, rows(purchase_intention_examples(store, B, config)));  // same seed, same rows
    copied.insert(ex.back().session);
  }
  EXPECT_EQ(copied, (std::set<int64_t>{0, 3}));  // both positives get picked across seeds
  // Back-trace 4, min 2 gives 3 positives (two in session 0, one in 3) and 4 negatives
  // (sessions 1, 2, 4, 6): one positive is copied, 4 and 4.
  PurchaseIntentionConfig small = config;
  small.max_interactions = 4;
  small.min_length = 2;
  auto ex = purchase_intention_examples(store, B, small);
  int64_t positives = 0;
  for (int64_t label : ex.label) positives += label;
  EXPECT_EQ(positives, 4);
  EXPECT_EQ(ex.size(), 8);
}

TEST(TaskLabels, OversamplingCopiesWholeRoundsFirst) {
  // One positive ([0, 5) of a session V V V V V B) and three negative sessions of 5 views:
  // the positive is copied twice, so positives = negatives = 3.
  SessionStore store;
  std::vector<int8_t> actions = {V, V, V, V, V, B};
  for (int k = 0; k < 3; ++k) actions.insert(actions.end(), 5, V);
  store.actions = actions;
  store.items.assign(actions.size(), 0);
  store.offsets = {0, 6, 11, 16, 21};
  PurchaseIntentionConfig config;
  config.oversample = true;
  const auto ex = rows(purchase_intention_examples(store, B, config));
  std::vector<Row> want = {{0, 0, 5, 1},   {1, 6, 11, 0}, {2, 11, 16, 0},
                           {3, 16, 21, 0}, {0, 0, 5, 1},  {0, 0, 5, 1}};
  EXPECT_EQ(ex, want);
}

TEST(TaskLabels, RemainingLengthOnHandStore) {
  const SessionStore store = hand_store();
  // Lengths 12, 7, 3, 40, 6, 6, 35. Cut c in [5, min(31, L - 1)]: session 2 (3) has none;
  // sessions 4 and 5 (6) only c = 5, label 1; session 1 (7) c in {5, 6}; session 3 (40)
  // c in [5, 31], so its label is in [9, 35].
  std::set<int64_t> cuts1, cuts3;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    RemainingLengthConfig config;
    config.seed = seed;
    const auto ex = rows(remaining_length_examples(store, config));
    ASSERT_EQ(ex.size(), 6u);
    const std::vector<int64_t> sessions = {0, 1, 3, 4, 5, 6}, starts = {0, 12, 22, 62, 68, 74},
                               lengths = {12, 7, 40, 6, 6, 35};
    for (size_t k = 0; k < ex.size(); ++k) {
      EXPECT_EQ(ex[k].session, sessions[k]);
      EXPECT_EQ(ex[k].begin, starts[k]);
      const int64_t cut = ex[k].end - ex[k].begin;
      EXPECT_GE(cut, 5);
      EXPECT_LE(cut, std::min<int64_t>(31, lengths[k] - 1));
      EXPECT_EQ(ex[k].label, lengths[k] - cut);
    }
    EXPECT_EQ(ex[3].label, 1);
    EXPECT_EQ(ex[4].label, 1);
    cuts1.insert(ex[1].end - ex[1].begin);
    cuts3.insert(ex[2].end - ex[2].begin);
  }
  EXPECT_EQ(cuts1, (std::set<int64_t>{5, 6}));
  EXPECT_EQ(*cuts3.begin(), 5);
  EXPECT_EQ(*cuts3.rbegin(), 31);  // never past the 31st interaction
  EXPECT_EQ(cuts3.size(), 27u);    // every cut in [5, 31] occurs
  // min_remaining = 0 allows the whole session as input (label 0): session 4 (6) may cut at 6.
  RemainingLengthConfig zero;
  zero.min_remaining = 0;
  std::set<int64_t> labels4;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    zero.seed = seed;
    labels4.insert(remaining_length_examples(store, zero).label[3]);
  }
  EXPECT_EQ(labels4, (std::set<int64_t>{0, 1}));
}

TEST(TaskLabels, DeterministicAcrossThreadCounts) {
  SessionStore store;
  for (int64_t s = 0; s < 5000; ++s) {
    const int64_t length = 1 + (s * 7919) % 45;
    for (int64_t p = 0; p < length; ++p) store.actions.push_back((s + p * 3) % 11 == 0 ? B : V);
    store.offsets.push_back(store.offsets.back() + length);
  }
  store.items.assign(store.actions.size(), 0);
  PurchaseIntentionConfig pip;
  pip.oversample = true;
  pip.seed = 3;
  RemainingLengthConfig rlp;
  rlp.seed = 3;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto pip1 = rows(purchase_intention_examples(store, B, pip));
  const auto rlp1 = rows(remaining_length_examples(store, rlp));
  omp_set_num_threads(std::max(2, threads));
  EXPECT_EQ(pip1, rows(purchase_intention_examples(store, B, pip)));
  EXPECT_EQ(rlp1, rows(remaining_length_examples(store, rlp)));
  omp_set_num_threads(threads);
  // A different seed moves the cuts.
  rlp.seed = 4;
  EXPECT_FALSE(rlp1 == rows(remaining_length_examples(store, rlp)));
}

TEST(TaskLabels, RejectsStoreWithoutActionsAndBadLimits) {
  SessionStore store = hand_store();
  store.actions.clear();
  try {
    purchase_intention_examples(store, B, {});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no actions"), std::string::npos);
  }
  // RLP needs only the session lengths.
  EXPECT_EQ(remaining_length_examples(store, {}).size(), 6);
  PurchaseIntentionConfig pip;
  pip.min_length = 0;
  EXPECT_THROW(purchase_intention_examples(hand_store(), B, pip), InputError);
  pip.min_length = 33;
  EXPECT_THROW(purchase_intention_examples(hand_store(), B, pip), InputError);
  RemainingLengthConfig rlp;
  rlp.min_length = 32;  // no cut before the 32nd interaction keeps 32
  EXPECT_THROW(remaining_length_examples(store, rlp), InputError);
  rlp = {};
  rlp.min_remaining = -1;
  EXPECT_THROW(remaining_length_examples(store, rlp), InputError);
}
