// Finite-difference checking in double precision, shared by the gradient tests: central
// differences of +-1e-6 against the hand-written backward, tolerance 1e-6 absolute + 1e-5
// relative.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace sessrec::gradcheck {

using Vec = std::vector<double>;

inline Vec random_vec(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0.0, scale);
  Vec v(n);
  for (double& x : v) x = d(rng);
  return v;
}

// Checks d loss / d x against `analytic` for every entry of x.
inline void expect_gradient(Vec& x, const Vec& analytic, const std::function<double()>& loss,
                            const std::string& what) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  const double eps = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + eps;
    const double up = loss();
    x[i] = keep - eps;
    const double down = loss();
    x[i] = keep;
    const double numeric = (up - down) / (2 * eps);
    EXPECT_NEAR(analytic[i], numeric, 1e-6 + 1e-5 * std::abs(numeric)) << what << "[" << i << "]";
  }
}

}  // namespace sessrec::gradcheck
