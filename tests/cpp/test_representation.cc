// Alignment and uniformity against hand-worked cases.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/eval/representation.h"

using namespace sessrec;

TEST(Representation, HandComputedTwoRows) {
  // x rows (1,0), (0,1); y rows (1,0), (0,2), which normalises to (0,1): alignment 0.
  // One pair per side at squared distance 2: uniformity = log exp(-2 * 2) = -4.
  const std::vector<double> x = {1, 0, 0, 1}, y = {1, 0, 0, 2};
  const auto r = alignment_uniformity(x.data(), y.data(), 2, 2, 2.0, 2.0);
  EXPECT_DOUBLE_EQ(r.alignment, 0.0);
  EXPECT_NEAR(r.uniformity_x, -4.0, 1e-12);
  EXPECT_NEAR(r.uniformity_y, -4.0, 1e-12);
  EXPECT_NEAR(r.uniformity, -4.0, 1e-12);
}

TEST(Representation, HandComputedThreeRows) {
  // x rows (1,0), (0,1), (-1,0) (x scaled by 3: normalising undoes it); every y row (0,5) -> (0,1).
  // Squared pair distances: (1,0)-(0,1) 2, 0, (-1,0)-(0,1) 2 -> alignment (alpha 2) = 4/3;
  // alpha 1: (sqrt 2 + 0 + sqrt 2) / 3.
  // x pairs: d^2 = 2, 4, 2 -> uniformity_x = log((2 e^-4 + e^-8) / 3) at t = 2;
  // y rows coincide: d^2 = 0 -> uniformity_y = log 1 = 0.
  const std::vector<double> x = {3, 0, 0, 3, -3, 0}, y = {0, 5, 0, 5, 0, 5};
  auto r = alignment_uniformity(x.data(), y.data(), 3, 2, 2.0, 2.0);
  EXPECT_NEAR(r.alignment, 4.0 / 3.0, 1e-12);
  const double ux = std::log((2 * std::exp(-4.0) + std::exp(-8.0)) / 3.0);
  EXPECT_NEAR(r.uniformity_x, ux, 1e-12);
  EXPECT_NEAR(r.uniformity_y, 0.0, 1e-12);
  EXPECT_NEAR(r.uniformity, ux / 2, 1e-12);
  r = alignment_uniformity(x.data(), y.data(), 3, 2, 1.0, 1.0);
  EXPECT_NEAR(r.alignment, 2.0 * std::sqrt(2.0) / 3.0, 1e-12);
  // t = 1: log((2 e^-2 + e^-4) / 3).
  EXPECT_NEAR(r.uniformity_x, std::log((2 * std::exp(-2.0) + std::exp(-4.0)) / 3.0), 1e-12);
}

TEST(Representation, SameResultAtAnyThreadCount) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  const int64_t n = 700, d = 16;
  std::vector<double> x(n * d), y(n * d);
  for (auto& v : x) v = normal(rng);
  for (size_t k = 0; k < y.size(); ++k) y[k] = x[k] + 0.3 * normal(rng);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = alignment_uniformity(x.data(), y.data(), n, d, 2.0, 2.0);
  omp_set_num_threads(std::max(2, threads));
  const auto two = alignment_uniformity(x.data(), y.data(), n, d, 2.0, 2.0);
  omp_set_num_threads(threads);
  EXPECT_EQ(one.alignment, two.alignment);
  EXPECT_EQ(one.uniformity_x, two.uniformity_x);
  EXPECT_EQ(one.uniformity_y, two.uniformity_y);
  // Normalised rows are at squared distance at most 4: uniformity lies in [-2t * 4 / 2, 0].
  EXPECT_LT(one.uniformity, 0.0);
  EXPECT_GT(one.uniformity, -8.0);
}

TEST(Representation, RejectsBadInput) {
  const std::vector<double> x = {1, 0, 0, 1}, zero = {1, 0, 0, 0};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> with_nan = {1, 0, nan, 1};
  EXPECT_THROW(alignment_uniformity(x.data(), x.data(), 1, 2, 2, 2), InputError);   // one row
  EXPECT_THROW(alignment_uniformity(x.data(), x.data(), 2, 2, 0, 2), InputError);   // alpha 0
  EXPECT_THROW(alignment_uniformity(x.data(), x.data(), 2, 2, 2, -1), InputError);  // t < 0
  try {
    alignment_uniformity(x.data(), zero.data(), 2, 2, 2, 2);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("y row 1 is all zeros"), std::string::npos);
  }
  try {
    alignment_uniformity(with_nan.data(), x.data(), 2, 2, 2, 2);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("x row 1"), std::string::npos);
  }
}
