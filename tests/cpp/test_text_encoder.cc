// The text encoder as a whole: finite-difference gradients of every parameter (float32, so a
// central difference with a loose tolerance; the layers themselves are checked in double in
// test_gradients.cc) for each option, through both the pooled output and the token outputs;
// ReLU's kink is left to the kernel check in double; truncation, packing without cross-talk, and refused inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/models/text_encoder.h"

using namespace sessrec;

namespace {

TextEncoderConfig small_config() {
  TextEncoderConfig c;
  c.vocab_size = 11;
  c.max_tokens = 6;
  c.blocks.layers = 2;
  c.blocks.dim = 8;
  c.blocks.heads = 2;
  c.blocks.ffn_dim = 12;
  c.blocks.dropout = 0.0f;
  c.seed = 3;
  return c;
}

// Token lists of lengths 3, 1, 5 (the last is truncated to max_tokens when that is below 5).
const std::vector<int64_t> kOffsets = {0, 3, 4, 9};
const std::vector<int32_t> kIds = {1, 4, 2, 7, 0, 3, 3, 9, 10};

std::vector<float> random_floats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// L = <out, R> + <token_outputs, R2>
// training: dropout on, with the masks of step 7 (the same at every call, so differences apply).
double objective(TextEncoder& enc, const std::vector<float>& R, const std::vector<float>& R2,
                 bool training = false) {
  const int64_t B = 3, D = enc.config().blocks.dim;
  std::vector<float> out(B * D);
  enc.forward(kOffsets.data(), kIds.data(), B, training, 7, out.data());
  double L = 0;
  for (size_t i = 0; i < out.size(); ++i) L += double(out[i]) * R[i];
  const float* z = enc.token_outputs();
  for (int64_t i = 0; i < enc.num_tokens() * D; ++i) L += double(z[i]) * R2[i];
  return L;
}

void check_gradients(TextEncoderConfig config, bool training = false) {
  TextEncoder enc(config);
  const int64_t D = config.blocks.dim;
  // Values of order 1 everywhere: with the initial N(0, 0.02) embeddings, LayerNorm magnifies a
  // step of the difference quotient fifty-fold and the quotient measures curvature, not slope.
  uint64_t seed = 100;
  for (nn::Parameter* p : enc.params().all()) {
    const std::vector<float> v = random_floats(p->size(), seed++);
    for (int64_t i = 0; i < p->size(); ++i) p->value[i] = 0.5f * v[i];
  }
  const std::vector<float> R = random_floats(3 * D, 1), R2 = random_floats(9 * D, 2);
  objective(enc, R, R2, training);
  enc.params().zero_grad();
  objective(enc, R, R2, training);
  enc.backward(R.data(), R2.data());
  std::mt19937_64 pick(5);
  for (nn::Parameter* p : enc.params().all()) {
    const std::vector<float> analytic(p->grad.begin(), p->grad.end());
    for (int trial = 0; trial < 12; ++trial) {
      const int64_t i = static_cast<int64_t>(pick() % p->size());
      const float keep = p->value[i], eps = 3e-3f;
      p->value[i] = keep + eps;
      const double up = objective(enc, R, R2, training);
      p->value[i] = keep - eps;
      const double down = objective(enc, R, R2, training);
      p->value[i] = keep;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[i], numeric, 2e-3 + 2e-2 * std::abs(numeric))
          << p->name << "[" << i << "] post_ln=" << config.blocks.post_ln
          << " pooling=" << config.pooling << " pool_layer=" << config.pool_layer
          << " normalize=" << config.normalize << " positions=" << config.positions
          << " dropout=" << (training ? config.blocks.dropout : 0.0f);
    }
  }
}

}  // namespace

TEST(TextEncoder, GradientsPostLnClsLearned) { check_gradients(small_config()); }

TEST(TextEncoder, GradientsPreLnMeanSinusoidalNormalized) {
  TextEncoderConfig c = small_config();
  c.blocks.post_ln = false;
  c.pooling = "mean";
  c.positions = "sinusoidal";
  c.normalize = true;
  check_gradients(c);
}

TEST(TextEncoder, GradientsPoolingAnEarlierLayer) {
  TextEncoderConfig c = small_config();
  c.pool_layer = 0;
  check_gradients(c);
  c.blocks.post_ln = false;
  c.pooling = "mean";
  check_gradients(c);
}

// Dropout on (its masks fixed by the step), through every dropout site of both block layouts.
TEST(TextEncoder, GradientsWithDropoutMasks) {
  TextEncoderConfig c = small_config();
  c.blocks.dropout = 0.3f;
  check_gradients(c, /*training=*/true);
  c.blocks.post_ln = false;
  c.pooling = "mean";
  check_gradients(c, /*training=*/true);
}

TEST(TextEncoder, ListsArePackedWithoutCrossTalkAndTruncated) {
  TextEncoderConfig c = small_config();
  c.max_tokens = 4;
  TextEncoder enc(c);
  const int64_t D = c.blocks.dim;
  std::vector<float> batch(3 * D), alone(D);
  enc.forward(kOffsets.data(), kIds.data(), 3, false, 0, batch.data());
  const std::vector<int64_t> one = {0, 4};  // list 2 cut to its first 4 tokens
  const std::vector<int32_t> first4 = {0, 3, 3, 9};
  enc.forward(one.data(), first4.data(), 1, false, 0, alone.data());
  for (int64_t d = 0; d < D; ++d) EXPECT_FLOAT_EQ(batch[2 * D + d], alone[d]);
  EXPECT_EQ(enc.num_tokens(), 4);
}

TEST(TextEncoder, NormalizedOutputsHaveUnitLength) {
  TextEncoderConfig c = small_config();
  c.normalize = true;
  TextEncoder enc(c);
  std::vector<float> out(3 * c.blocks.dim);
  enc.forward(kOffsets.data(), kIds.data(), 3, true, 1, out.data());
  for (int64_t b = 0; b < 3; ++b) {
    double sq = 0;
    for (int64_t d = 0; d < c.blocks.dim; ++d)
      sq += double(out[b * c.blocks.dim + d]) * out[b * c.blocks.dim + d];
    EXPECT_NEAR(sq, 1.0, 1e-5);
  }
}

TEST(TextEncoder, RefusesBadInputsAndConfigurations) {
  TextEncoderConfig c = small_config();
  TextEncoder enc(c);
  std::vector<float> out(3 * c.blocks.dim);
  const std::vector<int64_t> empty = {0, 3, 3, 9};
  EXPECT_THROW(enc.forward(empty.data(), kIds.data(), 3, false, 0, out.data()), InputError);
  std::vector<int32_t> bad = kIds;
  bad[4] = 11;
  EXPECT_THROW(enc.forward(kOffsets.data(), bad.data(), 3, false, 0, out.data()), InputError);
  bad[4] = -1;
  EXPECT_THROW(enc.forward(kOffsets.data(), bad.data(), 3, false, 0, out.data()), InputError);
  for (auto change : std::vector<void (*)(TextEncoderConfig&)>{
           [](TextEncoderConfig& x) { x.blocks.causal = true; },
           [](TextEncoderConfig& x) { x.pool_layer = 2; },
           [](TextEncoderConfig& x) { x.pooling = "max"; },
           [](TextEncoderConfig& x) { x.positions = "rotary"; },
           [](TextEncoderConfig& x) { x.blocks.heads = 3; },
           [](TextEncoderConfig& x) { x.vocab_size = 0; }}) {
    TextEncoderConfig bad_config = small_config();
    change(bad_config);
    EXPECT_THROW(TextEncoder{bad_config}, InputError);
  }
}
