// UBM downstream tasks (models/ubm_tasks.h): finite-difference gradients (double) of the PIP and
// RLP heads' parameters, of the gradient they pass to the session vectors, and of the NIP loss
// with respect to the session and candidate vectors; the losses against hand values; fine-tuning
// steps that learn and repeat exactly; refused inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gradient_check.h"
#include "sessrec/errors.h"
#include "sessrec/loss/softmax_cross_entropy.h"
#include "sessrec/models/ubm_tasks.h"

using namespace sessrec;
using gradcheck::Vec;

namespace {

// A head's weights as double vectors, laid out as task_head_forward reads them.
struct DoubleHead {
  std::vector<int64_t> dims;
  std::vector<Vec> W, b;
  explicit DoubleHead(std::vector<int64_t> d) : dims(std::move(d)) {
    for (size_t l = 0; l + 1 < dims.size(); ++l) {
      W.push_back(gradcheck::random_vec(dims[l + 1] * dims[l], 10 + l, 0.6));
      b.push_back(gradcheck::random_vec(dims[l + 1], 20 + l, 0.3));
    }
  }
  Vec forward(const Vec& h, int64_t N, nn::MLPCache<double>& cache) const {
    std::vector<const double*> w, bb;
    for (size_t l = 0; l < W.size(); ++l) {
      w.push_back(W[l].data());
      bb.push_back(b[l].data());
    }
    Vec out(N);
    task_head_forward(out.data(), cache, h.data(), w, bb, dims, N);
    return out;
  }
};

double task_loss(UBMTask task, double* dout, const Vec& out, const Vec& y) {
  return task == UBMTask::PurchaseIntention
             ? binary_cross_entropy_with_logits(dout, out.data(), y.data(), int64_t(y.size()))
             : mean_squared_error(dout, out.data(), y.data(), int64_t(y.size()));
}

void check_head(UBMTask task) {
  const int64_t N = 5, D = 4, H = 3;
  DoubleHead head(ubm_task_head_dims(task, D, H));
  Vec h = gradcheck::random_vec(N * D, 7);
  const Vec y = task == UBMTask::PurchaseIntention ? Vec{1, 0, 0, 1, 1} : Vec{3, 1, 7, 2, 5};
  nn::MLPCache<double> cache;
  const Vec out = head.forward(h, N, cache);
  Vec dout(N);
  task_loss(task, dout.data(), out, y);
  Vec dh(N * D, 0.0);
  std::vector<Vec> dW, db;
  std::vector<double*> pW, pb;
  std::vector<const double*> w;
  for (size_t l = 0; l < head.W.size(); ++l) {
    dW.emplace_back(head.W[l].size(), 0.0);
    db.emplace_back(head.b[l].size(), 0.0);
  }
  for (size_t l = 0; l < head.W.size(); ++l) {
    pW.push_back(dW[l].data());
    pb.push_back(db[l].data());
    w.push_back(head.W[l].data());
  }
  task_head_backward(dh.data(), pW, pb, dout.data(), cache, h.data(), w, head.dims, N);
  auto loss = [&] {
    nn::MLPCache<double> c;
    return task_loss(task, nullptr, head.forward(h, N, c), y);
  };
  gradcheck::expect_gradient(h, dh, loss, "d session vector");
  for (size_t l = 0; l < head.W.size(); ++l) {
    gradcheck::expect_gradient(head.W[l], dW[l], loss, "dW" + std::to_string(l));
    gradcheck::expect_gradient(head.b[l], db[l], loss, "db" + std::to_string(l));
  }
}

// A tiny UBM as in test_ubm.cc: vocabulary 0 <pad>, 1 [CLS], 2 [MASK], 3/4 actions, 5 a field
// marker, 6..12 text.
UBMConfig tiny_config(float dropout) {
  UBMConfig c;
  c.interaction.vocab_size = 13;
  c.interaction.max_tokens = 6;
  c.interaction.blocks.layers = 1;
  c.interaction.blocks.dim = 8;
  c.interaction.blocks.heads = 2;
  c.interaction.blocks.ffn_dim = 12;
  c.interaction.blocks.dropout = dropout;
  c.interaction.positions = "learned";
  c.interaction.seed = 3;
  c.session = c.interaction.blocks;
  c.session.layers = 1;
  c.max_interactions = 4;
  c.masking.mask_id = 2;
  c.masking.protected_ids = {0, 1, 2, 5};
  c.action_ids = {3, 4};
  c.seed = 9;
  return c;
}

// Four sessions of 2, 1, 3 and 2 interactions.
const std::vector<int64_t> kSessionOffsets = {0, 2, 3, 6, 8};
const std::vector<int64_t> kTokenOffsets = {0, 4, 8, 11, 15, 18, 21, 25, 28};
const std::vector<int32_t> kIds = {1, 3, 5, 6,  1, 4, 5,  7, 1, 3, 8,  1, 4, 5,
                                   9, 1, 3, 10, 1, 4, 11, 1, 3, 5, 12, 1, 4, 6};
const std::vector<int64_t> kRows = {0, 1, 2, 3};
// Three candidates, one interaction each, no action token.
const std::vector<int64_t> kCandidateSessions = {0, 1, 2, 3};
const std::vector<int64_t> kCandidateTokens = {0, 3, 6, 8};
const std::vector<int32_t> kCandidateIds = {1, 5, 6, 1, 5, 9, 1, 11};

InteractionSessionsView sessions() {
  return {kSessionOffsets.data(), 4, kTokenOffsets.data(), 8, kIds.data()};
}
InteractionSessionsView candidates() {
  return {kCandidateSessions.data(), 3, kCandidateTokens.data(), 3, kCandidateIds.data()};
}

nn::Adam adam(float lr) {
  nn::AdamConfig c;
  c.lr = lr;
  return nn::Adam(c);
}

// Losses of `steps` training steps of `task` on the four sessions, from a fresh model.
std::vector<float> task_losses(UBMTask task, int steps, float dropout) {
  UBMModel model(tiny_config(dropout));
  UBMTaskHead head(task, 8, 8, 4);
  nn::Adam model_opt = adam(1e-2f), head_opt = adam(1e-2f);
  const std::vector<float> labels = task == UBMTask::PurchaseIntention
                                        ? std::vector<float>{1, 0, 1, 0}
                                        : std::vector<float>{2, 1, 4, 3};
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s)
    losses.push_back(ubm_task_train_step(model, head, sessions(), kRows.data(), labels.data(), 4, s,
                                         model_opt, head_opt)
                         .loss);
  return losses;
}

std::vector<float> next_item_losses(int steps, float dropout) {
  UBMModel model(tiny_config(dropout));
  nn::Adam opt = adam(1e-2f);
  const std::vector<int32_t> targets = {2, 0, 1, 2};
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s)
    losses.push_back(ubm_next_item_train_step(model, sessions(), kRows.data(), targets.data(), 4,
                                              candidates(), s, opt)
                         .loss);
  return losses;
}

}  // namespace

TEST(UBMTasks, PurchaseIntentionHeadGradients) { check_head(UBMTask::PurchaseIntention); }
TEST(UBMTasks, RemainingLengthHeadGradients) { check_head(UBMTask::RemainingLength); }

TEST(UBMTasks, HeadShapesFollowThePaper) {
  EXPECT_EQ(ubm_task_head_dims(UBMTask::PurchaseIntention, 8, 5),
            (std::vector<int64_t>{8, 5, 5, 1}));
  EXPECT_EQ(ubm_task_head_dims(UBMTask::RemainingLength, 8, 5), (std::vector<int64_t>{8, 5, 1}));
}

TEST(UBMTasks, LossesMatchHandValues) {
  const Vec z = {0.0, 2.0, -3.0, 12.0}, y = {1, 0, 0, 1};
  double expected = 0;
  for (size_t n = 0; n < z.size(); ++n) {
    const double p = 1 / (1 + std::exp(-z[n]));
    expected += -(y[n] * std::log(p) + (1 - y[n]) * std::log(1 - p));
  }
  EXPECT_NEAR(binary_cross_entropy_with_logits<double>(nullptr, z.data(), y.data(), 4),
              expected / 4, 1e-12);
  const Vec p = {1, 2, 3}, t = {0, 2, 5};
  EXPECT_DOUBLE_EQ(mean_squared_error<double>(nullptr, p.data(), t.data(), 3), 5.0 / 3);
  Vec dz(4);
  Vec zz = z;
  binary_cross_entropy_with_logits(dz.data(), zz.data(), y.data(), 4);
  gradcheck::expect_gradient(
      zz, dz,
      [&] { return binary_cross_entropy_with_logits<double>(nullptr, zz.data(), y.data(), 4); },
      "dz");
}

TEST(UBMTasks, NextItemGradientOfSessionAndCandidateVectors) {
  const int64_t N = 3, m = 4, D = 5;
  Vec H = gradcheck::random_vec(N * D, 1), E = gradcheck::random_vec(m * D, 2);
  const std::vector<int32_t> target = {3, 0, 2};
  Vec dH(N * D, 0.0), dE(m * D, 0.0);
  loss::softmax_cross_entropy<double>(dH.data(), dE.data(), H.data(), E.data(), target.data(),
                                      nullptr, N, m, D);
  auto loss = [&] {
    return loss::softmax_cross_entropy<double>(nullptr, nullptr, H.data(), E.data(), target.data(),
                                               nullptr, N, m, D);
  };
  gradcheck::expect_gradient(H, dH, loss, "d session vector");
  gradcheck::expect_gradient(E, dE, loss, "d candidate vector");
}

// Without dropout (its noise would blur a 30-step curve) the whole model fits four sessions.
TEST(UBMTasks, FineTuningStepsLearn) {
  for (UBMTask task : {UBMTask::PurchaseIntention, UBMTask::RemainingLength})
    EXPECT_LT(task_losses(task, 30, 0.0f).back(), 0.2f * task_losses(task, 1, 0.0f).front());
  EXPECT_LT(next_item_losses(30, 0.0f).back(), 0.2f * next_item_losses(1, 0.0f).front());
}

// Against fixed, distinct candidate vectors the histories learn to point at their targets.
TEST(UBMTasks, NextItemStepsAgainstFixedCandidatesLearn) {
  UBMModel model(tiny_config(0.0f));
  const gradcheck::Vec values = gradcheck::random_vec(3 * 8, 31);
  const std::vector<float> V(values.begin(), values.end());
  nn::Adam opt = adam(1e-2f);
  const std::vector<int32_t> targets = {2, 0, 1, 2};
  std::vector<float> losses;
  for (int s = 0; s < 30; ++s)
    losses.push_back(ubm_next_item_train_step_fixed(model, sessions(), kRows.data(), targets.data(),
                                                    4, V.data(), 3, s, opt)
                         .loss);
  EXPECT_LT(losses.back(), 0.5f * losses.front());
  const float loss =
      ubm_next_item_loss(model, sessions(), kRows.data(), targets.data(), 4, V.data(), 3);
  EXPECT_LT(loss, 0.5f * losses.front());
  const std::vector<int32_t> bad = {3};
  EXPECT_THROW(ubm_next_item_train_step_fixed(model, sessions(), kRows.data(), bad.data(), 1,
                                              V.data(), 3, 0, opt),
               InputError);
}

// Dropout masks are hashes of (seed, step): two runs are bitwise equal.
TEST(UBMTasks, FineTuningStepsRepeatExactly) {
  for (UBMTask task : {UBMTask::PurchaseIntention, UBMTask::RemainingLength})
    EXPECT_EQ(task_losses(task, 5, 0.1f), task_losses(task, 5, 0.1f));
  EXPECT_EQ(next_item_losses(5, 0.1f), next_item_losses(5, 0.1f));
}

TEST(UBMTasks, PredictGivesProbabilitiesAndTheLoss) {
  UBMModel model(tiny_config(0.1f));
  UBMTaskHead head(UBMTask::PurchaseIntention, 8, 8, 4);
  const std::vector<float> labels = {1, 0, 1, 0};
  std::vector<float> p(4);
  const float loss =
      ubm_task_predict(model, head, sessions(), kRows.data(), labels.data(), 4, p.data());
  double expected = 0;
  for (int n = 0; n < 4; ++n) {
    EXPECT_GT(p[n], 0.0f);
    EXPECT_LT(p[n], 1.0f);
    expected -= labels[n] ? std::log(p[n]) : std::log(1 - p[n]);
  }
  EXPECT_NEAR(loss, expected / 4, 1e-5);
}

TEST(UBMTasks, RefusesBadInput) {
  EXPECT_THROW(parse_ubm_task("nip"), InputError);
  EXPECT_THROW(ubm_task_head_dims(UBMTask::RemainingLength, 0, 4), InputError);
  UBMModel model(tiny_config(0.1f));
  UBMTaskHead head(UBMTask::PurchaseIntention, 8, 8, 4);
  nn::Adam a = adam(1e-2f), b = adam(1e-2f);
  const std::vector<float> bad_labels = {1, 2, 0, 0};
  EXPECT_THROW(
      ubm_task_train_step(model, head, sessions(), kRows.data(), bad_labels.data(), 4, 0, a, b),
      InputError);
  const std::vector<int64_t> outside = {4};
  const std::vector<float> one = {1};
  EXPECT_THROW(ubm_task_train_step(model, head, sessions(), outside.data(), one.data(), 1, 0, a, b),
               InputError);
  UBMTaskHead narrow(UBMTask::RemainingLength, 6, 4, 0);
  EXPECT_THROW(ubm_task_train_step(model, narrow, sessions(), kRows.data(), one.data(), 1, 0, a, b),
               InputError);
  const std::vector<int32_t> bad_target = {3};
  EXPECT_THROW(ubm_next_item_train_step(model, sessions(), kRows.data(), bad_target.data(), 1,
                                        candidates(), 0, a),
               InputError);
  // Sessions of two interactions are not candidates.
  const std::vector<int32_t> target = {0};
  EXPECT_THROW(
      ubm_next_item_train_step(model, sessions(), kRows.data(), target.data(), 1, sessions(), 0, a),
      InputError);
}
