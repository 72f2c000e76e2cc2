// Adam/AdamW against a hand-computed step, lazy sparse rows, clipping, schedules and EMA.
#include <gtest/gtest.h>

#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/nn/optimizer.h"

using namespace sessrec;

TEST(Adam, FirstStepMovesByLearningRate) {
  nn::ParameterSet ps;
  nn::Parameter& p = ps.add("w", 1, 2);
  p.value = {1.0f, -2.0f};
  p.grad = {0.5f, -3.0f};
  nn::Adam adam(nn::AdamConfig{0.1f});
  adam.step(ps);
  // Step 1: m_hat = g, v_hat = g^2, update = g/|g| (eps negligible).
  EXPECT_NEAR(p.value[0], 0.9f, 1e-6);
  EXPECT_NEAR(p.value[1], -1.9f, 1e-6);
}

TEST(Adam, SecondStepMatchesFormula) {
  nn::ParameterSet ps;
  nn::Parameter& p = ps.add("w", 1, 1);
  p.value = {0.0f};
  nn::Adam adam(nn::AdamConfig{0.01f, 0.9f, 0.999f, 1e-8f});
  p.grad = {1.0f};
  adam.step(ps);
  p.grad = {-2.0f};
  adam.step(ps);
  const double m = 0.9 * 0.1 + 0.1 * -2.0, v = 0.999 * 0.001 + 0.001 * 4.0;
  const double update = (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
  EXPECT_NEAR(p.value[0], -0.01 - 0.01 * update, 1e-6);
}

TEST(Adam, LazyRowsAndDecoupledDecay) {
  nn::ParameterSet ps;
  nn::Parameter& e = ps.add("emb", 4, 2, true);
  e.value = {1, 1, 1, 1, 1, 1, 1, 1};
  e.grad[2] = 1.0f;
  e.touch_row(1);
  nn::Adam adam(nn::AdamConfig{0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, true});
  adam.step(ps);
  EXPECT_FLOAT_EQ(e.value[0], 1.0f);  // untouched rows do not move, not even by decay
  EXPECT_FLOAT_EQ(e.value[6], 1.0f);
  EXPECT_NEAR(e.value[2], 1.0f - 0.1f * 0.5f - 0.1f, 1e-6);  // decay then Adam step
  EXPECT_NEAR(e.value[3], 1.0f - 0.1f * 0.5f, 1e-6);         // zero gradient: decay only
  ps.zero_grad();
  EXPECT_TRUE(e.touched_rows.empty());
  EXPECT_EQ(e.grad[2], 0.0f);
}

TEST(Adam, ClippingAndSchedules) {
  nn::ParameterSet ps;
  nn::Parameter& p = ps.add("w", 1, 2);
  p.grad = {3.0f, 4.0f};
  EXPECT_FLOAT_EQ(nn::gradient_norm(ps), 5.0f);
  nn::LRSchedule linear{"linear", 2, 10, 0, 0.1f};
  EXPECT_FLOAT_EQ(linear.factor(0), 0.5f);
  EXPECT_FLOAT_EQ(linear.factor(1), 1.0f);
  EXPECT_FLOAT_EQ(linear.factor(6), 0.5f);
  EXPECT_FLOAT_EQ(linear.factor(10), 0.0f);
  nn::LRSchedule step{"step", 0, 0, 3, 0.5f};
  EXPECT_FLOAT_EQ(step.factor(2), 1.0f);
  EXPECT_FLOAT_EQ(step.factor(3), 0.5f);
  EXPECT_FLOAT_EQ(step.factor(7), 0.25f);
  EXPECT_THROW(nn::Adam(nn::AdamConfig{-1.0f}), InputError);
  EXPECT_THROW(nn::LRSchedule({"cosine"}).validate(), InputError);
}

TEST(EMA, MovesTowardsSource) {
  nn::ParameterSet a, b;
  a.add("w", 1, 2).value = {0.0f, 10.0f};
  b.add("w", 1, 2).value = {1.0f, 0.0f};
  nn::ema_update(a, b, 0.9f);
  EXPECT_NEAR(a.get("w").value[0], 0.1f, 1e-6);
  EXPECT_NEAR(a.get("w").value[1], 9.0f, 1e-6);
  nn::ParameterSet c;
  c.add("w", 2, 2);
  EXPECT_THROW(nn::ema_update(a, c, 0.9f), InputError);
}

namespace {
std::vector<float> values(const nn::FloatBuffer& buffer) { return {buffer.begin(), buffer.end()}; }
}  // namespace

TEST(ParameterGroups, FrozenParametersKeepTheirValueAndLeaveTheNorm) {
  nn::ParameterSet ps;
  nn::Parameter& a = ps.add("encoder.w", 1, 2);
  nn::Parameter& b = ps.add("items", 3, 2, true);
  a.value = {1.0f, 1.0f};
  a.grad = {3.0f, 4.0f};  // norm 5
  b.value.assign(6, 1.0f);
  b.grad = {0, 0, 12.0f, 0, 0, 0};  // norm 12
  b.touch_row(1);
  EXPECT_NEAR(nn::gradient_norm(ps), 13.0f, 1e-5);
  EXPECT_EQ(ps.set_frozen("item*", true), 1);
  EXPECT_NEAR(nn::gradient_norm(ps), 5.0f, 1e-5);
  nn::Adam adam(nn::AdamConfig{0.1f});
  EXPECT_NEAR(adam.step(ps), 5.0f, 1e-5);
  EXPECT_EQ(values(b.value), std::vector<float>(6, 1.0f));
  EXPECT_EQ(values(b.adam_m), std::vector<float>(6, 0.0f));  // no moments either
  EXPECT_NEAR(a.value[0], 0.9f, 1e-6);
  ps.set_frozen("*", false);
  adam.step(ps);
  // Its first update, with the bias correction of the global step 2 (lazy Adam).
  const double m = 0.1 * 12, v = 0.001 * 144;
  EXPECT_NEAR(b.value[2], 1 - 0.1 * (m / (1 - 0.81)) / std::sqrt(v / (1 - 0.999 * 0.999)), 1e-5);
}

TEST(ParameterGroups, LearningRateScalePerGroup) {
  nn::ParameterSet ps;
  nn::Parameter& a = ps.add("block0.attn.weight", 1, 1);
  nn::Parameter& b = ps.add("block1.attn.weight", 1, 1);
  a.value = b.value = {0.0f};
  a.grad = b.grad = {1.0f};
  EXPECT_EQ(ps.set_lr_scale("block1.*", 0.25f), 1);
  nn::Adam adam(nn::AdamConfig{0.1f});
  adam.step(ps);
  EXPECT_NEAR(a.value[0], -0.1f, 1e-6);
  EXPECT_NEAR(b.value[0], -0.025f, 1e-6);
  EXPECT_THROW(ps.set_lr_scale("block1.*", -1.0f), InputError);
  EXPECT_THROW(ps.set_lr_scale("block1.*", std::nanf("")), InputError);
}

TEST(ParameterGroups, PatternsThatMatchNothingNameTheParameters) {
  nn::ParameterSet ps;
  ps.add("tower.id_embedding", 2, 2, true);
  ps.add("block0.ln1.weight", 1, 2);
  EXPECT_EQ(ps.select("block?.*").size(), 1u);
  EXPECT_EQ(ps.select("*").size(), 2u);
  EXPECT_EQ(ps.select("tower.id_embedding").size(), 1u);
  try {
    ps.select("encoder.*");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("encoder.*"), std::string::npos) << what;
    EXPECT_NE(what.find("block0.ln1.weight"), std::string::npos) << what;
  }
}

TEST(ParameterGroups, CopyValuesByNameChecksEverythingFirst) {
  nn::ParameterSet source, target;
  source.add("shared", 1, 2).value = {1.0f, 2.0f};
  source.add("text.proj", 2, 2).value = {1, 2, 3, 4};
  source.add("only_in_source", 1, 1);
  target.add("shared", 1, 2);
  target.add("proj", 2, 2);
  target.add("small", 1, 1);
  EXPECT_EQ(nn::copy_values(target, source), 1);  // by shared names
  EXPECT_EQ(values(target.get("shared").value), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(nn::copy_values(target, source, {{"text.proj", "proj"}}), 1);
  EXPECT_EQ(values(target.get("proj").value), (std::vector<float>{1, 2, 3, 4}));
  target.get("proj").value.assign(4, 0.0f);
  // A shape mismatch anywhere leaves every target value as it was.
  EXPECT_THROW(nn::copy_values(target, source, {{"text.proj", "proj"}, {"shared", "small"}}),
               InputError);
  EXPECT_EQ(values(target.get("proj").value), std::vector<float>(4, 0.0f));
  EXPECT_THROW(nn::copy_values(target, source, {{"missing", "proj"}}), UnknownKeyError);
  nn::ParameterSet unrelated;
  unrelated.add("x", 1, 1);
  EXPECT_THROW(nn::copy_values(unrelated, source), InputError);
}
