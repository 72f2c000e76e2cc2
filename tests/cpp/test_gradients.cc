// Finite-difference checks of every nn layer and loss, in double precision.
// Each check builds a scalar L = sum(out * R) with a fixed random R (so dout = R), perturbs every
// input and parameter entry by +-1e-6 and compares (L+ - L-)/2e-6 with the hand-written
// backward. Tolerance: 1e-6 absolute + 1e-5 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "sessrec/loss/candidate_softmax.h"
#include "sessrec/loss/pointwise.h"
#include "sessrec/loss/softmax_cross_entropy.h"
#include "sessrec/nn/activation.h"
#include "sessrec/nn/attention.h"
#include "sessrec/nn/dropout.h"
#include "sessrec/nn/embedding.h"
#include "sessrec/nn/gated_fusion.h"
#include "sessrec/nn/gru.h"
#include "sessrec/nn/layernorm.h"
#include "sessrec/nn/linear.h"
#include "sessrec/nn/mlp.h"
#include "sessrec/nn/pooling.h"
#include "sessrec/nn/positional.h"

#include "gradient_check.h"

using namespace sessrec;
using gradcheck::expect_gradient;
using gradcheck::random_vec;
using gradcheck::Vec;

namespace {

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

TEST(Gradients, Linear) {
  const int64_t N = 3, I = 4, O = 5;
  Vec x = random_vec(N * I, 1), W = random_vec(O * I, 2), b = random_vec(O, 3),
      R = random_vec(N * O, 4);
  auto loss = [&] {
    Vec out(N * O);
    nn::linear_forward(out.data(), x.data(), W.data(), b.data(), N, I, O);
    return dot(out, R);
  };
  Vec dx(N * I, 0), dW(O * I, 0), db(O, 0);
  nn::linear_backward(dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), N, I, O);
  expect_gradient(x, dx, loss, "dx");
  expect_gradient(W, dW, loss, "dW");
  expect_gradient(b, db, loss, "db");
}

TEST(Gradients, MLP) {
  const int64_t N = 3;
  const std::vector<int64_t> dims{4, 6, 5, 2};
  Vec x = random_vec(N * 4, 40), R = random_vec(N * 2, 41);
  std::vector<Vec> W, b;
  for (size_t l = 0; l + 1 < dims.size(); ++l) {
    W.push_back(random_vec(dims[l + 1] * dims[l], 42 + l, 0.7));
    b.push_back(random_vec(dims[l + 1], 52 + l));
  }
  for (bool gelu : {false, true}) {
    auto pointers = [&] {
      std::vector<const double*> w, bb;
      for (size_t l = 0; l < W.size(); ++l) {
        w.push_back(W[l].data());
        bb.push_back(b[l].data());
      }
      return std::make_pair(w, bb);
    };
    auto loss = [&] {
      auto [w, bb] = pointers();
      nn::MLPCache<double> cache;
      Vec out(N * 2);
      nn::mlp_forward(out.data(), cache, x.data(), w, bb, dims, N, gelu);
      return dot(out, R);
    };
    auto [w, bb] = pointers();
    nn::MLPCache<double> cache;
    Vec out(N * 2), dx(x.size(), 0);
    nn::mlp_forward(out.data(), cache, x.data(), w, bb, dims, N, gelu);
    std::vector<Vec> dW, db;
    std::vector<double*> dWp, dbp;
    for (size_t l = 0; l < W.size(); ++l) {
      dW.emplace_back(W[l].size(), 0.0);
      db.emplace_back(b[l].size(), 0.0);
    }
    for (size_t l = 0; l < W.size(); ++l) {
      dWp.push_back(dW[l].data());
      dbp.push_back(db[l].data());
    }
    nn::mlp_backward(dx.data(), dWp, dbp, R.data(), cache, x.data(), w, dims, N, gelu);
    expect_gradient(x, dx, loss, "mlp dx");
    for (size_t l = 0; l < W.size(); ++l) {
      expect_gradient(W[l], dW[l], loss, "mlp dW");
      expect_gradient(b[l], db[l], loss, "mlp db");
    }
  }
}

TEST(Gradients, EmbeddingWithPadding) {
  const int64_t V = 5, D = 3, N = 4;
  const int32_t ids[] = {2, 0, 2, 4};
  Vec table = random_vec(V * D, 5), R = random_vec(N * D, 6);
  auto loss = [&] {
    Vec out(N * D);
    nn::embedding_forward(out.data(), ids, table.data(), N, D);
    return dot(out, R);
  };
  Vec dtable(V * D, 0);
  nn::embedding_backward(dtable.data(), R.data(), ids, N, D);
  expect_gradient(table, dtable, loss, "dtable");
  for (int64_t d = 0; d < D; ++d) EXPECT_EQ(dtable[d], 0.0);  // padding row gets nothing
}

TEST(Gradients, LayerNorm) {
  const int64_t N = 3, D = 6;
  Vec x = random_vec(N * D, 7), g = random_vec(D, 8), b = random_vec(D, 9),
      R = random_vec(N * D, 10);
  auto loss = [&] {
    Vec out(N * D), m(N), r(N);
    nn::layernorm_forward(out.data(), m.data(), r.data(), x.data(), g.data(), b.data(), N, D);
    return dot(out, R);
  };
  Vec out(N * D), m(N), r(N), dx(N * D, 0), dg(D, 0), db(D, 0);
  nn::layernorm_forward(out.data(), m.data(), r.data(), x.data(), g.data(), b.data(), N, D);
  nn::layernorm_backward(dx.data(), dg.data(), db.data(), R.data(), x.data(), m.data(), r.data(),
                         g.data(), N, D);
  expect_gradient(x, dx, loss, "dx");
  expect_gradient(g, dg, loss, "dgamma");
  expect_gradient(b, db, loss, "dbeta");
}

TEST(Gradients, ReluGeluDropout) {
  const int64_t n = 12;
  Vec x = random_vec(n, 11), R = random_vec(n, 12);
  for (double& v : x)
    if (std::abs(v) < 1e-3) v = 0.5;  // keep ReLU away from its kink
  auto relu = [&] {
    Vec out(n);
    nn::relu_forward(out.data(), x.data(), n);
    return dot(out, R);
  };
  Vec dx(n, 0);
  nn::relu_backward(dx.data(), R.data(), x.data(), n);
  expect_gradient(x, dx, relu, "relu");
  auto gelu = [&] {
    Vec out(n);
    nn::gelu_forward(out.data(), x.data(), n);
    return dot(out, R);
  };
  dx.assign(n, 0);
  nn::gelu_backward(dx.data(), R.data(), x.data(), n);
  expect_gradient(x, dx, gelu, "gelu");
  auto dropout = [&] {
    Vec out(n), mask(n);
    nn::dropout_forward(out.data(), mask.data(), x.data(), n, 0.4, true, 99);
    return dot(out, R);
  };
  Vec out(n), mask(n);
  nn::dropout_forward(out.data(), mask.data(), x.data(), n, 0.4, true, 99);
  dx.assign(n, 0);
  nn::dropout_backward(dx.data(), R.data(), mask.data(), n);
  expect_gradient(x, dx, dropout, "dropout");
  int dropped = 0;
  for (double v : mask) dropped += v == 0;
  EXPECT_GT(dropped, 0);
  // The drop rate is p: 0.4 of 100000 units, within 4 standard deviations.
  Vec big(100000, 1.0), big_out(big.size()), big_mask(big.size());
  nn::dropout_forward(big_out.data(), big_mask.data(), big.data(), int64_t(big.size()), 0.4, true,
                      7);
  int64_t zeros = 0;
  for (double v : big_mask) zeros += v == 0;
  EXPECT_NEAR(zeros / 1e5, 0.4, 4 * std::sqrt(0.24 / 1e5));
}

TEST(Gradients, AttentionCausalWithPadding) {
  const int64_t B = 2, T = 4, C = 6, H = 2;
  Vec qkv = random_vec(B * T * 3 * C, 13), R = random_vec(B * T * C, 14);
  const uint8_t valid[] = {1, 1, 1, 1, 1, 1, 0, 0};  // row 1 has two real positions
  auto loss = [&] {
    Vec out(B * T * C), att(B * H * T * T);
    nn::attention_forward(out.data(), att.data(), qkv.data(), valid, B, T, C, H, true);
    return dot(out, R);
  };
  Vec out(B * T * C), att(B * H * T * T), dqkv(qkv.size(), 0);
  nn::attention_forward(out.data(), att.data(), qkv.data(), valid, B, T, C, H, true);
  nn::attention_backward(dqkv.data(), R.data(), qkv.data(), att.data(), B, T, C, H);
  expect_gradient(qkv, dqkv, loss, "dqkv");
  // Causality: position 0 attends only to itself; padding keys get no weight.
  EXPECT_DOUBLE_EQ(att[0], 1.0);
  for (int64_t t = 0; t < T; ++t) EXPECT_EQ(att[((1 * H + 0) * T + t) * T + 3], 0.0);
}

TEST(Gradients, AttentionBidirectional) {
  const int64_t B = 1, T = 3, C = 4, H = 1;
  Vec qkv = random_vec(B * T * 3 * C, 15), R = random_vec(B * T * C, 16);
  auto loss = [&] {
    Vec out(B * T * C), att(B * H * T * T);
    nn::attention_forward<double>(out.data(), att.data(), qkv.data(), nullptr, B, T, C, H, false);
    return dot(out, R);
  };
  Vec out(B * T * C), att(B * H * T * T), dqkv(qkv.size(), 0);
  nn::attention_forward<double>(out.data(), att.data(), qkv.data(), nullptr, B, T, C, H, false);
  nn::attention_backward(dqkv.data(), R.data(), qkv.data(), att.data(), B, T, C, H);
  expect_gradient(qkv, dqkv, loss, "dqkv");
}

// Packed sequences (no padding rows) give the padded kernel's outputs and gradients on the real
// rows: the three sequences of lengths 4, 1, 3 packed into 8 rows against a padded [3, 4] batch.
TEST(Gradients, AttentionPackedMatchesPadded) {
  const int64_t B = 3, T = 4, C = 6, H = 2;
  const int64_t lengths[] = {4, 1, 3}, offsets[] = {0, 4, 5, 8};
  const int64_t R_rows = offsets[B];
  Vec qkv_packed = random_vec(R_rows * 3 * C, 31), R = random_vec(R_rows * C, 32);
  Vec qkv_padded(B * T * 3 * C, 0.0), R_padded(B * T * C, 0.0);
  std::vector<uint8_t> valid(B * T, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t) {
      valid[b * T + t] = 1;
      for (int64_t i = 0; i < 3 * C; ++i)
        qkv_padded[(b * T + t) * 3 * C + i] = qkv_packed[(offsets[b] + t) * 3 * C + i];
      for (int64_t i = 0; i < C; ++i) R_padded[(b * T + t) * C + i] = R[(offsets[b] + t) * C + i];
    }
  const int64_t att_size = nn::packed_attention_size(offsets, B, H);
  EXPECT_EQ(att_size, H * (16 + 1 + 9));
  Vec out(R_rows * C), att(att_size), dqkv(qkv_packed.size(), 0.0);
  nn::attention_forward_packed(out.data(), att.data(), qkv_packed.data(), offsets, B, C, H, true);
  nn::attention_backward_packed(dqkv.data(), R.data(), qkv_packed.data(), att.data(), offsets, B, C,
                                H);
  Vec out_p(B * T * C), att_p(B * H * T * T), dqkv_p(qkv_padded.size(), 0.0);
  nn::attention_forward(out_p.data(), att_p.data(), qkv_padded.data(), valid.data(), B, T, C, H,
                        true);
  nn::attention_backward(dqkv_p.data(), R_padded.data(), qkv_padded.data(), att_p.data(), B, T, C,
                         H);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t) {
      for (int64_t i = 0; i < C; ++i)
        EXPECT_NEAR(out[(offsets[b] + t) * C + i], out_p[(b * T + t) * C + i], 1e-12);
      for (int64_t i = 0; i < 3 * C; ++i)
        EXPECT_NEAR(dqkv[(offsets[b] + t) * 3 * C + i], dqkv_p[(b * T + t) * 3 * C + i], 1e-12);
    }
  auto loss = [&] {
    Vec o(R_rows * C), a(att_size);
    nn::attention_forward_packed(o.data(), a.data(), qkv_packed.data(), offsets, B, C, H, true);
    return dot(o, R);
  };
  expect_gradient(qkv_packed, dqkv, loss, "dqkv (packed)");
}

TEST(Gradients, GRU) {
  const int64_t B = 2, T = 3, H = 4;
  Vec x = random_vec(B * T * 3 * H, 17), W = random_vec(3 * H * H, 18, 0.5),
      b = random_vec(3 * H, 19), R = random_vec(B * T * H, 20);
  auto loss = [&] {
    Vec h(B * T * H), g(B * T * 3 * H), hn(B * T * H);
    nn::gru_forward(h.data(), g.data(), hn.data(), x.data(), W.data(), b.data(), B, T, H);
    return dot(h, R);
  };
  Vec h(B * T * H), g(B * T * 3 * H), hn(B * T * H), dx(x.size(), 0), dW(W.size(), 0),
      db(b.size(), 0);
  nn::gru_forward(h.data(), g.data(), hn.data(), x.data(), W.data(), b.data(), B, T, H);
  nn::gru_backward(dx.data(), dW.data(), db.data(), R.data(), h.data(), g.data(), hn.data(),
                   W.data(), B, T, H);
  expect_gradient(x, dx, loss, "dx_proj");
  expect_gradient(W, dW, loss, "dW_hh");
  expect_gradient(b, db, loss, "db_hh");
}

TEST(Gradients, PoolingAndGatedFusion) {
  const int64_t B = 2, T = 3, D = 4;
  Vec x = random_vec(B * T * D, 21), R = random_vec(B * D, 22);
  const uint8_t valid[] = {1, 1, 0, 1, 1, 1};
  const int64_t last[] = {1, 2};
  auto mean = [&] {
    Vec out(B * D);
    nn::mean_pool_forward(out.data(), x.data(), valid, B, T, D);
    return dot(out, R);
  };
  Vec dx(x.size(), 0);
  nn::mean_pool_backward(dx.data(), R.data(), valid, B, T, D);
  expect_gradient(x, dx, mean, "mean pool");
  auto lastpool = [&] {
    Vec out(B * D);
    nn::last_pool_forward(out.data(), x.data(), last, B, T, D);
    return dot(out, R);
  };
  dx.assign(x.size(), 0);
  nn::last_pool_backward(dx.data(), R.data(), last, B, T, D);
  expect_gradient(x, dx, lastpool, "last pool");

  const int64_t N = 3;
  Vec a = random_vec(N * D, 23), bb = random_vec(N * D, 24), c = random_vec(N * D, 25),
      W1 = random_vec(D * 3 * D, 26, 0.3), b1 = random_vec(D, 27),
      W2 = random_vec(D * 3 * D, 28, 0.3), b2 = random_vec(D, 29), S = random_vec(N * D, 30);
  auto fusion = [&] {
    Vec out(N * D), u(N * 3 * D), g1(N * D), g2(N * D);
    nn::gated_fusion_forward(out.data(), u.data(), g1.data(), g2.data(), a.data(), bb.data(),
                             c.data(), W1.data(), b1.data(), W2.data(), b2.data(), N, D);
    return dot(out, S);
  };
  Vec out(N * D), u(N * 3 * D), g1(N * D), g2(N * D);
  nn::gated_fusion_forward(out.data(), u.data(), g1.data(), g2.data(), a.data(), bb.data(),
                           c.data(), W1.data(), b1.data(), W2.data(), b2.data(), N, D);
  Vec da(a.size(), 0), db(bb.size(), 0), dc(c.size(), 0), dW1(W1.size(), 0), db1(D, 0),
      dW2(W2.size(), 0), db2(D, 0);
  nn::gated_fusion_backward(da.data(), db.data(), dc.data(), dW1.data(), db1.data(), dW2.data(),
                            db2.data(), S.data(), u.data(), g1.data(), g2.data(), bb.data(),
                            c.data(), W1.data(), W2.data(), N, D);
  expect_gradient(a, da, fusion, "fusion da");
  expect_gradient(bb, db, fusion, "fusion db");
  expect_gradient(c, dc, fusion, "fusion dc");
  expect_gradient(W1, dW1, fusion, "fusion dW1");
  expect_gradient(b2, db2, fusion, "fusion db2");
}

TEST(Gradients, SinusoidalTable) {
  Vec table(3 * 4);
  nn::sinusoidal_table(table.data(), 3, 4);
  EXPECT_DOUBLE_EQ(table[0], 0.0);  // sin(0)
  EXPECT_DOUBLE_EQ(table[1], 1.0);  // cos(0)
  EXPECT_NEAR(table[4], std::sin(1.0), 1e-12);
  EXPECT_NEAR(table[6], std::sin(1.0 / 100.0), 1e-12);  // 10000^(2/4) = 100
}

TEST(Gradients, ChunkedSoftmaxCrossEntropyMatchesDirect) {
  const int64_t B = 4, V = 11, D = 3;
  Vec H = random_vec(B * D, 31), E = random_vec(V * D, 32);
  const int32_t target[] = {3, 10, -1, 1};
  const double weight[] = {1.0, 2.0, 5.0, 0.5};
  auto loss = [&] {
    return loss::softmax_cross_entropy<double>(nullptr, nullptr, H.data(), E.data(), target, weight,
                                               B, V, D, 1, 4);
  };
  Vec dH(H.size(), 0), dE(E.size(), 0);
  const double value = loss::softmax_cross_entropy<double>(dH.data(), dE.data(), H.data(), E.data(),
                                                           target, weight, B, V, D, 1, 4);
  // Direct computation over classes 1..V-1.
  double direct = 0, total = 0;
  for (int64_t b = 0; b < B; ++b) {
    if (target[b] < 0) continue;
    double m = -1e300, s = 0, t = 0;
    std::vector<double> logits(V);
    for (int64_t v = 1; v < V; ++v) {
      logits[v] = 0;
      for (int64_t d = 0; d < D; ++d) logits[v] += H[b * D + d] * E[v * D + d];
      m = std::max(m, logits[v]);
    }
    for (int64_t v = 1; v < V; ++v) s += std::exp(logits[v] - m);
    t = logits[target[b]];
    direct += weight[b] * (m + std::log(s) - t);
    total += weight[b];
  }
  EXPECT_NEAR(value, direct / total, 1e-12);
  expect_gradient(H, dH, loss, "dH");
  expect_gradient(E, dE, loss, "dE");
  for (int64_t d = 0; d < D; ++d) EXPECT_EQ(dE[d], 0.0);  // class 0 (padding) is excluded
}

TEST(Gradients, CandidateSoftmaxWithLogQAndWeightedPositives) {
  const int64_t B = 3, M = 4, D = 3, V = 7;
  Vec H = random_vec(B * D, 33), E = random_vec(V * D, 34);
  // Row 0: one positive; row 1: two weighted positives; row 2: an unused slot.
  const int32_t cand[] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, -1, 6};
  const double label[] = {1, 0, 0, 0, 1, 0.5, 0, 0, 1, 0, 0, 0};
  Vec logq = random_vec(B * M, 35, 0.3);
  auto loss = [&] {
    return loss::candidate_softmax<double>(nullptr, nullptr, H.data(), E.data(), cand, label,
                                           logq.data(), B, M, D);
  };
  Vec dH(H.size(), 0), dE(E.size(), 0);
  loss::candidate_softmax<double>(dH.data(), dE.data(), H.data(), E.data(), cand, label,
                                  logq.data(), B, M, D);
  expect_gradient(H, dH, loss, "dH");
  expect_gradient(E, dE, loss, "dE");
}

// The dense path (full logit matrix, GEMMs) gives the candidate-list loss and gradients, with
// a repeated candidate in a row, an unused slot, weighted positives and logQ.
TEST(Gradients, CandidateSoftmaxDenseMatchesGathered) {
  const int64_t B = 3, M = 5, D = 3, V = 7;
  Vec H = random_vec(B * D, 43), E = random_vec(V * D, 44);
  const int32_t cand[] = {1, 2, 3, 3, 4, 5, 6, 1, 2, -1, 3, 4, 6, 6, 0};
  const double label[] = {1, 0, 0, 0, 0, 1, 0.5, 0, 0, 0, 1, 0, 0, 0, 0};
  Vec logq = random_vec(B * M, 45, 0.3);
  auto loss = [&] {
    return loss::candidate_softmax_dense<double>(nullptr, nullptr, H.data(), E.data(), cand, label,
                                                 logq.data(), B, M, D, V);
  };
  Vec dH(H.size(), 0), dE(E.size(), 0), gH(H.size(), 0), gE(E.size(), 0);
  const double dense = loss::candidate_softmax_dense<double>(
      dH.data(), dE.data(), H.data(), E.data(), cand, label, logq.data(), B, M, D, V);
  const double gathered = loss::candidate_softmax<double>(gH.data(), gE.data(), H.data(), E.data(),
                                                          cand, label, logq.data(), B, M, D);
  EXPECT_NEAR(dense, gathered, 1e-12);
  for (size_t i = 0; i < dH.size(); ++i) EXPECT_NEAR(dH[i], gH[i], 1e-12);
  for (size_t i = 0; i < dE.size(); ++i) EXPECT_NEAR(dE[i], gE[i], 1e-12);
  expect_gradient(H, dH, loss, "dH");
  expect_gradient(E, dE, loss, "dE");
  EXPECT_TRUE(loss::prefer_dense_candidates(5556, 864, 3635));
  EXPECT_FALSE(loss::prefer_dense_candidates(5556, 864, 1000000));
}

// Separate positive terms (AlterRec_aug, Eq. 10-11): each positive is its own log-softmax
// against the row's negatives only. Rows: two weighted positives; one positive (where shared and
// separate agree); a positive with an unused slot and a repeated negative; positives only.
TEST(Gradients, CandidateSoftmaxSeparatePositives) {
  const int64_t B = 4, M = 5, D = 3, V = 8;
  Vec H = random_vec(B * D, 53), E = random_vec(V * D, 54);
  Vec logq = random_vec(B * M, 55, 0.3);
  const int32_t cand[] = {1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, -1, 5, 5, 6, 7, 2, -1, -1, -1};
  const double label[] = {1, 0.5, 0.25, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0.5, 0, 0, 0};
  for (bool dense : {false, true}) {
    auto run = [&](double* dH, double* dE, bool separate) {
      return dense ? loss::candidate_softmax_dense<double>(dH, dE, H.data(), E.data(), cand, label,
                                                           logq.data(), B, M, D, V, separate)
                   : loss::candidate_softmax<double>(dH, dE, H.data(), E.data(), cand, label,
                                                     logq.data(), B, M, D, separate);
    };
    auto loss = [&] { return run(nullptr, nullptr, true); };
    Vec dH(H.size(), 0), dE(E.size(), 0);
    const double value = run(dH.data(), dE.data(), true);
    expect_gradient(H, dH, loss, dense ? "dense dH" : "dH");
    expect_gradient(E, dE, loss, dense ? "dense dE" : "dE");
    // The same value written out: sum over positives of label * (lse({j} + negatives) - logit_j).
    double expected = 0, total = 0;
    for (int64_t b = 0; b < B; ++b) {
      auto logit = [&](int64_t j) {
        const int32_t c = cand[b * M + j];
        double s = 0;
        for (int64_t d = 0; d < D; ++d) s += H[b * D + d] * E[c * D + d];
        return s - logq[b * M + j];
      };
      for (int64_t j = 0; j < M; ++j) {
        if (cand[b * M + j] < 0 || label[b * M + j] == 0) continue;
        total += label[b * M + j];
        double sum = std::exp(logit(j));
        for (int64_t k = 0; k < M; ++k)
          if (cand[b * M + k] >= 0 && label[b * M + k] == 0) sum += std::exp(logit(k));
        expected += label[b * M + j] * (std::log(sum) - logit(j));
      }
    }
    EXPECT_NEAR(value, expected / total, 1e-12);
  }
  // One positive per row: separate and shared are the same loss.
  const double one[] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  const double shared = loss::candidate_softmax<double>(nullptr, nullptr, H.data(), E.data(), cand,
                                                        one, logq.data(), B, M, D, false);
  const double separate = loss::candidate_softmax<double>(nullptr, nullptr, H.data(), E.data(),
                                                          cand, one, logq.data(), B, M, D, true);
  EXPECT_NEAR(shared, separate, 1e-12);
}
// InfoNCE and ArcCon: tests/cpp/test_contrastive.cc.
TEST(Gradients, BceMse) {
  Vec x = random_vec(5, 38, 3.0), y = {0, 1, 1, 0, 0.3};
  auto bce = [&] { return loss::bce_with_logits<double>(nullptr, x.data(), y.data(), 5); };
  Vec dx(5, 0);
  loss::bce_with_logits<double>(dx.data(), x.data(), y.data(), 5);
  expect_gradient(x, dx, bce, "bce");
  // log(2) at logit 0, label 1.
  const double zero = 0, one = 1;
  EXPECT_NEAR(loss::bce_with_logits<double>(nullptr, &zero, &one, 1), std::log(2.0), 1e-12);

  auto mse = [&] { return loss::mse<double>(nullptr, x.data(), y.data(), 5); };
  dx.assign(5, 0);
  loss::mse<double>(dx.data(), x.data(), y.data(), 5);
  expect_gradient(x, dx, mse, "mse");
}
