#include "sessrec/eval/representation.h"

#include <Eigen/Dense>
#include <cmath>
#include <string>
#include <vector>

#include "sessrec/errors.h"

namespace sessrec {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

RowMatrix normalized_rows(const double* data, int64_t n, int64_t d, const char* name) {
  RowMatrix m = Eigen::Map<const RowMatrix>(data, n, d);
  for (int64_t i = 0; i < n; ++i) {
    if (!m.row(i).allFinite())
      throw InputError(std::string("alignment_uniformity: ") + name + " row " + std::to_string(i) +
                       " holds a NaN or infinite value");
    const double norm = m.row(i).norm();
    if (norm == 0.0)
      throw InputError(std::string("alignment_uniformity: ") + name + " row " + std::to_string(i) +
                       " is all zeros and cannot be L2-normalised");
    m.row(i) /= norm;
  }
  return m;
}

// log of the mean of exp(-t ||u_i - u_j||^2) over the pairs i < j of unit rows.
double log_mean_gaussian_potential(const RowMatrix& u, double t) {
  const int64_t n = u.rows();
  std::vector<double> row_sums(n, 0.0);
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n - 1; ++i) {
    double sum = 0.0;
    for (int64_t j = i + 1; j < n; ++j) sum += std::exp(-t * (u.row(i) - u.row(j)).squaredNorm());
    row_sums[i] = sum;
  }
  double total = 0.0;
  for (double s : row_sums) total += s;
  const double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  return std::log(total / pairs);
}

}  // namespace

AlignmentUniformity alignment_uniformity(const double* x, const double* y, int64_t n, int64_t d,
                                         double alpha, double t) {
  if (n < 2)
    throw InputError(
        "alignment_uniformity: needs at least 2 rows (uniformity averages over "
        "pairs), got " +
        std::to_string(n));
  if (d < 1) throw InputError("alignment_uniformity: rows have no columns");
  if (!(alpha > 0.0) || !std::isfinite(alpha))
    throw InputError("alignment_uniformity: alpha must be a positive number, got " +
                     std::to_string(alpha));
  if (!(t > 0.0) || !std::isfinite(t))
    throw InputError("alignment_uniformity: t must be a positive number, got " + std::to_string(t));
  const RowMatrix xn = normalized_rows(x, n, d, "x"), yn = normalized_rows(y, n, d, "y");
  double alignment = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double squared = (xn.row(i) - yn.row(i)).squaredNorm();
    alignment += alpha == 2.0 ? squared : std::pow(std::sqrt(squared), alpha);
  }
  AlignmentUniformity out;
  out.alignment = alignment / static_cast<double>(n);
  out.uniformity_x = log_mean_gaussian_potential(xn, t);
  out.uniformity_y = log_mean_gaussian_potential(yn, t);
  out.uniformity = 0.5 * (out.uniformity_x + out.uniformity_y);
  return out;
}

}  // namespace sessrec
