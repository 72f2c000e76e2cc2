// InfoNCE whose denominator leaves the positive out, as UBM's Eq. 1-4 print it (Li et al.,
// "Contrastive Pre-training for Deep Session Data Understanding"):
//   \ell = - \sum_i \log \frac{e^{\text{sim}(h'_i, h'^{++}_i)/\tau}}
//                             {\sum_{j \neq i} e^{\text{sim}(h'_i, h'^{++}_j)/\tau}}
// (the decoupled contrastive loss of Yeh et al., 2022). With s_ij = cos(a_i, p_j) / tau:
//   l_i = -s_ii + log sum_{j != i} exp(s_ij),   loss = mean_i l_i
//   d loss / d s_ij = softmax_{j != i}(s_i.)_j / B (j != i),  d loss / d s_ii = -1 / B.
// The standard InfoNCE with the positive in the denominator is loss/contrastive.h's info_nce.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/nn/l2_normalize.h"
#include "sessrec/nn/tensor.h"

namespace sessrec::loss {

// a, p [B, D], B >= 2. Accumulates da, dp [B, D] when given (nullable).
template <typename T>
T decoupled_info_nce(T* da, T* dp, const T* a, const T* p, int64_t B, int64_t D, T temperature) {
  if (B < 2 || D <= 0)
    throw InputError("decoupled InfoNCE: need B >= 2 rows (a negative for each) of D > 0 values");
  if (!(temperature > T(0))) throw InputError("decoupled InfoNCE: temperature must be > 0");
  using nn::MapConstMat;
  using nn::MapMat;
  std::vector<T> ah(B * D), ph(B * D), na(B), np(B);
  nn::l2_normalize_rows_forward(ah.data(), na.data(), a, B, D);
  nn::l2_normalize_rows_forward(ph.data(), np.data(), p, B, D);
  nn::MatrixRM<T> S(B, B);
  nn::parallel_product(S.leftCols(B), MapConstMat<T>(ah.data(), B, D),
                       MapConstMat<T>(ph.data(), B, D).transpose());
  const T inv_tau = T(1) / temperature;
  std::vector<T> rows(B);
  // S becomes d loss / d cos: (d loss / d s) / tau.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; ++i) {
    auto row = S.row(i).array();
    row *= inv_tau;
    const T positive = row(i);
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < B; ++j)
      if (j != i) m = std::max(m, row(j));
    T sum = 0;
    for (int64_t j = 0; j < B; ++j)
      if (j != i) sum += (row(j) = std::exp(row(j) - m));
    rows[i] = m + std::log(sum) - positive;
    for (int64_t j = 0; j < B; ++j) row(j) = j == i ? T(-1) : row(j) / sum;
    row *= inv_tau / T(B);
  }
  T loss = 0;
  for (int64_t i = 0; i < B; ++i) loss += rows[i];
  if (da != nullptr) {
    std::vector<T> dah(B * D);
    MapMat<T>(dah.data(), B, D).noalias() = S * MapConstMat<T>(ph.data(), B, D);
    nn::l2_normalize_rows_backward(da, dah.data(), ah.data(), na.data(), B, D);
  }
  if (dp != nullptr) {
    std::vector<T> dph(B * D);
    MapMat<T>(dph.data(), B, D).noalias() = S.transpose() * MapConstMat<T>(ah.data(), B, D);
    nn::l2_normalize_rows_backward(dp, dph.data(), ph.data(), np.data(), B, D);
  }
  return loss / T(B);
}

}  // namespace sessrec::loss
