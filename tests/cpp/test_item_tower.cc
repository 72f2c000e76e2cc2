// Item towers: the composed table gradient against central finite differences. The tower runs in
// float32 (its kernels are checked in double in test_gradients.cc), so the step is 1e-2 and the
// tolerance 1e-2 absolute + 3e-2 relative (float rounding of a sum of 48 table entries divided
// by the step); GELU keeps the MLP smooth and dropout is 0, so the table is deterministic.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/models/item_tower.h"

using namespace sessrec;

namespace {

constexpr int64_t kItems = 7, kDim = 6;

ItemTowerConfig make_config(const std::string& kind, const std::string& source) {
  ItemTowerConfig c;
  c.kind = kind;
  c.text_source = source;
  c.hidden = {5};
  c.gelu = true;  // smooth, so that a finite step never crosses a ReLU kink
  c.dropout = 0.0f;
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  if (source == "features") {
    auto f = std::make_shared<std::vector<float>>(kItems * 4);
    for (float& x : *f) x = normal(rng);
    c.features = f;
    c.feature_dim = 4;
  } else {
    // item i has tokens {i % 5, (i + 2) % 5}; item 6 has none (a zero text vector)
    auto off = std::make_shared<std::vector<int64_t>>();
    auto tok = std::make_shared<std::vector<int32_t>>();
    off->push_back(0);
    for (int64_t i = 0; i < kItems; ++i) {
      if (i < 6) {
        tok->push_back(static_cast<int32_t>(i % 5));
        tok->push_back(static_cast<int32_t>((i + 2) % 5));
      }
      off->push_back(static_cast<int64_t>(tok->size()));
    }
    c.token_offsets = off;
    c.tokens = tok;
    c.vocab_size = 5;
    c.token_dim = 3;
  }
  return c;
}

void check_tower(const std::string& kind, const std::string& source) {
  nn::ParameterSet params;
  ItemTower tower(make_config(kind, source), kItems, kDim, 3, params);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (nn::Parameter* p : params.all())  // move LayerNorm/bias values off their init constants
    for (float& v : p->value) v += 0.3f * normal(rng);
  std::vector<float> R((kItems + 1) * kDim), table((kItems + 1) * kDim);
  for (float& x : R) x = normal(rng);
  auto loss = [&]() {
    tower.forward(table.data(), true, 0);
    double s = 0;
    for (size_t i = 0; i < R.size(); ++i) s += double(R[i]) * table[i];
    return s;
  };
  loss();
  for (int64_t d = 0; d < kDim; ++d) EXPECT_EQ(table[d], 0.0f) << "padding row";
  params.zero_grad();
  tower.backward(R.data(), nullptr);
  for (nn::Parameter* p : params.all()) {
    for (int64_t i = 0; i < p->size(); ++i) {
      const float saved = p->value[i];
      p->value[i] = saved + 1e-2f;
      const double up = loss();
      p->value[i] = saved - 1e-2f;
      const double down = loss();
      p->value[i] = saved;
      const double numeric = (up - down) / 2e-2;
      EXPECT_NEAR(p->grad[i], numeric, 1e-2 + 3e-2 * std::abs(numeric))
          << kind << "/" << source << " " << p->name << "[" << i << "]";
    }
  }
}

}  // namespace

TEST(ItemTower, IdLayerNormGradient) { check_tower("id_ln", "features"); }
TEST(ItemTower, TextFeaturesGradient) { check_tower("text", "features"); }
TEST(ItemTower, TextSubwordGradient) { check_tower("text", "subword"); }
TEST(ItemTower, SumGradient) { check_tower("sum", "features"); }
TEST(ItemTower, ConcatGradient) { check_tower("concat", "subword"); }

TEST(ItemTower, PartsAddUpToTheTable) {
  for (const char* kind : {"sum", "concat"}) {
    nn::ParameterSet params;
    ItemTower tower(make_config(kind, "features"), kItems, kDim, 1, params);
    std::vector<float> table((kItems + 1) * kDim);
    tower.forward(table.data(), false, 0);
    for (int64_t i = 0; i < kItems * kDim; ++i)
      EXPECT_NEAR(table[kDim + i], tower.part(0)[i] + tower.part(1)[i], 1e-5) << kind;
  }
}

TEST(ItemTower, BadInputIsRejected) {
  nn::ParameterSet params;
  ItemTowerConfig c = make_config("text", "features");
  EXPECT_THROW(ItemTower(c, kItems + 1, kDim, 0, params), InputError);  // feature rows
  c.kind = "image";
  EXPECT_THROW(ItemTower(c, kItems, kDim, 0, params), InputError);
  ItemTowerConfig s = make_config("text", "subword");
  s.vocab_size = 3;  // token ids up to 4
  EXPECT_THROW(ItemTower(s, kItems, kDim, 0, params), InputError);
  ItemTowerConfig none;
  none.kind = "text";
  EXPECT_THROW(ItemTower(none, kItems, kDim, 0, params), InputError);
}
