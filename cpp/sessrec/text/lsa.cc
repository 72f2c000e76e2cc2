#include "sessrec/text/lsa.h"

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <algorithm>
#include <cmath>
#include <random>

#include "sessrec/errors.h"

namespace sessrec {

void LSAConfig::validate() const {
  if (dim < 1) throw InputError("LSA: dim must be >= 1");
  if (oversample < 0 || power_iterations < 0)
    throw InputError("LSA: oversample and power_iterations must be >= 0");
}

std::vector<float> lsa_features(const TokenCSR& tokens, int64_t vocab_size, const LSAConfig& config,
                                int64_t* dim_out) {
  config.validate();
  const int64_t n = tokens.rows();
  if (n == 0) throw InputError("LSA: no rows");
  for (int32_t id : tokens.ids)
    if (id < 0 || id >= vocab_size)
      throw InputError("LSA: token id " + std::to_string(id) + " outside the vocabulary of " +
                       std::to_string(vocab_size));
  using Sparse = Eigen::SparseMatrix<double, Eigen::RowMajor, int64_t>;
  using Dense = Eigen::MatrixXd;

  // Document frequencies and TF-IDF triplets (smooth idf, as scikit-learn).
  std::vector<int64_t> df(vocab_size, 0);
  std::vector<Eigen::Triplet<double, int64_t>> entries;
  std::vector<int32_t> row;
  for (int64_t r = 0; r < n; ++r) {
    row.assign(tokens.ids.begin() + tokens.offsets[r], tokens.ids.begin() + tokens.offsets[r + 1]);
    std::sort(row.begin(), row.end());
    for (size_t i = 0; i < row.size();) {
      size_t j = i;
      while (j < row.size() && row[j] == row[i]) ++j;
      ++df[row[i]];
      const double tf = config.sublinear_tf ? 1.0 + std::log(double(j - i)) : double(j - i);
      entries.emplace_back(r, row[i], tf);
      i = j;
    }
  }
  for (auto& e : entries) {
    const double idf = std::log((1.0 + n) / (1.0 + df[e.col()])) + 1.0;
    e = Eigen::Triplet<double, int64_t>(e.row(), e.col(), e.value() * idf);
  }
  Sparse A(n, vocab_size);
  A.setFromTriplets(entries.begin(), entries.end());
  for (int64_t r = 0; r < n; ++r) {  // L2-normalise each document
    double norm = 0;
    for (Sparse::InnerIterator it(A, r); it; ++it) norm += it.value() * it.value();
    if (norm > 0)
      for (Sparse::InnerIterator it(A, r); it; ++it) it.valueRef() /= std::sqrt(norm);
  }
  const Sparse At = A.transpose();

  const int64_t k = std::min({config.dim, n, vocab_size});
  const int64_t l = std::min({k + config.oversample, n, vocab_size});
  std::mt19937_64 rng(config.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  Dense omega(vocab_size, l);
  for (int64_t j = 0; j < l; ++j)
    for (int64_t i = 0; i < vocab_size; ++i) omega(i, j) = gauss(rng);
  auto orthonormal = [](const Dense& Y) {
    Eigen::HouseholderQR<Dense> qr(Y);
    return Dense(qr.householderQ() * Dense::Identity(Y.rows(), Y.cols()));
  };
  Dense Q = orthonormal(A * omega);
  for (int64_t q = 0; q < config.power_iterations; ++q) {
    const Dense Z = orthonormal(At * Q);
    Q = orthonormal(A * Z);
  }
  // B = Q^T A (l x V); its SVD through the small l x l matrix B B^T.
  const Dense Bt = At * Q;  // V x l
  const Dense BBt = Bt.transpose() * Bt;
  Eigen::SelfAdjointEigenSolver<Dense> eig(BBt);
  // Eigenvalues ascend; take the top k.
  Dense U_small(l, k);
  Eigen::VectorXd sigma(k);
  for (int64_t j = 0; j < k; ++j) {
    const int64_t src = l - 1 - j;
    U_small.col(j) = eig.eigenvectors().col(src);
    sigma(j) = std::sqrt(std::max(0.0, eig.eigenvalues()(src)));
    // Fix the sign so that results do not depend on the eigen solver's choice.
    int64_t largest = 0;
    U_small.col(j).cwiseAbs().maxCoeff(&largest);
    if (U_small(largest, j) < 0) U_small.col(j) *= -1;
  }
  const Dense features = Q * U_small * sigma.asDiagonal();  // n x k
  std::vector<float> out(n * k);
  for (int64_t r = 0; r < n; ++r) {
    double norm = config.normalize ? features.row(r).norm() : 1.0;
    if (norm == 0) norm = 1.0;
    for (int64_t j = 0; j < k; ++j) out[r * k + j] = static_cast<float>(features(r, j) / norm);
  }
  *dim_out = k;
  return out;
}

}  // namespace sessrec
