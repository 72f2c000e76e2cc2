// nn::sgemm against a plain triple loop: every transpose combination, row strides wider than
// the rows, alpha and beta (beta 0 must ignore what C held, even NaN), empty shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/nn/gemm.h"

using namespace sessrec;

TEST(Gemm, MatchesTripleLoopForEveryLayout) {
  std::mt19937_64 rng(4);
  std::normal_distribution<float> d(0.0f, 1.0f);
  const int64_t M = 37, N = 29, K = 41, pad = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 1.0f, 0.5f}) {
        const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
        const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
        const int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
        std::vector<float> A(a_rows * lda), B(b_rows * ldb), C(M * ldc);
        for (float& x : A) x = d(rng);
        for (float& x : B) x = d(rng);
        for (float& x : C) x = beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : d(rng);
        const std::vector<float> C0 = C;
        const float alpha = 0.75f;
        nn::sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k)
              s += double(ta ? A[k * lda + i] : A[i * lda + k]) *
                   double(tb ? B[j * ldb + k] : B[k * ldb + j]);
            const double expected = alpha * s + (beta == 0.0f ? 0.0 : beta * C0[i * ldc + j]);
            EXPECT_NEAR(C[i * ldc + j], expected, 1e-4 * (1 + std::abs(expected)))
                << "ta=" << ta << " tb=" << tb << " beta=" << beta << " (" << i << ", " << j << ")";
          }
        for (int64_t i = 0; i < M; ++i)  // the padding columns of C stay as they were
          for (int64_t j = N; j < ldc; ++j)
            if (beta != 0.0f) EXPECT_EQ(C[i * ldc + j], C0[i * ldc + j]);
      }
}

TEST(Gemm, EmptyShapesAndZeroDepth) {
  std::vector<float> C = {1, 2, 3, 4};
  nn::sgemm(false, false, 0, 2, 3, 1.0f, nullptr, 3, nullptr, 2, 0.0f, C.data(), 2);
  EXPECT_EQ(C, (std::vector<float>{1, 2, 3, 4}));
  nn::sgemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, C.data(), 2);
  EXPECT_EQ(C, (std::vector<float>{0.5f, 1, 1.5f, 2}));  // K = 0: C = beta C
}

TEST(Gemm, Bfloat16PrecisionIsCloseAndOptIn) {
  if (!nn::sgemm_uses_dnnl()) {
    EXPECT_THROW(nn::set_matmul_precision("bfloat16"), InputError);
    return;
  }
  EXPECT_EQ(nn::matmul_precision(), "float32");
  EXPECT_THROW(nn::set_matmul_precision("fp8"), InputError);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> d(0.0f, 1.0f);
  const int64_t M = 33, N = 40, K = 64;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      std::vector<float> A(M * K), B(K * N), C32(M * N, 1.0f), C16(M * N, 1.0f);
      for (float& x : A) x = d(rng);
      for (float& x : B) x = d(rng);
      const int64_t lda = ta ? M : K, ldb = tb ? K : N;
      nn::sgemm(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 1.0f, C32.data(), N);
      nn::set_matmul_precision("bfloat16");
      nn::sgemm(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 1.0f, C16.data(), N);
      nn::set_matmul_precision("float32");
      double err = 0, scale = 0;
      for (int64_t i = 0; i < M * N; ++i) {
        err = std::max(err, double(std::abs(C16[i] - C32[i])));
        scale = std::max(scale, double(std::abs(C32[i])));
      }
      EXPECT_LT(err / scale, 1e-2) << "ta=" << ta << " tb=" << tb;  // bfloat16: 8 mantissa bits
      EXPECT_GT(err, 0.0) << "the bfloat16 path was not taken";
    }
  EXPECT_EQ(nn::matmul_precision(), "float32");
}
