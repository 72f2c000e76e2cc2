// Classification and regression metrics of the UBM tasks against values computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sessrec/errors.h"
#include "sessrec/eval/task_metrics.h"

using namespace sessrec;

namespace {
// Labels and scores of the hand-worked binary case below.
const std::vector<double> kLabels{1, 0, 1, 1, 0, 0, 1, 0};
const std::vector<double> kScores{0.9, 0.8, 0.7, 0.5, 0.5, 0.2, 0.1, 0.3};
}  // namespace

TEST(TaskMetrics, ConfusionMatrixAtThreshold) {
  // score >= 0.5 predicts 1: predictions 1 1 1 1 1 0 0 0 against labels 1 0 1 1 0 0 1 0.
  // TP = events 0, 2, 3; FP = events 1, 4; FN = event 6; TN = events 5, 7.
  ConfusionMatrix c = confusion_matrix(kLabels, kScores, 0.5);
  EXPECT_EQ(c.true_positives, 3);
  EXPECT_EQ(c.false_positives, 2);
  EXPECT_EQ(c.false_negatives, 1);
  EXPECT_EQ(c.true_negatives, 2);
  // A score equal to the threshold is a positive prediction; at 0.51 event 3 becomes an FN
  // and event 4 a TN.
  ConfusionMatrix above = confusion_matrix(kLabels, kScores, 0.51);
  EXPECT_EQ(above.true_positives, 2);
  EXPECT_EQ(above.false_negatives, 2);
  EXPECT_EQ(above.false_positives, 1);
  EXPECT_EQ(above.true_negatives, 3);
}

TEST(TaskMetrics, HandComputedClassification) {
  ClassificationMetrics m = classification_metrics(kLabels, kScores, 0.5);
  // accuracy = (TP + TN) / n = (3 + 2) / 8.
  EXPECT_DOUBLE_EQ(m.accuracy, 0.625);
  // F1 = 2 TP / (2 TP + FP + FN) = 6 / (6 + 2 + 1) = 2/3.
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3.0);
  // kappa: p_o = 5/8; 4 true positives and 5 predicted positives of 8, so
  // p_e = (4*5 + 4*3) / 64 = 1/2; kappa = (5/8 - 1/2) / (1 - 1/2) = 1/4.
  EXPECT_DOUBLE_EQ(m.cohen_kappa, 0.25);
  // AUROC: sorted scores 0.1(+) 0.2 0.3 0.5(+) 0.5 0.7(+) 0.8 0.9(+) have ranks 1 2 3 4.5 4.5
  // 6 7 8 (the tied 0.5s share (4+5)/2). Positive rank sum = 1 + 4.5 + 6 + 8 = 19.5;
  // U = 19.5 - 4*5/2 = 9.5; AUROC = 9.5 / (4*4) = 0.59375. Pairwise: 0.9 beats 4 negatives,
  // 0.7 beats 3, 0.5 beats 2 and ties 1 (half), 0.1 beats none: 9.5 of 16 pairs.
  EXPECT_DOUBLE_EQ(m.auroc, 0.59375);
  EXPECT_DOUBLE_EQ(auroc(kLabels, kScores), 0.59375);
}

TEST(TaskMetrics, AurocExtremesAndAllTies) {
  // Perfect separation 1, perfectly reversed 0, every score tied 1/2.
  EXPECT_DOUBLE_EQ(auroc({0, 0, 1, 1}, {0.1, 0.2, 0.3, 0.4}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({1, 1, 0, 0}, {0.1, 0.2, 0.3, 0.4}), 0.0);
  EXPECT_DOUBLE_EQ(auroc({1, 0, 1, 0, 0}, {0.3, 0.3, 0.3, 0.3, 0.3}), 0.5);
  // Infinite scores are not accepted (NaN or inf both fail the finiteness check).
  EXPECT_THROW(auroc({1, 0}, {std::numeric_limits<double>::infinity(), 0.0}), InputError);
}

TEST(TaskMetrics, F1AndKappaEdgeCases) {
  // No positive label and no positive prediction: F1's 0/0 is reported as 0.
  ConfusionMatrix none;
  none.true_negatives = 4;
  EXPECT_DOUBLE_EQ(f1_score(none), 0.0);
  EXPECT_DOUBLE_EQ(binary_accuracy(none), 1.0);
  // ...and kappa's chance agreement is 1: undefined, an error.
  EXPECT_THROW(cohen_kappa(none), InputError);
  // Perfect agreement with both classes: kappa = 1. Total disagreement on a balanced set:
  // p_o = 0, p_e = (2*2 + 2*2)/16 = 1/2, kappa = -1.
  ConfusionMatrix perfect{2, 0, 2, 0}, reversed{0, 2, 0, 2};
  EXPECT_DOUBLE_EQ(cohen_kappa(perfect), 1.0);
  EXPECT_DOUBLE_EQ(cohen_kappa(reversed), -1.0);
  EXPECT_THROW(binary_accuracy(ConfusionMatrix{}), InputError);
}

TEST(TaskMetrics, HandComputedRegression) {
  // errors 0.5, 0, 0, -1.
  const std::vector<double> y{3, 0, 2, 7}, p{2.5, 0, 2, 8};
  RegressionMetrics m = regression_metrics(y, p);
  // MAE = (0.5 + 0 + 0 + 1) / 4.
  EXPECT_DOUBLE_EQ(m.mae, 0.375);
  // MSE = (0.25 + 0 + 0 + 1) / 4.
  EXPECT_DOUBLE_EQ(m.mse, 0.3125);
  // MSLE = ((log 4 - log 3.5)^2 + 0 + 0 + (log 8 - log 9)^2) / 4.
  const double a = std::log(4.0 / 3.5), b = std::log(8.0 / 9.0);
  EXPECT_NEAR(m.msle, (a * a + b * b) / 4.0, 1e-15);
  // R^2: mean 3, SS_tot = 0 + 9 + 1 + 16 = 26, SS_res = 1.25; R^2 = 1 - 1.25/26.
  EXPECT_NEAR(m.r2, 1.0 - 1.25 / 26.0, 1e-15);
}

TEST(TaskMetrics, R2OfConstantTarget) {
  // SS_tot = 0: exact predictions give 1, anything else 0 (scikit-learn's force_finite).
  EXPECT_DOUBLE_EQ(r2_score({2, 2, 2}, {2, 2, 2}), 1.0);
  EXPECT_DOUBLE_EQ(r2_score({2, 2, 2}, {2, 2, 3}), 0.0);
  // 0.1 three times has a rounded mean 0.10000000000000002; the constant is still detected.
  EXPECT_DOUBLE_EQ(r2_score({0.1, 0.1, 0.1}, {0.1, 0.1, 0.2}), 0.0);
}

TEST(TaskMetrics, RejectsBadInput) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto message = [](auto&& call) {
    try {
      call();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { auroc({}, {}); }).find("empty"), std::string::npos);
  EXPECT_NE(message([] {
              classification_metrics({1, 0}, {0.5}, 0.5);
            }).find("y_score has 1"),
            std::string::npos);
  EXPECT_NE(message([&] {
              auroc({1, 0, 1}, {0.5, nan, 0.1});
            }).find("y_score[1]"),
            std::string::npos);
  EXPECT_NE(message([] {
              auroc({1, 2, 0}, {0.5, 0.2, 0.1});
            }).find("y_true[1] is 2"),
            std::string::npos);
  EXPECT_NE(message([] { auroc({1, 1, 1}, {0.5, 0.2, 0.1}); }).find("only 1s"), std::string::npos);
  EXPECT_NE(message([] {
              classification_metrics({0, 0}, {0.5, 0.2}, 0.5);
            }).find("only 0s"),
            std::string::npos);
  EXPECT_THROW(mean_absolute_error({1, 2}, {1}), InputError);
  EXPECT_THROW(mean_squared_error({}, {}), InputError);
  EXPECT_THROW(r2_score({1, nan}, {1, 2}), InputError);
  EXPECT_NE(message([] {
              mean_squared_log_error({1, 2}, {1, -0.5});
            }).find("y_pred[1] is negative"),
            std::string::npos);
  EXPECT_NE(message([] {
              mean_squared_log_error({-1, 2}, {1, 2});
            }).find("y_true[0] is negative"),
            std::string::npos);
}
