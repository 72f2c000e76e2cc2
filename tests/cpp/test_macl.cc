// MACL: the masked gated fusion and the adaptive contrastive loss against finite differences in
// double precision (gradient_check.h), then every weight of the whole model (gates, projections,
// token embeddings, the weighting MLP, the encoder) against finite differences of its float32
// training loss (step 1e-2, tolerance as test_item_tower.cc), and the augmentations' guarantees.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "gradient_check.h"
#include "sessrec/data/synthetic.h"
#include "sessrec/errors.h"
#include "sessrec/loss/adaptive_info_nce.h"
#include "sessrec/models/macl.h"
#include "sessrec/models/macl_augmentation.h"
#include "sessrec/nn/gated_fusion.h"
#include "sessrec/nn/masked_gated_fusion.h"
#include "sessrec/text/token_augmentation.h"

using namespace sessrec;
using gradcheck::random_vec;
using gradcheck::Vec;

namespace {

// One thread for the hundreds of tiny passes of a finite-difference check: on a loaded machine
// every parallel region of a pass waits for a descheduled thread (48 s instead of 0.1 s with two
// threads under load 6).
struct OneThread {
  int before = omp_get_max_threads();
  OneThread() { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(before); }
};

// Weighted sum of the outputs: a scalar whose gradient is the weights.
double weighted(const Vec& out, const Vec& w) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += out[i] * w[i];
  return s;
}

}  // namespace

TEST(MaskedGatedFusion, GradientsWithMissingModalities) {
  OneThread one_thread;
  const int64_t N = 4, D = 3, K = 2, U = (1 + K) * D + K;
  Vec a = random_vec(N * D, 1), x0 = random_vec(N * D, 2), x1 = random_vec(N * D, 3);
  Vec W0 = random_vec(D * U, 4, 0.5), W1 = random_vec(D * U, 5, 0.5);
  Vec b0 = random_vec(D, 6), b1 = random_vec(D, 7), w = random_vec(N * D, 8);
  const std::vector<uint8_t> m0 = {1, 0, 1, 1}, m1 = {1, 1, 0, 0};  // items lacking a modality
  auto run = [&](Vec* out_grads) {
    Vec out(N * D), u(N * U), g(K * N * D);
    nn::masked_gated_fusion_forward<double>(out.data(), u.data(), g.data(), a.data(),
                                            {x0.data(), x1.data()}, {m0.data(), m1.data()},
                                            {W0.data(), W1.data()}, {b0.data(), b1.data()}, N, D);
    if (out_grads != nullptr) {
      nn::masked_gated_fusion_backward<double>(
          out_grads[0].data(), {out_grads[1].data(), out_grads[2].data()},
          {out_grads[3].data(), out_grads[4].data()}, {out_grads[5].data(), out_grads[6].data()},
          w.data(), u.data(), g.data(), {x0.data(), x1.data()}, {m0.data(), m1.data()},
          {W0.data(), W1.data()}, N, D);
    }
    return weighted(out, w);
  };
  Vec grads[7] = {Vec(N * D, 0), Vec(N * D, 0), Vec(N * D, 0), Vec(D * U, 0),
                  Vec(D * U, 0), Vec(D, 0),     Vec(D, 0)};
  run(grads);
  auto loss = [&] { return run(nullptr); };
  gradcheck::expect_gradient(a, grads[0], loss, "a");
  gradcheck::expect_gradient(x0, grads[1], loss, "x_image");
  gradcheck::expect_gradient(x1, grads[2], loss, "x_text");
  gradcheck::expect_gradient(W0, grads[3], loss, "gate.image.weight");
  gradcheck::expect_gradient(W1, grads[4], loss, "gate.text.weight");
  gradcheck::expect_gradient(b0, grads[5], loss, "gate.image.bias");
  gradcheck::expect_gradient(b1, grads[6], loss, "gate.text.bias");
  // A missing modality contributes nothing: changing its input leaves the output unchanged.
  EXPECT_EQ(grads[1][1 * D], 0.0);
  EXPECT_EQ(grads[2][2 * D], 0.0);
}

TEST(MaskedGatedFusion, AllPresentIsThePlainGatedFusion) {
  const int64_t N = 3, D = 4, U3 = 3 * D, U = 3 * D + 2;
  Vec a = random_vec(N * D, 1), b = random_vec(N * D, 2), c = random_vec(N * D, 3);
  Vec W1 = random_vec(D * U3, 4), W2 = random_vec(D * U3, 5), b1 = random_vec(D, 6),
      b2 = random_vec(D, 7);
  Vec plain(N * D), u3(N * U3), g1(N * D), g2(N * D);
  nn::gated_fusion_forward(plain.data(), u3.data(), g1.data(), g2.data(), a.data(), b.data(),
                           c.data(), W1.data(), b1.data(), W2.data(), b2.data(), N, D);
  Vec V1(D * U, 0.0), V2(D * U, 0.0);  // the mask columns' weights zero
  for (int64_t o = 0; o < D; ++o)
    for (int64_t i = 0; i < U3; ++i) {
      V1[o * U + i] = W1[o * U3 + i];
      V2[o * U + i] = W2[o * U3 + i];
    }
  Vec masked(N * D), u(N * U), g(2 * N * D);
  nn::masked_gated_fusion_forward<double>(masked.data(), u.data(), g.data(), a.data(),
                                          {b.data(), c.data()}, {nullptr, nullptr},
                                          {V1.data(), V2.data()}, {b1.data(), b2.data()}, N, D);
  for (int64_t i = 0; i < N * D; ++i) EXPECT_NEAR(masked[i], plain[i], 1e-12);
}

TEST(AdaptiveInfoNCE, GradientsOfEmbeddingsAndWeightingMLP) {
  OneThread one_thread;
  const int64_t B = 5, M = 3, D = 4, H = 6;
  Vec a = random_vec(B * D, 1), p = random_vec(B * D, 2);
  Vec W1 = random_vec(H * 3 * D, 3, 0.7), b1 = random_vec(H, 4, 0.3), W2 = random_vec(H, 5, 0.7),
      b2 = random_vec(1, 6);
  std::vector<int32_t> neg = {1, 2, 3, 0, 2, 4, 4, 0, 1, 2, 0, 4, 3, 1, 2};
  for (bool adaptive : {true, false}) {
    auto run = [&](Vec* g) {
      loss::SignalWeightMLP<double> mlp;
      mlp.W1 = W1.data();
      mlp.b1 = b1.data();
      mlp.W2 = W2.data();
      mlp.b2 = b2.data();
      mlp.hidden = H;
      if (g != nullptr) {
        mlp.dW1 = g[2].data();
        mlp.db1 = g[3].data();
        mlp.dW2 = g[4].data();
        mlp.db2 = g[5].data();
      }
      return loss::adaptive_info_nce<double>(nullptr, nullptr, g ? g[0].data() : nullptr,
                                             g ? g[1].data() : nullptr, a.data(), p.data(),
                                             neg.data(), B, M, D, 0.3, adaptive ? &mlp : nullptr);
    };
    Vec g[6] = {Vec(B * D, 0), Vec(B * D, 0), Vec(H * 3 * D, 0), Vec(H, 0), Vec(H, 0), Vec(1, 0)};
    run(g);
    auto loss = [&] { return run(nullptr); };
    const std::string v = adaptive ? "adaptive " : "equal ";
    gradcheck::expect_gradient(a, g[0], loss, v + "anchors");
    gradcheck::expect_gradient(p, g[1], loss, v + "positives");
    if (!adaptive) continue;
    gradcheck::expect_gradient(W1, g[2], loss, "weight_mlp.0.weight");
    gradcheck::expect_gradient(b1, g[3], loss, "weight_mlp.0.bias");
    gradcheck::expect_gradient(W2, g[4], loss, "weight_mlp.1.weight");
    gradcheck::expect_gradient(b2, g[5], loss, "weight_mlp.1.bias");
  }
}

TEST(AdaptiveInfoNCE, WeightsHaveMeanOneAndEqualWeightsAreOne) {
  const int64_t B = 4, M = 2, D = 3, H = 5;
  Vec a = random_vec(B * D, 1), p = random_vec(B * D, 2), W1 = random_vec(H * 3 * D, 3), b1(H, 0.0),
      W2 = random_vec(H, 4), b2(1, 0.0), alpha(B), losses(B);
  std::vector<int32_t> neg = {1, 2, 0, 3, 0, 1, 2, 1};
  loss::SignalWeightMLP<double> mlp{W1.data(), b1.data(), W2.data(), b2.data(), nullptr,
                                    nullptr,   nullptr,   nullptr,   H};
  const double L =
      loss::adaptive_info_nce<double>(alpha.data(), losses.data(), nullptr, nullptr, a.data(),
                                      p.data(), neg.data(), B, M, D, 0.5, &mlp);
  EXPECT_NEAR(std::accumulate(alpha.begin(), alpha.end(), 0.0), double(B), 1e-9);
  EXPECT_NEAR(L, weighted(alpha, losses) / B, 1e-12);
  EXPECT_GT(
      *std::max_element(alpha.begin(), alpha.end()) - *std::min_element(alpha.begin(), alpha.end()),
      1e-3);
  loss::adaptive_info_nce<double>(alpha.data(), nullptr, nullptr, nullptr, a.data(), p.data(),
                                  neg.data(), B, M, D, 0.5, nullptr);
  for (double w : alpha) EXPECT_EQ(w, 1.0);
  neg[0] = 0;  // a set's own row is not a negative
  EXPECT_THROW(loss::adaptive_info_nce<double>(nullptr, nullptr, nullptr, nullptr, a.data(),
                                               p.data(), neg.data(), B, M, D, 0.5, nullptr),
               InputError);
}

// ------------------------------------------------------------------------------- whole model

namespace {

constexpr int64_t kItems = 9, kDim = 8;

// Two sessions per topic-ish pattern; item 8 has no image and item 7 no tokens.
SessionStore tiny_sessions() {
  SessionStore s;  // offsets start as {0}
  const std::vector<std::vector<int32_t>> sessions = {
      {0, 1, 2, 3}, {4, 5, 6}, {1, 3, 5, 7, 8}, {2, 6, 0}, {8, 4, 1}};
  for (const auto& items : sessions) {
    for (int32_t i : items) s.items.push_back(i);
    s.offsets.push_back(static_cast<int64_t>(s.items.size()));
  }
  return s;
}

// text "subword" (token embeddings) or "features" (a frozen matrix); with_image false drops the
// image modality (one gate).
MACLConfig tiny_config(const std::string& augmentation, bool adaptive,
                       const std::string& text = "subword", bool with_image = true) {
  MACLConfig c;
  SequenceModelConfig& b = c.sasrec.base;
  b.num_items = kItems;
  b.dim = kDim;
  b.max_len = 8;
  b.dropout = 0.0f;  // a deterministic loss
  b.seed = 3;
  c.sasrec.layers = 1;
  c.sasrec.heads = 2;
  c.sasrec.ffn_dim = 8;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto image = std::make_shared<std::vector<float>>(kItems * 3);
  for (float& x : *image) x = normal(rng);
  c.image = image;
  c.image_dim = 3;
  c.image_mask.assign(kItems, 1);
  c.image_mask[8] = 0;
  auto off = std::make_shared<std::vector<int64_t>>(1, 0);
  auto tok = std::make_shared<std::vector<int32_t>>();
  for (int64_t i = 0; i < kItems; ++i) {
    if (i != 7)
      for (int32_t t : {int32_t(i % 6), int32_t((i + 1) % 6), int32_t((i * 2) % 6)})
        tok->push_back(t);
    off->push_back(static_cast<int64_t>(tok->size()));
  }
  c.text_source = "subword";
  c.token_offsets = off;
  c.tokens = tok;
  c.vocab_size = 6;
  c.token_dim = 4;
  if (text == "features") {
    auto features = std::make_shared<std::vector<float>>(kItems * 5);
    for (float& x : *features) x = normal(rng);
    c.text_source = "features";
    c.text = features;
    c.text_dim = 5;
    c.text_mask.assign(kItems, 1);
    c.text_mask[2] = 0;
  }
  if (!with_image) {
    c.image = nullptr;
    c.image_dim = 0;
    c.image_mask.clear();
  }
  c.categories = {0, 0, 0, 1, 1, 1, 2, 2, 2};
  c.item_weight = 0.7f;
  c.session_weight = 0.5f;
  c.num_negatives = 3;
  c.weight_hidden = 5;
  c.adaptive = adaptive;
  c.augmentation = augmentation;
  c.text_ops = {"delete", "substitute", "insert", "swap"};
  return c;
}

void check_model(const std::string& augmentation, bool adaptive,
                 const std::string& text = "subword", bool with_image = true) {
  OneThread one_thread;
  MACL model(tiny_config(augmentation, adaptive, text, with_image));
  std::mt19937_64 rng(9);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (nn::Parameter* p : model.params().all())  // off the initial constants (zero W2, biases)
    for (float& v : p->value) v += normal(rng);
  model.parameters_changed();
  const SessionStore store = tiny_sessions();
  const std::vector<int64_t> begin = {0, 4, 7, 12, 15}, end = {4, 7, 12, 15, 18};
  auto loss = [&] {
    MACLStep r = model.forward_backward(store, begin.data(), end.data(), 5, false);
    model.params().zero_grad();
    return double(r.result.loss);
  };
  MACLStep r = model.forward_backward(store, begin.data(), end.data(), 5, false);
  EXPECT_GT(r.session, 0.0f);
  if (augmentation == "semantic") EXPECT_GT(r.item, 0.0f);
  if (augmentation == "id") EXPECT_EQ(r.item, 0.0f);
  std::vector<std::vector<float>> grads;
  for (nn::Parameter* p : model.params().all()) grads.emplace_back(p->grad.begin(), p->grad.end());
  model.params().zero_grad();
  const float eps = 1e-2f;
  int checked = 0;
  for (size_t k = 0; k < model.params().all().size(); ++k) {
    nn::Parameter* p = model.params().all()[k];
    // Up to 12 entries per parameter, spread over it.
    const int64_t n = p->size(), stride = std::max<int64_t>(1, n / 12);
    for (int64_t i = 0; i < n; i += stride) {
      if (p->name == "item_embedding" && i < kDim) continue;  // the padding row
      const float keep = p->value[i];
      p->value[i] = keep + eps;
      const double up = loss();
      p->value[i] = keep - eps;
      const double down = loss();
      p->value[i] = keep;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(grads[k][i], numeric, 1e-2 + 3e-2 * std::abs(numeric))
          << augmentation << (adaptive ? " adaptive " : " equal ") << p->name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

}  // namespace

TEST(MACL, EveryWeightGradientAdaptiveSemantic) { check_model("semantic", true); }
TEST(MACL, EveryWeightGradientEqualWeights) { check_model("semantic", false); }
TEST(MACL, EveryWeightGradientIdAugmentation) { check_model("id", true); }
TEST(MACL, EveryWeightGradientFrozenTextWithoutImage) {
  check_model("semantic", true, "features", false);
}
TEST(MACL, EveryWeightGradientFrozenTextAndImage) { check_model("semantic", true, "features"); }

TEST(MACL, ParameterNamesCoverTheFusionAndTheWeightingMLP) {
  MACL model(tiny_config("semantic", true));
  std::set<std::string> names;
  for (const nn::Parameter* p : model.params().all()) names.insert(p->name);
  for (const char* n : {"item_embedding", "macl.image_proj.weight", "macl.text_proj.weight",
                        "macl.token_embedding", "macl.gate.image.weight", "macl.gate.text.bias",
                        "macl.weight_mlp.0.weight", "macl.weight_mlp.1.bias"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(MACL, BadInputIsRejected) {
  MACLConfig c = tiny_config("semantic", true);
  auto nan_image = std::make_shared<std::vector<float>>(*c.image);
  (*nan_image)[4] = std::nanf("");
  MACLConfig bad = c;
  bad.image = nan_image;
  EXPECT_THROW(MACL{bad}, InputError);
  bad = c;
  bad.image_dim = 4;  // 27 values are not 9 x 4
  EXPECT_THROW(MACL{bad}, InputError);
  bad = c;
  bad.image_mask.pop_back();
  EXPECT_THROW(MACL{bad}, InputError);
  bad = c;
  bad.image_dim = 0;
  bad.text_source = "none";
  EXPECT_THROW(MACL{bad}, InputError);  // semantic augmentation without a modality
  bad = c;
  bad.text_ops = {"blur"};
  EXPECT_THROW(MACL{bad}, InputError);
}

// -------------------------------------------------------------------------- augmentations

TEST(TokenAugmentation, NeighboursFollowCooccurrence) {
  // tokens 0 and 1 always together; 2 with 0 once; 3 alone
  const std::vector<int64_t> off = {0, 2, 4, 6, 7};
  const std::vector<int32_t> tok = {0, 1, 0, 1, 0, 2, 3};
  TokenNeighbours nb = token_cooccurrence_neighbours(off.data(), tok.data(), 4, 4, 1);
  ASSERT_EQ(nb.offsets.size(), 5u);
  EXPECT_EQ(nb.tokens[nb.offsets[1]], 0);  // 1's best neighbour is 0
  EXPECT_EQ(nb.tokens[nb.offsets[2]], 0);
  EXPECT_EQ(nb.offsets[4] - nb.offsets[3], 0);  // 3 co-occurs with nothing
}

TEST(TokenAugmentation, OpsKeepTheTextNonEmptyAndUseNeighbours) {
  const std::vector<int64_t> off = {0, 3, 6};
  const std::vector<int32_t> tok = {0, 1, 2, 0, 1, 3};
  TokenNeighbours nb = token_cooccurrence_neighbours(off.data(), tok.data(), 2, 4, 2);
  const std::vector<int32_t> in = {0, 1, 2};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    CounterRandom rng{seed};
    std::vector<int32_t> out;
    augment_tokens(out, in.data(), 3, TokenOp::kDelete, 1.0, nb, rng);
    EXPECT_EQ(out.size(), 1u);
    out.clear();
    augment_tokens(out, in.data(), 3, TokenOp::kSwap, 0.3, nb, rng);
    EXPECT_TRUE(std::is_permutation(out.begin(), out.end(), in.begin()));
    out.clear();
    augment_tokens(out, in.data(), 3, TokenOp::kInsert, 0.3, nb, rng);
    EXPECT_EQ(out.size(), 4u);
    out.clear();
    augment_tokens(out, in.data(), 3, TokenOp::kSubstitute, 1.0, nb, rng);
    ASSERT_EQ(out.size(), 3u);
    for (int32_t t : out) EXPECT_LT(t, 4);
  }
}

TEST(FeatureViews, MixStaysInTheCategoryAndNoiseKeepsTheRow) {
  const int64_t F = 2;
  const std::vector<float> x = {1, 0, 0, 1, 5, 5, 7, 7};
  CategoryIndex categories({0, 1, 1, 2});
  FeatureViewConfig config;
  config.mix_ratio = 0.5f;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    CounterRandom rng{seed};
    float out[2];
    feature_view(out, x.data(), 1, F, FeatureOp::kMix, config, categories, rng);
    EXPECT_FLOAT_EQ(out[0], 0.5f * 0 + 0.5f * 5);  // item 1 mixes with item 2 only
    EXPECT_FLOAT_EQ(out[1], 0.5f * 1 + 0.5f * 5);
    config.noise_std = 0.0f;  // item 0 is alone in its category: noise, here of zero size
    feature_view(out, x.data(), 0, F, FeatureOp::kMix, config, categories, rng);
    EXPECT_FLOAT_EQ(out[0], 1.0f);
  }
}

TEST(FeatureViews, IdLevelViewsOfASession) {
  const std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  SequenceViewConfig config;
  CounterRandom rng{4};
  auto crop = sequence_view(ids.data(), 5, SequenceOp::kCrop, config, rng);
  EXPECT_EQ(crop.size(), 3u);
  EXPECT_EQ(crop[1], crop[0] + 1);
  auto mask = sequence_view(ids.data(), 5, SequenceOp::kMask, config, rng);
  EXPECT_EQ(mask.size(), 5u);
  auto reorder = sequence_view(ids.data(), 5, SequenceOp::kReorder, config, rng);
  EXPECT_TRUE(std::is_permutation(reorder.begin(), reorder.end(), ids.begin()));
}

TEST(SyntheticImages, DefaultOutputsUnchangedAndImagesFollowTopics) {
  SyntheticConfig c;
  c.num_items = 200;
  c.num_sessions = 300;
  c.num_topics = 5;
  SyntheticData plain = generate_synthetic(c);
  c.image_dim = 16;
  c.image_noise = 0.5;
  SyntheticData with = generate_synthetic(c);
  EXPECT_TRUE(plain.image.empty());
  EXPECT_EQ(plain.sessions.items, with.sessions.items);
  EXPECT_EQ(plain.topic, with.topic);
  ASSERT_EQ(with.image.size(), 200u * 16u);
  double same = 0, other = 0;
  int64_t n_same = 0, n_other = 0;
  for (int64_t i = 0; i < 60; ++i)
    for (int64_t j = i + 1; j < 60; ++j) {
      double d = 0;
      for (int64_t f = 0; f < 16; ++f) {
        const double e = with.image[i * 16 + f] - with.image[j * 16 + f];
        d += e * e;
      }
      if (with.topic[i] == with.topic[j])
        same += d, ++n_same;
      else
        other += d, ++n_other;
    }
  EXPECT_LT(same / n_same, 0.5 * other / n_other);
}
