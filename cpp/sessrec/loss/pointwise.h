// Pointwise losses, averaged over n entries: binary cross-entropy on logits, and squared error.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sessrec::loss {

// mean of -[y log s(x) + (1 - y) log(1 - s(x))], computed stably; dlogit += (s(x) - y) / n.
template <typename T>
T bce_with_logits(T* dlogit, const T* logit, const T* label, int64_t n) {
  T loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T x = logit[i];
    loss += std::max(x, T(0)) - x * label[i] + std::log1p(std::exp(-std::abs(x)));
    if (dlogit != nullptr) {
      const T s = x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
      dlogit[i] += (s - label[i]) / T(n);
    }
  }
  return loss / T(n);
}

// mean of (pred - target)^2; dpred += 2 (pred - target) / n.
template <typename T>
T mse(T* dpred, const T* pred, const T* target, int64_t n) {
  T loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T diff = pred[i] - target[i];
    loss += diff * diff;
    if (dpred != nullptr) dpred[i] += T(2) * diff / T(n);
  }
  return loss / T(n);
}

}  // namespace sessrec::loss
