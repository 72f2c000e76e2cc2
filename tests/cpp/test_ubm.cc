// UBM (models/ubm.h): finite-difference gradients of every parameter through l1 + l2 (stage 1)
// and l3 + l4 (stage 2) at tiny sizes (also with the denominator as the paper prints it), with the
// views of one step fixed (float32 central differences with the loose tolerance of
// test_text_encoder.cc; a temperature of 0.5 keeps the loss smooth enough for them); the views
// themselves; determinism of a training step; refused inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/models/ubm.h"

using namespace sessrec;

namespace {

// Vocabulary: 0 <pad>, 1 [CLS], 2 [MASK], 3/4 action tokens, 5 a field marker, 6..12 text.
constexpr int32_t kCls = 1, kMask = 2, kMarker = 5;

UBMConfig tiny_config(float dropout = 0.0f) {
  UBMConfig c;
  c.interaction.vocab_size = 13;
  c.interaction.max_tokens = 6;
  c.interaction.blocks.layers = 2;
  c.interaction.blocks.dim = 8;
  c.interaction.blocks.heads = 2;
  c.interaction.blocks.ffn_dim = 12;
  c.interaction.blocks.dropout = dropout;
  c.interaction.positions = "learned";
  c.interaction.seed = 3;
  c.session = c.interaction.blocks;
  c.session.layers = 1;
  c.max_interactions = 4;
  c.masking.rate = 0.5f;
  c.masking.replace_mask = 0.5f;
  c.masking.replace_random = 0.25f;
  c.masking.mask_id = kMask;
  c.masking.protected_ids = {0, kCls, kMask, kMarker};
  c.action_ids = {3, 4};
  c.temperature = 0.5f;
  c.seed = 9;
  return c;
}

// Three sessions of 3, 2 and 2 interactions; interaction 2 is cut to max_tokens.
const std::vector<int64_t> kSessionOffsets = {0, 3, 5, 7};
const std::vector<int64_t> kTokenOffsets = {0, 5, 9, 16, 21, 24, 28, 31};
const std::vector<int32_t> kIds = {1, 3, 5, 6, 7, 1, 4, 5,  8, 1, 3, 9, 10, 11, 12, 6,
                                   1, 4, 5, 7, 7, 1, 3, 12, 1, 3, 6, 8, 1,  4,  9};
const std::vector<int64_t> kFirst = {0, 1, 3, 5}, kSecond = {1, 2, 4, 6};
const std::vector<int64_t> kRows = {0, 1, 2};

InteractionSessionsView all_sessions() {
  return {kSessionOffsets.data(), 3, kTokenOffsets.data(), 7, kIds.data()};
}

std::vector<float> random_floats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Values of order 1 (see test_text_encoder.cc: LayerNorm magnifies tiny initial embeddings).
void randomize(UBMModel& model) {
  uint64_t seed = 100;
  for (nn::Parameter* p : model.params().all()) {
    const std::vector<float> v = random_floats(p->size(), seed++);
    for (int64_t i = 0; i < p->size(); ++i) p->value[i] = 0.5f * v[i];
  }
}

void check_gradients(UBMModel& model, const std::function<double(bool)>& loss,
                     bool session_params_move, const std::string& what) {
  model.params().zero_grad();
  loss(true);
  std::mt19937_64 pick(5);
  for (nn::Parameter* p : model.params().all()) {
    const std::vector<float> analytic(p->grad.begin(), p->grad.end());
    const bool session = p->name.rfind("session.", 0) == 0;
    for (int trial = 0; trial < 8; ++trial) {
      const int64_t i = static_cast<int64_t>(pick() % p->size());
      const float keep = p->value[i], eps = 3e-3f;
      p->value[i] = keep + eps;
      const double up = loss(false);
      p->value[i] = keep - eps;
      const double down = loss(false);
      p->value[i] = keep;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[i], numeric, 2e-3 + 2e-2 * std::abs(numeric))
          << what << " " << p->name << "[" << i << "]";
      if (session && !session_params_move) EXPECT_EQ(analytic[i], 0.0f) << p->name;
    }
  }
}

}  // namespace

TEST(UBM, Stage1GradientsOfEveryParameter) {
  for (auto losses :
       {std::array<bool, 4>{true, true, true, true}, std::array<bool, 4>{true, false, true, true},
        std::array<bool, 4>{false, true, true, true}}) {
    UBMConfig c = tiny_config();
    c.losses = losses;
    UBMModel model(c);
    randomize(model);
    const TokenLists views =
        model.stage1_views(all_sessions(), kFirst.data(), kSecond.data(), 4, 7);
    auto loss = [&](bool backward) {
      return double(model.stage1_loss(views, 4, false, 7, backward).loss);
    };
    check_gradients(model, loss, false, "stage 1");
  }
}

TEST(UBM, Stage2GradientsOfEveryParameter) {
  for (auto losses :
       {std::array<bool, 4>{true, true, true, true}, std::array<bool, 4>{true, true, false, true},
        std::array<bool, 4>{true, true, true, false}}) {
    UBMConfig c = tiny_config();
    c.losses = losses;
    UBMModel model(c);
    randomize(model);
    const InteractionSessions views = model.stage2_views(all_sessions(), kRows.data(), 3, 7);
    auto loss = [&](bool backward) {
      return double(model.stage2_loss(views, 3, false, 7, backward).loss);
    };
    check_gradients(model, loss, true, "stage 2");
  }
}

TEST(UBM, GradientsWithTheDenominatorAsPrinted) {  // the positive left out (Eq. 1-4)
  UBMConfig c = tiny_config();
  c.positive_in_denominator = false;
  UBMModel model(c);
  randomize(model);
  const TokenLists v1 = model.stage1_views(all_sessions(), kFirst.data(), kSecond.data(), 4, 7);
  check_gradients(
      model,
      [&](bool backward) { return double(model.stage1_loss(v1, 4, false, 7, backward).loss); },
      false, "stage 1 negatives-only denominator");
  const InteractionSessions v2 = model.stage2_views(all_sessions(), kRows.data(), 3, 7);
  check_gradients(
      model,
      [&](bool backward) { return double(model.stage2_loss(v2, 3, false, 7, backward).loss); },
      true, "stage 2 negatives-only denominator");
}

TEST(UBM, Stage2GradientsWithDropout) {
  UBMModel model(tiny_config(0.1f));
  randomize(model);
  const InteractionSessions views = model.stage2_views(all_sessions(), kRows.data(), 3, 7);
  auto loss = [&](bool backward) {  // training: the masks of step 7 at every call
    return double(model.stage2_loss(views, 3, true, 7, backward).loss);
  };
  check_gradients(model, loss, true, "stage 2 dropout");
}

TEST(UBM, ViewsMaskOnlyWhatEachStageMasksAndSwapTwoInteractions) {
  UBMModel model(tiny_config());
  // Stage 1: 2N unmasked lists then 2N masked copies; [CLS], markers and actions stay.
  const TokenLists v1 = model.stage1_views(all_sessions(), kFirst.data(), kSecond.data(), 4, 11);
  ASSERT_EQ(v1.size(), 16);
  int changed = 0;
  for (int64_t r = 0; r < 8; ++r) {
    const int64_t a = v1.offsets[r], m = v1.offsets[8 + r];
    for (int64_t t = 0; t < v1.offsets[8 + r + 1] - m; ++t) {
      const int32_t before = v1.ids[a + t], after = v1.ids[m + t];
      if (before == kCls || before == kMarker || before == 3 || before == 4)
        EXPECT_EQ(after, before);
      changed += before != after;
    }
  }
  EXPECT_GT(changed, 0);
  // Stage 2: N originals, N reordered (the same interactions, two of them exchanged), N masked.
  const InteractionSessions v2 = model.stage2_views(all_sessions(), kRows.data(), 3, 11);
  ASSERT_EQ(v2.num_sessions(), 9);
  for (int64_t r = 0; r < 3; ++r) {
    const int64_t L = v2.session_offsets[r + 1] - v2.session_offsets[r];
    ASSERT_EQ(v2.session_offsets[3 + r + 1] - v2.session_offsets[3 + r], L);
    int moved = 0;
    for (int64_t t = 0; t < L; ++t) {
      const int64_t i = v2.session_offsets[r] + t, j = v2.session_offsets[3 + r] + t;
      const std::vector<int32_t> x(v2.ids.begin() + v2.token_offsets[i],
                                   v2.ids.begin() + v2.token_offsets[i + 1]);
      const std::vector<int32_t> y(v2.ids.begin() + v2.token_offsets[j],
                                   v2.ids.begin() + v2.token_offsets[j + 1]);
      moved += x != y;
    }
    EXPECT_EQ(moved, 2) << "session " << r;
  }
  // The same step gives the same views.
  const InteractionSessions again = model.stage2_views(all_sessions(), kRows.data(), 3, 11);
  EXPECT_EQ(again.ids, v2.ids);
}

TEST(UBM, TrainingStepsAreDeterministicAndStage1LeavesTheSessionEncoder) {
  auto run = [] {
    UBMModel model(tiny_config(0.1f));
    nn::Adam adam(nn::AdamConfig{1e-2f}, nn::LRSchedule{"linear", 1, 4});
    const nn::FloatBuffer session_before = model.params().get("session.layers.0.ln1.weight").value;
    for (int i = 0; i < 2; ++i)
      model.train_stage1(all_sessions(), kFirst.data(), kSecond.data(), 4, adam);
    EXPECT_EQ(model.params().get("session.layers.0.ln1.weight").value, session_before);
    for (int i = 0; i < 2; ++i) model.train_stage2(all_sessions(), kRows.data(), 3, adam);
    EXPECT_NE(model.params().get("session.layers.0.ln1.weight").value, session_before);
    EXPECT_EQ(model.steps(), 4);
    std::vector<float> out(3 * 8);
    model.encode_sessions(all_sessions(), kRows.data(), 3, out.data());
    return out;
  };
  EXPECT_EQ(run(), run());
}

TEST(UBM, RefusesBadInputsAndConfigurations) {
  UBMModel model(tiny_config());
  const std::vector<int64_t> outside = {0, 9};
  EXPECT_THROW(model.stage1_views(all_sessions(), outside.data(), kSecond.data(), 2, 0),
               InputError);
  EXPECT_THROW(model.stage1_views(all_sessions(), kFirst.data(), kSecond.data(), 1, 0), InputError);
  const std::vector<int64_t> bad_rows = {0, 3};
  EXPECT_THROW(model.stage2_views(all_sessions(), bad_rows.data(), 2, 0), InputError);
  InteractionSessions torn = model.stage2_views(all_sessions(), kRows.data(), 3, 0);
  torn.ids.pop_back();
  EXPECT_THROW(model.stage2_loss(torn, 3, false, 0, false), InputError);
  UBMConfig too_short = tiny_config();
  too_short.max_interactions = 2;
  UBMModel short_model(too_short);
  std::vector<float> out(3 * 8);
  EXPECT_THROW(short_model.encode_sessions(all_sessions(), kRows.data(), 3, out.data()),
               InputError);
  UBMConfig c = tiny_config();
  c.session.dim = 16;
  EXPECT_THROW(UBMModel{c}, InputError);
  c = tiny_config();
  c.temperature = 0;
  EXPECT_THROW(UBMModel{c}, InputError);
  c = tiny_config();
  c.losses = {false, false, true, true};
  UBMModel no_stage1(c);
  nn::Adam adam(nn::AdamConfig{1e-3f});
  EXPECT_THROW(no_stage1.train_stage1(all_sessions(), kFirst.data(), kSecond.data(), 4, adam),
               InputError);
}
