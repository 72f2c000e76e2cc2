// The objective interface (loss/objective.h): the factory picks the class a configuration names
// and rejects the rest; each objective computes what its kernel computes (the kernels are
// FD-checked in test_gradients.cc), touches exactly the item rows it read, and draws its
// negatives reproducibly from (seed, step); the negative sampler follows its distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "sessrec/candidates/negative_sampler.h"
#include "sessrec/errors.h"
#include "sessrec/loss/full_softmax.h"
#include "sessrec/loss/mined_softmax.h"
#include "sessrec/loss/objective.h"
#include "sessrec/loss/sampled_softmax.h"
#include "sessrec/loss/softmax_cross_entropy.h"

using namespace sessrec;

namespace {

nn::Parameter item_table(int64_t num_items, int64_t dim, uint64_t seed) {
  nn::Parameter p;
  p.name = "items";
  p.rows = num_items + 1;
  p.cols = dim;
  p.row_sparse = true;
  p.value.assign(p.rows * dim, 0.0f);
  p.grad.assign(p.rows * dim, 0.0f);
  p.touched.assign(p.rows, 0);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.5f);
  for (int64_t i = dim; i < p.rows * dim; ++i) p.value[i] = d(rng);
  return p;
}

struct Batch {
  std::vector<float> H;
  std::vector<int32_t> target;
  loss::ObjectiveBatch view(int64_t dim, uint64_t step) const {
    loss::ObjectiveBatch b;
    b.H = H.data();
    b.target = target.data();
    b.rows = static_cast<int64_t>(target.size());
    b.dim = dim;
    b.step = step;
    return b;
  }
};

Batch make_batch(int64_t rows, int64_t dim, int64_t num_items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.5f);
  Batch b;
  b.H.resize(rows * dim);
  for (float& x : b.H) x = d(rng);
  for (int64_t r = 0; r < rows; ++r)
    b.target.push_back(1 + static_cast<int32_t>(rng() % num_items));
  return b;
}

}  // namespace

TEST(Objectives, FactoryPicksTheConfiguredClassAndRejectsOthers) {
  loss::ObjectiveConfig c;
  EXPECT_EQ(loss::make_objective(c, 10, 0)->name(), "ce");
  c.kind = "sampled";
  EXPECT_EQ(loss::make_objective(c, 10, 0)->name(), "sampled");
  c.kind = "bpr";
  EXPECT_THROW(loss::make_objective(c, 10, 0), InputError);
  c.kind = "sampled";
  c.num_negatives = 0;
  EXPECT_THROW(loss::make_objective(c, 10, 0), InputError);
  c.num_negatives = 4;
  c.sampler = "zipf";
  EXPECT_THROW(loss::make_objective(c, 10, 0), InputError);
  c.kind = "ce";  // a bad sampler is an error even when the loss does not sample
  EXPECT_THROW(loss::make_objective(c, 10, 0), InputError);
}

TEST(Objectives, FullSoftmaxIsTheChunkedKernelAndTouchesEveryRow) {
  const int64_t N = 37, D = 8;
  nn::Parameter items = item_table(N, D, 1);
  const Batch batch = make_batch(5, D, N, 2);
  std::vector<float> dH(5 * D, 0.0f), dH_kernel(5 * D, 0.0f), dE_kernel(items.size(), 0.0f);
  loss::FullSoftmax objective;
  const float value = objective.forward_backward(batch.view(D, 0), items, dH.data());
  const float expected = loss::softmax_cross_entropy(
      dH_kernel.data(), dE_kernel.data(), batch.H.data(), items.data(), batch.target.data(),
      static_cast<const float*>(nullptr), 5, N + 1, D, 1);
  EXPECT_FLOAT_EQ(value, expected);
  for (size_t i = 0; i < dH.size(); ++i) EXPECT_FLOAT_EQ(dH[i], dH_kernel[i]);
  for (size_t i = 0; i < dE_kernel.size(); ++i) EXPECT_FLOAT_EQ(items.grad[i], dE_kernel[i]);
  EXPECT_EQ(static_cast<int64_t>(items.touched_rows.size()), N + 1);
}

TEST(Objectives, SampledSoftmaxIsReproducibleDropsAccidentalHitsAndTouchesOnlyItsRows) {
  const int64_t N = 6, D = 4, K = 50;  // K >> N: every row meets its own target as a negative
  const Batch batch = make_batch(3, D, N, 3);
  auto run = [&](uint64_t seed, uint64_t step, std::vector<float>& dH, nn::Parameter& items) {
    loss::SampledSoftmax objective(K, NegativeSampler("uniform", N), seed);
    dH.assign(3 * D, 0.0f);
    return objective.forward_backward(batch.view(D, step), items, dH.data());
  };
  nn::Parameter a = item_table(N, D, 4), b = item_table(N, D, 4), c = item_table(N, D, 4);
  std::vector<float> da, db, dc;
  const float la = run(7, 1, da, a), lb = run(7, 1, db, b), lc = run(7, 2, dc, c);
  EXPECT_EQ(la, lb);
  EXPECT_EQ(da, db);
  EXPECT_NE(la, lc);  // another step, other negatives
  EXPECT_TRUE(std::isfinite(la));
  // The loss against a direct computation in which every negative equal to the row's target
  // (an accidental hit) is left out and every logit carries log(K q) = log(K / N).
  loss::SampledSoftmax objective(K, NegativeSampler("uniform", N), 7);
  nn::Parameter items = item_table(N, D, 4);
  std::vector<float> dH(3 * D, 0.0f);
  const float value = objective.forward_backward(batch.view(D, 1), items, dH.data());
  auto rng = derived_rng(7, 2, 1);
  std::vector<int32_t> negatives(K);
  NegativeSampler("uniform", N).sample(rng, K, negatives.data());
  double direct = 0;
  for (int64_t m = 0; m < 3; ++m) {
    auto logit = [&](int32_t id) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += batch.H[m * D + d] * items.value[id * D + d];
      return s - std::log(double(K) / double(N));
    };
    double sum = std::exp(logit(batch.target[m]));
    for (int32_t id : negatives)
      if (id != batch.target[m]) sum += std::exp(logit(id));
    direct += std::log(sum) - logit(batch.target[m]);
  }
  EXPECT_NEAR(value, direct / 3, 1e-5);
  std::set<int32_t> expected(negatives.begin(), negatives.end());
  expected.insert(batch.target.begin(), batch.target.end());
  EXPECT_EQ(std::set<int32_t>(items.touched_rows.begin(), items.touched_rows.end()), expected);
}

TEST(Objectives, PopularitySamplerFollowsSmoothedCounts) {
  const int64_t N = 4;
  NegativeSampler sampler("popularity", N);
  sampler.set_item_counts({0, 15, 80, 255});  // (c + 1)^0.75: 1, 8, 27.2, 64
  EXPECT_THROW(sampler.set_item_counts({1, 2}), InputError);
  std::mt19937_64 rng(11);
  const int64_t draws = 200000;
  std::vector<int32_t> ids(draws);
  sampler.sample(rng, draws, ids.data());
  std::map<int32_t, int64_t> seen;
  for (int32_t id : ids) ++seen[id];
  double total = 0;
  for (int64_t c : {0, 15, 80, 255}) total += std::pow(c + 1.0, 0.75);
  const int64_t counts[] = {0, 15, 80, 255};
  for (int64_t i = 0; i < N; ++i) {
    const double q = std::pow(counts[i] + 1.0, 0.75) / total;
    EXPECT_NEAR(double(seen[i + 1]) / draws, q, 0.005) << "item " << i;
    EXPECT_NEAR(sampler.log_q(static_cast<int32_t>(i + 1), 10), std::log(10 * q), 1e-5);
  }
  NegativeSampler uniform("uniform", N);
  EXPECT_NEAR(uniform.log_q(3, 8), std::log(2.0), 1e-6);
  EXPECT_THROW(NegativeSampler("zipf", N), InputError);
}

TEST(Objectives, MinedSoftmaxWithoutTeacherDrawsOnlyRandomNegatives) {
  const int64_t N = 30, D = 4;
  MiningConfig mining;
  mining.k1 = 2;
  mining.k2 = 10;
  mining.num_hard = 3;
  mining.num_random = 4;
  loss::MinedSoftmax objective(mining, N, 5);
  const Batch batch = make_batch(4, D, N, 6);
  nn::Parameter items = item_table(N, D, 7);
  std::vector<float> dH(4 * D, 0.0f);
  const float value = objective.forward_backward(batch.view(D, 0), items, dH.data());
  EXPECT_TRUE(std::isfinite(value));
  EXPECT_GT(value, 0.0f);
  // 4 rows x (target + 3 + 4 random): at most 4 + 28 distinct rows, never the padding row.
  EXPECT_LE(static_cast<int64_t>(items.touched_rows.size()), 32);
  for (int32_t row : items.touched_rows) EXPECT_GT(row, 0);
  mining.k2 = 0;  // k1 <= k2 is required
  mining.k1 = 5;
  EXPECT_THROW(loss::MinedSoftmax(mining, N, 5), InputError);
}
