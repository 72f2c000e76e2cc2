// InfoNCE with temperature: row b of `a` should match row b of `p` against every other row of
// `p` (in-batch negatives). loss = mean_b [lse_j(<a_b, p_j>/tau) - <a_b, p_b>/tau].
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "sessrec/nn/tensor.h"

namespace sessrec::loss {

template <typename T>
T info_nce(T* da, T* dp, const T* a, const T* p, int64_t B, int64_t D, T temperature) {
  using nn::MapConstMat;
  using nn::MapMat;
  nn::MatrixRM<T> L = MapConstMat<T>(a, B, D) * MapConstMat<T>(p, B, D).transpose() / temperature;
  T loss = 0;
  for (int64_t b = 0; b < B; ++b) {
    const T m = L.row(b).maxCoeff();
    T s = 0;
    for (int64_t j = 0; j < B; ++j) s += std::exp(L(b, j) - m);
    const T lse = m + std::log(s);
    loss += lse - L(b, b);
    for (int64_t j = 0; j < B; ++j) L(b, j) = std::exp(L(b, j) - lse);  // softmax
    L(b, b) -= T(1);
  }
  L /= (temperature * T(B));
  if (da != nullptr) MapMat<T>(da, B, D).noalias() += L * MapConstMat<T>(p, B, D);
  if (dp != nullptr) MapMat<T>(dp, B, D).noalias() += L.transpose() * MapConstMat<T>(a, B, D);
  return loss / T(B);
}

}  // namespace sessrec::loss
