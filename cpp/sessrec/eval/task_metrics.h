// Classification and regression metrics for the UBM downstream tasks (Li et al. 2024, §4.1.2):
// purchase intention prediction is scored with "accuracy, Area Under Receiver Operating
// Characteristic (AUROC), F1 score and Cohen's Kappa (CK)", remaining length prediction with
// "Mean Absolute Error (MAE), Mean Squared Error (MSE) and Mean Squared Log Error (MSLE)" and
// "the R^2 score".
//
// Every function over arrays checks them and throws InputError naming the function, the array
// and the first bad index: empty input, arrays of different lengths, values that are not finite
// (NaN or +-inf), binary labels other than exactly 0 and 1. The functions over a confusion
// matrix refuse negative counts and an empty matrix.
#pragma once
#include <cstdint>
#include <vector>

namespace sessrec {

// The 2x2 confusion matrix of binary labels against scores: a score >= threshold predicts 1.
struct ConfusionMatrix {
  int64_t true_positives = 0, false_positives = 0, true_negatives = 0, false_negatives = 0;
  int64_t total() const {
    return true_positives + false_positives + true_negatives + false_negatives;
  }
};

ConfusionMatrix confusion_matrix(const std::vector<double>& y_true,
                                 const std::vector<double>& y_score, double threshold);

// (TP + TN) / n.
double binary_accuracy(const ConfusionMatrix& c);
// 2 TP / (2 TP + FP + FN); 0 when the denominator is 0 (no positive label and no positive
// prediction), as scikit-learn's default zero_division does.
double f1_score(const ConfusionMatrix& c);
// (p_o - p_e) / (1 - p_e) with p_o the observed agreement (accuracy) and p_e the agreement
// expected from the marginals, p_e = (P_true P_pred + N_true N_pred) / n^2. Throws InputError
// when p_e = 1 (labels and predictions all the same single class): kappa is 0/0 there.
double cohen_kappa(const ConfusionMatrix& c);

// Area under the ROC curve as the Mann-Whitney statistic: (R_pos - P(P+1)/2) / (P N), with
// R_pos the sum of the positives' ranks among all scores and tied scores given their average
// rank, so a positive tied with a negative counts one half. Throws InputError when y_true holds
// a single class (the AUROC is undefined). O(n log n).
double auroc(const std::vector<double>& y_true, const std::vector<double>& y_score);

struct ClassificationMetrics {
  double accuracy, auroc, f1, cohen_kappa;
  ConfusionMatrix confusion;
};
// All four at once (the AUROC uses the scores, the others the confusion matrix at threshold).
// A single class in y_true is refused by the AUROC first, so kappa is always defined here.
ClassificationMetrics classification_metrics(const std::vector<double>& y_true,
                                             const std::vector<double>& y_score, double threshold);

// mean |y - y_hat|.
double mean_absolute_error(const std::vector<double>& y_true, const std::vector<double>& y_pred);
// mean (y - y_hat)^2.
double mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred);
// mean (log1p(y) - log1p(y_hat))^2; a negative value in either array is an InputError.
double mean_squared_log_error(const std::vector<double>& y_true, const std::vector<double>& y_pred);
// 1 - SS_res / SS_tot with SS_res = sum (y - y_hat)^2 and SS_tot = sum (y - mean(y))^2.
// For a constant target (SS_tot = 0) it returns 1 when the predictions are exact (SS_res = 0)
// and 0 otherwise, as scikit-learn's r2_score does (force_finite=True).
double r2_score(const std::vector<double>& y_true, const std::vector<double>& y_pred);

struct RegressionMetrics {
  double mae, mse, msle, r2;
};
RegressionMetrics regression_metrics(const std::vector<double>& y_true,
                                     const std::vector<double>& y_pred);

}  // namespace sessrec
