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
  EXPECT_NEAR(e.value[3], 1.0f - 0.1f * 0.5f, 1e-6);          // zero gradient: decay only
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
