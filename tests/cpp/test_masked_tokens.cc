// Masked-token prediction: the masking policy's rates, protection and reproducibility, and the
// head's gradients (finite differences through the transform, LayerNorm, the tied decoder and
// the output bias, into the token outputs).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/models/masked_token_head.h"
#include "sessrec/text/token_masking.h"

using namespace sessrec;

TEST(TokenMasking, RatesProtectionTruncationAndReproducibility) {
  const int64_t B = 400, L = 50, V = 30;
  std::vector<int64_t> offsets(B + 1);
  std::vector<int32_t> ids;
  std::mt19937_64 rng(1);
  for (int64_t b = 0; b < B; ++b) {
    offsets[b + 1] = offsets[b] + L;
    ids.push_back(1);  // [CLS]
    for (int64_t t = 1; t < L; ++t) ids.push_back(3 + static_cast<int32_t>(rng() % (V - 3)));
  }
  MaskingConfig c;
  c.vocab_size = V;
  c.mask_id = 2;
  c.max_tokens = 40;
  c.protected_ids = {0, 1, 2};
  const MaskedTokens m = mask_tokens(offsets.data(), ids.data(), B, c, 7, 3);
  EXPECT_EQ(m.offsets.back(), B * 40);
  int64_t masked = 0, random = 0, kept = 0;
  for (size_t i = 0; i < m.rows.size(); ++i) {
    const int64_t row = m.rows[i];
    const int64_t b = row / 40, t = row % 40;
    EXPECT_NE(t, 0) << "a protected [CLS] was selected";
    EXPECT_EQ(m.labels[i], ids[b * L + t]);
    if (m.ids[row] == 2)
      ++masked;
    else if (m.ids[row] == m.labels[i])
      ++kept;
    else
      ++random;
    EXPECT_GE(m.ids[row], 2);  // random replacements are never protected (mask id aside)
  }
  const double selected = double(m.rows.size()) / (B * 39);
  EXPECT_NEAR(selected, 0.15, 0.01);
  const double n = double(m.rows.size());
  EXPECT_NEAR(masked / n, 0.8, 0.02);
  // A random replacement equals the original 1 time in 27: kept ~ 0.1 + 0.1 / 27.
  EXPECT_NEAR(kept / n, 0.1 + 0.1 / 27, 0.015);
  EXPECT_NEAR(random / n, 0.1 - 0.1 / 27, 0.015);
  const MaskedTokens again = mask_tokens(offsets.data(), ids.data(), B, c, 7, 3);
  EXPECT_EQ(again.rows, m.rows);
  EXPECT_EQ(again.ids, m.ids);
  const MaskedTokens other = mask_tokens(offsets.data(), ids.data(), B, c, 7, 4);
  EXPECT_NE(other.rows, m.rows);
  c.mask_id = V;
  EXPECT_THROW(mask_tokens(offsets.data(), ids.data(), B, c, 7, 3), InputError);
  c.mask_id = 2;
  c.replace_mask = 0.95f;
  EXPECT_THROW(mask_tokens(offsets.data(), ids.data(), B, c, 7, 3), InputError);
}

TEST(MaskedTokenHead, GradientsThroughTransformDecoderAndBias) {
  const int64_t D = 6, V = 9, N = 7;
  nn::ParameterSet params;
  nn::Parameter& E = params.add("token_embedding", V, D, true);
  std::mt19937_64 rng(3);
  MaskedTokenHead head(D, V, 1e-5f, params, rng);
  std::normal_distribution<float> normal(0.0f, 0.7f);
  for (nn::Parameter* p : params.all())
    for (float& x : p->value) x = normal(rng);
  std::vector<float> tokens(N * D);
  for (float& x : tokens) x = normal(rng);
  const std::vector<int64_t> rows = {1, 4, 6, 4};
  const std::vector<int32_t> labels = {2, 0, 8, 5};
  std::vector<float> dtokens(N * D);
  params.zero_grad();
  head.forward_backward(tokens.data(), N, rows.data(), labels.data(), 4, E, dtokens.data());
  auto loss = [&] {
    return double(
        head.forward_backward(tokens.data(), N, rows.data(), labels.data(), 4, E, nullptr));
  };
  const double eps = 2e-3;
  for (int64_t i = 0; i < N * D; ++i) {
    const float keep = tokens[i];
    tokens[i] = keep + eps;
    const double up = loss();
    tokens[i] = keep - eps;
    const double down = loss();
    tokens[i] = keep;
    EXPECT_NEAR(dtokens[i], (up - down) / (2 * eps), 2e-3) << "token " << i;
  }
  for (int64_t r = 0; r < N; ++r)
    if (r == 0 || r == 2 || r == 3 || r == 5)
      for (int64_t d = 0; d < D; ++d) EXPECT_EQ(dtokens[r * D + d], 0.0f);
  for (nn::Parameter* p : params.all())
    for (int64_t i = 0; i < p->size(); i += 3) {
      const float keep = p->value[i];
      p->value[i] = keep + eps;
      const double up = loss();
      p->value[i] = keep - eps;
      const double down = loss();
      p->value[i] = keep;
      EXPECT_NEAR(p->grad[i], (up - down) / (2 * eps), 2e-3) << p->name << "[" << i << "]";
    }
  const std::vector<int32_t> bad = {2, 0, 9, 5};
  EXPECT_THROW(head.forward_backward(tokens.data(), N, rows.data(), bad.data(), 4, E, nullptr),
               InputError);
  EXPECT_EQ(head.forward_backward(tokens.data(), N, rows.data(), labels.data(), 0, E, nullptr),
            0.0f);
}
