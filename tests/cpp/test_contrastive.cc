// Contrastive losses (loss/contrastive.h), the memory queue and the contrastive objective.
// Gradients: finite differences in double precision (+-1e-6, tolerance 1e-6 absolute + 1e-5
// relative, as tests/cpp/test_gradients.cc). Values: a plain reference written from the
// definitions (loops over rows, no shared code with the op), so that a wrong margin or a wrong
// set of negatives fails even when forward and backward agree.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/loss/contrastive.h"
#include "sessrec/loss/contrastive_objective.h"
#include "sessrec/loss/memory_queue.h"

#include "gradient_check.h"

using namespace sessrec;
using loss::ContrastiveVariant;
using loss::QueueNegatives;
using gradcheck::expect_gradient;
using gradcheck::random_vec;
using gradcheck::Vec;

namespace {

constexpr double kPi = 3.14159265358979323846;

double cosine(const double* x, const double* y, int64_t D) {
  double xy = 0, xx = 0, yy = 0;
  for (int64_t d = 0; d < D; ++d) {
    xy += x[d] * y[d];
    xx += x[d] * x[d];
    yy += y[d] * y[d];
  }
  return xy / std::sqrt(xx * yy);
}

// The per-row loss of one direction x -> y from the definition: the positive's logit
// s cos(min(acos(c) + m, pi)), the negatives s cos(x_b, n_j) for j != b and s cos(x_b, q_k).
Vec reference_direction(const Vec& x, const Vec& y, const Vec& n, const Vec& queue, int64_t B,
                        int64_t D, double s, double m) {
  const int64_t Q = static_cast<int64_t>(queue.size()) / D;
  Vec out(B);
  for (int64_t b = 0; b < B; ++b) {
    const double c = cosine(&x[b * D], &y[b * D], D);
    const double positive =
        m == 0 ? s * c
               : s * std::cos(std::min(std::acos(std::clamp(c, -1 + 1e-6, 1 - 1e-6)) + m, kPi));
    Vec logits{positive};
    for (int64_t j = 0; j < B; ++j)
      if (j != b) logits.push_back(s * cosine(&x[b * D], &n[j * D], D));
    for (int64_t k = 0; k < Q; ++k) logits.push_back(s * cosine(&x[b * D], &queue[k * D], D));
    double sum = 0;
    for (double l : logits) sum += std::exp(l);
    out[b] = std::log(sum) - positive;
  }
  return out;
}

struct Case {
  const char* name;
  ContrastiveVariant variant;
  bool queues;
  double scale, margin;
};

const Case kCases[] = {
    {"infonce", {false, false}, false, 1 / 0.2, 0},
    {"infonce symmetric", {true, false}, false, 1 / 0.2, 0},
    {"infonce same-space", {false, true}, false, 1 / 0.2, 0},
    {"infonce symmetric same-space", {true, true}, false, 1 / 0.2, 0},
    {"infonce queue", {false, false}, true, 1 / 0.2, 0},
    {"infonce symmetric queue", {true, false}, true, 1 / 0.2, 0},
    {"infonce same-space queue", {false, true}, true, 1 / 0.2, 0},
    {"arccon", {false, false}, false, 4, 0.3},
    {"arccon symmetric", {true, false}, false, 4, 0.3},
    {"arccon same-space", {false, true}, false, 4, 0.3},
    {"arccon queue", {false, false}, true, 4, 0.3},
    {"arccon symmetric same-space queue", {true, true}, true, 4, 0.3},
};

// A batch with every kind of input: B pairs, two queues of different lengths, uneven weights.
struct Batch {
  int64_t B = 4, D = 3;
  Vec a = random_vec(12, 1), p = random_vec(12, 2), qa = random_vec(9, 3), qp = random_vec(6, 4);
  Vec w = {0.5, 2.0, 1.0, 0.0};

  QueueNegatives<double> queues(bool on) const {
    if (!on) return {};
    return {qa.data(), 3, qp.data(), 2};
  }
  double loss(const Case& c, Vec* example = nullptr, Vec* da = nullptr, Vec* dp = nullptr) {
    return loss::pair_contrastive<double>(
        example ? example->data() : nullptr, da ? da->data() : nullptr, dp ? dp->data() : nullptr,
        a.data(), p.data(), w.data(), B, D, queues(c.queues), c.scale, c.margin, c.variant);
  }
};

// Per-example losses of a case, from reference_direction.
Vec reference_examples(const Batch& x, const Case& c) {
  const Vec none;
  const bool same = c.variant.same_space;
  const Vec& q_ap = !c.queues ? none : same ? x.qa : x.qp;
  const Vec& q_pa = !c.queues ? none : same ? x.qp : x.qa;
  Vec forward = reference_direction(x.a, x.p, same ? x.a : x.p, q_ap, x.B, x.D, c.scale, c.margin);
  if (!c.variant.symmetric) return forward;
  Vec backward = reference_direction(x.p, x.a, same ? x.p : x.a, q_pa, x.B, x.D, c.scale, c.margin);
  for (int64_t b = 0; b < x.B; ++b) forward[b] = 0.5 * (forward[b] + backward[b]);
  return forward;
}

}  // namespace

TEST(ContrastiveLoss, ValuesMatchTheDefinition) {
  for (const Case& c : kCases) {
    Batch x;
    Vec example(x.B);
    const double value = x.loss(c, &example);
    const Vec expected = reference_examples(x, c);
    double weighted = 0;
    for (int64_t b = 0; b < x.B; ++b) {
      EXPECT_NEAR(example[b], expected[b], 1e-10) << c.name << " row " << b;
      weighted += x.w[b] * expected[b];
    }
    EXPECT_NEAR(value, weighted / 3.5, 1e-10) << c.name;
  }
}

TEST(ContrastiveLoss, GradientsOfEveryVariant) {
  for (const Case& c : kCases) {
    Batch x;
    Vec da(x.a.size(), 0), dp(x.p.size(), 0);
    x.loss(c, nullptr, &da, &dp);
    auto value = [&] { return x.loss(c); };
    expect_gradient(x.a, da, value, std::string(c.name) + " da");
    expect_gradient(x.p, dp, value, std::string(c.name) + " dp");
  }
}

TEST(ContrastiveLoss, GradientsAccumulateAndSkipNullOutputs) {
  Batch x;
  const Case& c = kCases[5];
  Vec da(x.a.size(), 0), dp(x.p.size(), 0), twice(x.a.size(), 0);
  x.loss(c, nullptr, &da, &dp);
  x.loss(c, nullptr, &twice, nullptr);
  x.loss(c, nullptr, &twice, nullptr);
  for (size_t i = 0; i < da.size(); ++i) EXPECT_NEAR(twice[i], 2 * da[i], 1e-12);
}

TEST(ContrastiveLoss, InfoNCEIsArcConWithoutMargin) {
  Batch x;
  Vec e1(x.B), e2(x.B);
  const QueueNegatives<double> q = x.queues(true);
  const double nce = loss::info_nce<double>(e1.data(), nullptr, nullptr, x.a.data(), x.p.data(),
                                            x.w.data(), x.B, x.D, q, 0.25, {true, false});
  const double arc = loss::arccon<double>(e2.data(), nullptr, nullptr, x.a.data(), x.p.data(),
                                          x.w.data(), x.B, x.D, q, 4.0, 0.0, {true, false});
  EXPECT_DOUBLE_EQ(nce, arc);
  // A margin makes the positive harder: every example's loss grows.
  Vec e3(x.B);
  loss::arccon<double>(e3.data(), nullptr, nullptr, x.a.data(), x.p.data(), x.w.data(), x.B, x.D, q,
                       4.0, 0.2, {true, false});
  for (int64_t b = 0; b < x.B; ++b) EXPECT_GT(e3[b], e2[b]);
}

// Symmetric = the mean of the two directions; the KDD Cup 2023 four-term loss (Eq. 6) = a
// weighted sum of four single-direction instances with the pairs swapped and queues by space.
TEST(ContrastiveLoss, SymmetricAndFourTermCompositions) {
  Batch x;
  const double s = 5, m = 0.2;
  auto term = [&](bool swap, bool same) {
    const Vec& anchors = swap ? x.p : x.a;
    const Vec& positives = swap ? x.a : x.p;
    QueueNegatives<double> q = swap ? QueueNegatives<double>{x.qp.data(), 2, x.qa.data(), 3}
                                    : QueueNegatives<double>{x.qa.data(), 3, x.qp.data(), 2};
    return loss::arccon<double>(nullptr, nullptr, nullptr, anchors.data(), positives.data(),
                                x.w.data(), x.B, x.D, q, s, m, {false, same});
  };
  const QueueNegatives<double> q = x.queues(true);
  auto op = [&](bool symmetric, bool same) {
    return loss::arccon<double>(nullptr, nullptr, nullptr, x.a.data(), x.p.data(), x.w.data(), x.B,
                                x.D, q, s, m, {symmetric, same});
  };
  EXPECT_NEAR(op(true, false), 0.5 * (term(false, false) + term(true, false)), 1e-12);
  EXPECT_NEAR(op(true, true), 0.5 * (term(false, true) + term(true, true)), 1e-12);
  const double kdd = 0.35 * term(false, false) + 0.35 * term(true, false) +
                     0.15 * term(false, true) + 0.15 * term(true, true);
  EXPECT_NEAR(kdd, 0.7 * op(true, false) + 0.3 * op(true, true), 1e-12);
}

TEST(ContrastiveLoss, WeightsSelectExamples) {
  Batch x;
  const Case& c = kCases[0];
  Vec example(x.B);
  x.w = {0, 0, 1, 0};
  const double only_row_2 = x.loss(c, &example);
  EXPECT_NEAR(only_row_2, example[2], 1e-12);
  x.w = {3, 3, 3, 3};  // uniform weights of any size are the plain mean
  double mean = 0;
  for (double l : example) mean += l / 4;
  EXPECT_NEAR(x.loss(c), mean, 1e-12);
  EXPECT_NEAR(loss::pair_contrastive<double>(nullptr, nullptr, nullptr, x.a.data(), x.p.data(),
                                             nullptr, x.B, x.D, {}, c.scale, 0, {}),
              mean, 1e-12);
}

// Near the ends of acos: a positive almost aligned with its anchor (inside the clamp band), one
// exactly aligned (clamped: the positive's logit is constant), one nearly opposite with
// theta + m > pi (capped at pi: logit -s).
TEST(ContrastiveLoss, MarginNearTheAcosBoundary) {
  const int64_t B = 3, D = 3;
  Vec a = random_vec(B * D, 11), p = random_vec(B * D, 12);
  for (int64_t d = 0; d < D; ++d) {
    p[0 * D + d] = a[0 * D + d] + 1e-2 * p[0 * D + d];   // cos ~ 1 - 1e-5
    p[1 * D + d] = 2 * a[1 * D + d];                     // cos = 1
    p[2 * D + d] = -a[2 * D + d] + 1e-2 * p[2 * D + d];  // theta ~ pi
  }
  const double s = 8, m = 0.5;
  const double c0 = cosine(&a[0], &p[0], D);
  ASSERT_GT(c0, 1 - 1e-3);
  ASSERT_LT(c0, 1 - 1e-6);
  auto value = [&] {
    return loss::arccon<double>(nullptr, nullptr, nullptr, a.data(), p.data(), nullptr, B, D, {}, s,
                                m);
  };
  Vec da(a.size(), 0), dp(p.size(), 0), example(B);
  loss::arccon<double>(example.data(), da.data(), dp.data(), a.data(), p.data(), nullptr, B, D, {},
                       s, m);
  expect_gradient(a, da, value, "arccon boundary da");
  expect_gradient(p, dp, value, "arccon boundary dp");
  const Vec expected = reference_direction(a, p, p, {}, B, D, s, m);
  for (int64_t b = 0; b < B; ++b) EXPECT_NEAR(example[b], expected[b], 1e-10) << b;

  // psi(c) = cos(min(acos(c) + m, pi)): -1 from theta = pi - m on, and never increasing as the
  // positive gets worse (a cos(theta + m) without the cap would rise again past pi).
  EXPECT_DOUBLE_EQ(loss::angular_margin_forward(std::cos(kPi - 0.3), 0.5), -1.0);
  EXPECT_DOUBLE_EQ(loss::angular_margin_backward(std::cos(kPi - 0.3), 0.5), 0.0);
  EXPECT_DOUBLE_EQ(loss::angular_margin_backward(1.0, 0.5), 0.0);
  EXPECT_NEAR(loss::angular_margin_forward(std::cos(0.4), 0.5), std::cos(0.9), 1e-12);
  double previous = 2;
  for (double c = 1; c >= -1; c -= 1e-3) {
    const double psi = loss::angular_margin_forward(c, 0.5);
    EXPECT_LE(psi, previous + 1e-15) << c;
    previous = psi;
  }
}

TEST(ContrastiveLoss, RefusesBadInputs) {
  Batch x;
  auto run = [&](double scale, double margin, const double* w) {
    loss::pair_contrastive<double>(nullptr, nullptr, nullptr, x.a.data(), x.p.data(), w, x.B, x.D,
                                   {}, scale, margin, {});
  };
  const Vec negative = {1, -1, 1, 1}, zero = {0, 0, 0, 0};
  EXPECT_THROW(run(1, 0, negative.data()), InputError);
  EXPECT_THROW(run(1, 0, zero.data()), InputError);
  EXPECT_THROW(run(0, 0, nullptr), InputError);
  EXPECT_THROW(run(1, kPi, nullptr), InputError);
  EXPECT_THROW(run(1, -0.1, nullptr), InputError);
  EXPECT_THROW(loss::info_nce<double>(nullptr, nullptr, nullptr, x.a.data(), x.p.data(), nullptr,
                                      x.B, x.D, {}, 0.0),
               InputError);
}

TEST(MemoryQueue, FifoOrderWrapAndOversizedBatch) {
  loss::MemoryQueue q(3, 2);
  EXPECT_EQ(q.size(), 0);
  const float r[] = {3, 4, 0, 2, -5, 0, 0, -1, 8, -6};  // rows 0..4 normalise to:
  const float unit[][2] = {{0.6f, 0.8f}, {0, 1}, {-1, 0}, {0, -1}, {0.8f, -0.6f}};
  auto expect_rows = [&](std::vector<int> rows, const char* what) {
    ASSERT_EQ(q.size(), static_cast<int64_t>(rows.size())) << what;
    for (size_t i = 0; i < rows.size(); ++i)
      for (int d = 0; d < 2; ++d)
        EXPECT_FLOAT_EQ(q.values()[i * 2 + d], unit[rows[i]][d]) << what << " slot " << i;
  };
  q.enqueue(r, 2, 2);
  expect_rows({0, 1}, "two rows");
  EXPECT_EQ(q.write_position(), 2);
  q.enqueue(r + 4, 2, 2);  // rows 2, 3: row 3 overwrites the oldest (row 0)
  expect_rows({3, 1, 2}, "wrapped");
  EXPECT_EQ(q.write_position(), 1);
  // 5 rows into 3 slots from slot 1: as if written one by one (slots 1, 2, 0, 1, 2), so rows
  // 2, 3, 4 remain in slots 0, 1, 2 and the oldest (row 2) is at the write position.
  q.enqueue(r, 5, 2);
  expect_rows({2, 3, 4}, "oversized");
  EXPECT_EQ(q.write_position(), 0);
  q.enqueue(r, 0, 2);
  expect_rows({2, 3, 4}, "empty batch");
  q.enqueue(r + 2, 1, 2);  // one more row replaces the oldest
  expect_rows({1, 3, 4}, "after oversized");
}

TEST(MemoryQueue, StateRoundTripIsExact) {
  loss::MemoryQueue q(5, 3), restored(5, 3);
  const Vec batch = random_vec(4 * 3, 21);
  const std::vector<float> rows(batch.begin(), batch.end());
  q.enqueue(rows.data(), 4, 3);
  restored.set_state(q.state());
  EXPECT_EQ(restored.size(), 4);
  EXPECT_EQ(restored.write_position(), 4);
  q.enqueue(rows.data(), 3, 3);
  restored.enqueue(rows.data(), 3, 3);
  EXPECT_EQ(q.state().values, restored.state().values);
  EXPECT_EQ(restored.write_position(), 2);
  EXPECT_EQ(restored.size(), 5);
}

TEST(MemoryQueue, RefusesBadInputs) {
  EXPECT_THROW(loss::MemoryQueue(0, 4), InputError);
  EXPECT_THROW(loss::MemoryQueue(4, 0), InputError);
  loss::MemoryQueue q(4, 2);
  const float rows[] = {1, 2, 3, 4, 5, 6};
  EXPECT_THROW(q.enqueue(rows, 2, 3), InputError);
  const float nan_row[] = {1, std::nanf("")};
  EXPECT_THROW(q.enqueue(nan_row, 1, 2), InputError);
  EXPECT_EQ(q.size(), 0);
  loss::MemoryQueue::State s = q.state();
  s.filled = 2;  // filled rows must end at the write position until the queue is full
  EXPECT_THROW(q.set_state(s), InputError);
  s = loss::MemoryQueue(3, 2).state();
  EXPECT_THROW(q.set_state(s), InputError);
}

TEST(ContrastiveObjective, KeepsTheQueuesItsVariantReads) {
  auto queues = [](bool symmetric, bool same_space, int64_t capacity) {
    loss::ContrastiveConfig c;
    c.symmetric = symmetric;
    c.same_space = same_space;
    c.queue_capacity = capacity;
    loss::ContrastiveObjective o(c, 4);
    return std::pair{o.anchor_queue() != nullptr, o.positive_queue() != nullptr};
  };
  EXPECT_EQ(queues(false, false, 8), std::pair(false, true));
  EXPECT_EQ(queues(false, true, 8), std::pair(true, false));
  EXPECT_EQ(queues(true, false, 8), std::pair(true, true));
  EXPECT_EQ(queues(true, true, 0), std::pair(false, false));
}

// The objective's loss equals the op given the queue's rows explicitly; the keys enqueued after
// a step are the next step's negatives.
TEST(ContrastiveObjective, UsesItsQueueAsNegatives) {
  const int64_t B = 4, D = 3;
  loss::ContrastiveConfig config;
  config.kind = "arccon";
  config.scale = 6;
  config.margin = 0.25f;
  config.queue_capacity = 5;
  auto objective = loss::make_pair_objective(config, D);
  EXPECT_EQ(objective->name(), "arccon");
  const Vec ad = random_vec(B * D, 31), pd = random_vec(B * D, 32), kd = random_vec(B * D, 33);
  const std::vector<float> a(ad.begin(), ad.end()), p(pd.begin(), pd.end()),
      keys(kd.begin(), kd.end());
  std::vector<float> da(B * D, 0), dp(B * D, 0);
  const float first =
      objective->forward_backward(a.data(), p.data(), B, D, nullptr, da.data(), dp.data());
  EXPECT_NEAR(first,
              loss::arccon<float>(nullptr, nullptr, nullptr, a.data(), p.data(), nullptr, B, D, {},
                                  6.0f, 0.25f),
              1e-6);
  EXPECT_THROW(objective->enqueue(keys.data(), nullptr, B, D), InputError);
  objective->enqueue(nullptr, keys.data(), B, D);
  std::vector<float> da2(B * D, 0);
  const float second =
      objective->forward_backward(a.data(), p.data(), B, D, nullptr, da2.data(), nullptr);
  const QueueNegatives<float> q{nullptr, 0, keys.data(), B};
  std::vector<float> example(B), da_op(B * D, 0);
  EXPECT_NEAR(second,
              loss::arccon<float>(example.data(), da_op.data(), nullptr, a.data(), p.data(),
                                  nullptr, B, D, q, 6.0f, 0.25f),
              1e-5);
  EXPECT_GT(second, first);  // more negatives
  for (int64_t b = 0; b < B; ++b) EXPECT_NEAR(objective->example_losses()[b], example[b], 1e-5);
  for (int64_t i = 0; i < B * D; ++i) EXPECT_NEAR(da2[i], da_op[i], 1e-5);
  EXPECT_THROW(objective->forward_backward(a.data(), p.data(), B, 2, nullptr, nullptr, nullptr),
               InputError);
}

TEST(ContrastiveObjective, ConfigIsValidated) {
  loss::ContrastiveConfig c;
  c.kind = "triplet";
  EXPECT_THROW(loss::make_pair_objective(c, 4), InputError);
  c = {};
  c.temperature = 0;
  EXPECT_THROW(loss::make_pair_objective(c, 4), InputError);
  c = {};
  c.kind = "arccon";
  c.margin = 4;
  EXPECT_THROW(loss::make_pair_objective(c, 4), InputError);
  c = {};
  c.queue_capacity = -1;
  EXPECT_THROW(loss::make_pair_objective(c, 4), InputError);
  EXPECT_THROW(loss::make_pair_objective(loss::ContrastiveConfig{}, 0), InputError);
}
