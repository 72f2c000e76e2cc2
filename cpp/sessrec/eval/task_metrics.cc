#include "sessrec/eval/task_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "sessrec/errors.h"

namespace sessrec {

namespace {

void check_pair(const char* where, const std::vector<double>& a, const char* a_name,
                const std::vector<double>& b, const char* b_name) {
  if (a.empty())
    throw InputError(std::string(where) + ": empty input (" + a_name + " has no values)");
  if (a.size() != b.size())
    throw InputError(std::string(where) + ": " + a_name + " has " + std::to_string(a.size()) +
                     " values, " + b_name + " has " + std::to_string(b.size()));
  for (const auto* array : {&a, &b})
    for (size_t i = 0; i < array->size(); ++i)
      if (!std::isfinite((*array)[i]))
        throw InputError(std::string(where) + ": " + (array == &a ? a_name : b_name) + "[" +
                         std::to_string(i) + "] is not finite (" + std::to_string((*array)[i]) +
                         ")");
}

void check_binary_labels(const char* where, const std::vector<double>& y_true) {
  for (size_t i = 0; i < y_true.size(); ++i)
    if (y_true[i] != 0.0 && y_true[i] != 1.0)
      throw InputError(std::string(where) + ": y_true[" + std::to_string(i) + "] is " +
                       std::to_string(y_true[i]) + "; binary labels must be 0 or 1");
}

void check_classification(const char* where, const std::vector<double>& y_true,
                          const std::vector<double>& y_score) {
  check_pair(where, y_true, "y_true", y_score, "y_score");
  check_binary_labels(where, y_true);
}

void check_confusion(const char* where, const ConfusionMatrix& c) {
  if (c.true_positives < 0 || c.false_positives < 0 || c.true_negatives < 0 ||
      c.false_negatives < 0)
    throw InputError(std::string(where) + ": confusion matrix counts must be non-negative");
  if (c.total() == 0) throw InputError(std::string(where) + ": empty confusion matrix");
}

}  // namespace

ConfusionMatrix confusion_matrix(const std::vector<double>& y_true,
                                 const std::vector<double>& y_score, double threshold) {
  check_classification("confusion_matrix", y_true, y_score);
  if (std::isnan(threshold)) throw InputError("confusion_matrix: threshold is NaN");
  ConfusionMatrix c;
  for (size_t i = 0; i < y_true.size(); ++i) {
    const bool predicted = y_score[i] >= threshold, actual = y_true[i] == 1.0;
    if (predicted && actual)
      ++c.true_positives;
    else if (predicted)
      ++c.false_positives;
    else if (actual)
      ++c.false_negatives;
    else
      ++c.true_negatives;
  }
  return c;
}

double binary_accuracy(const ConfusionMatrix& c) {
  check_confusion("binary_accuracy", c);
  return static_cast<double>(c.true_positives + c.true_negatives) / static_cast<double>(c.total());
}

double f1_score(const ConfusionMatrix& c) {
  check_confusion("f1_score", c);
  const int64_t denominator = 2 * c.true_positives + c.false_positives + c.false_negatives;
  if (denominator == 0) return 0.0;
  return 2.0 * static_cast<double>(c.true_positives) / static_cast<double>(denominator);
}

double cohen_kappa(const ConfusionMatrix& c) {
  check_confusion("cohen_kappa", c);
  const double n = static_cast<double>(c.total());
  const double true_pos = static_cast<double>(c.true_positives + c.false_negatives);
  const double pred_pos = static_cast<double>(c.true_positives + c.false_positives);
  const double observed = static_cast<double>(c.true_positives + c.true_negatives) / n;
  const double expected = (true_pos * pred_pos + (n - true_pos) * (n - pred_pos)) / (n * n);
  if (expected >= 1.0)
    throw InputError(
        "cohen_kappa: undefined when labels and predictions are all the same single class "
        "(chance agreement is 1)");
  return (observed - expected) / (1.0 - expected);
}

double auroc(const std::vector<double>& y_true, const std::vector<double>& y_score) {
  check_classification("auroc", y_true, y_score);
  const int64_t n = static_cast<int64_t>(y_true.size());
  const int64_t positives = static_cast<int64_t>(std::count(y_true.begin(), y_true.end(), 1.0));
  const int64_t negatives = n - positives;
  if (positives == 0 || negatives == 0)
    throw InputError("auroc: y_true holds only " + std::string(positives == 0 ? "0s" : "1s") +
                     " (" + std::to_string(n) + " values); the AUROC needs both classes");
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return y_score[a] < y_score[b]; });
  // Sum of the positives' 1-based ranks, a run of ties sharing the mean of its ranks.
  double positive_rank_sum = 0.0;
  for (int64_t start = 0; start < n;) {
    int64_t stop = start + 1;
    while (stop < n && y_score[order[stop]] == y_score[order[start]]) ++stop;
    const double average_rank = 0.5 * static_cast<double>(start + 1 + stop);
    int64_t run_positives = 0;
    for (int64_t k = start; k < stop; ++k) run_positives += y_true[order[k]] == 1.0;
    positive_rank_sum += average_rank * static_cast<double>(run_positives);
    start = stop;
  }
  const double p = static_cast<double>(positives), q = static_cast<double>(negatives);
  return (positive_rank_sum - p * (p + 1.0) / 2.0) / (p * q);
}

ClassificationMetrics classification_metrics(const std::vector<double>& y_true,
                                             const std::vector<double>& y_score, double threshold) {
  ClassificationMetrics m;
  m.auroc = auroc(y_true, y_score);  // checks the input and rejects a single class first
  m.confusion = confusion_matrix(y_true, y_score, threshold);
  m.accuracy = binary_accuracy(m.confusion);
  m.f1 = f1_score(m.confusion);
  m.cohen_kappa = cohen_kappa(m.confusion);
  return m;
}

double mean_absolute_error(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
  check_pair("mean_absolute_error", y_true, "y_true", y_pred, "y_pred");
  double sum = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i) sum += std::abs(y_true[i] - y_pred[i]);
  return sum / static_cast<double>(y_true.size());
}

double mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
  check_pair("mean_squared_error", y_true, "y_true", y_pred, "y_pred");
  double sum = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i)
    sum += (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
  return sum / static_cast<double>(y_true.size());
}

double mean_squared_log_error(const std::vector<double>& y_true,
                              const std::vector<double>& y_pred) {
  check_pair("mean_squared_log_error", y_true, "y_true", y_pred, "y_pred");
  double sum = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] < 0.0 || y_pred[i] < 0.0)
      throw InputError(
          "mean_squared_log_error: " + std::string(y_true[i] < 0.0 ? "y_true" : "y_pred") + "[" +
          std::to_string(i) + "] is negative (" +
          std::to_string(y_true[i] < 0.0 ? y_true[i] : y_pred[i]) +
          "); MSLE takes log1p of non-negative values only");
    const double d = std::log1p(y_true[i]) - std::log1p(y_pred[i]);
    sum += d * d;
  }
  return sum / static_cast<double>(y_true.size());
}

double r2_score(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
  check_pair("r2_score", y_true, "y_true", y_pred, "y_pred");
  const double n = static_cast<double>(y_true.size());
  double residual = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i)
    residual += (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
  // A constant target is detected exactly: its rounded mean could leave SS_tot a tiny non-zero.
  const bool constant =
      std::all_of(y_true.begin(), y_true.end(), [&](double y) { return y == y_true.front(); });
  if (constant) return residual == 0.0 ? 1.0 : 0.0;
  const double mean = std::accumulate(y_true.begin(), y_true.end(), 0.0) / n;
  double total = 0.0;
  for (double y : y_true) total += (y - mean) * (y - mean);
  return 1.0 - residual / total;
}

RegressionMetrics regression_metrics(const std::vector<double>& y_true,
                                     const std::vector<double>& y_pred) {
  return RegressionMetrics{mean_absolute_error(y_true, y_pred), mean_squared_error(y_true, y_pred),
                           mean_squared_log_error(y_true, y_pred), r2_score(y_true, y_pred)};
}

}  // namespace sessrec
