// Inverted dropout: kept units are scaled by 1/(1-p) in training; identity in evaluation.
#pragma once
#include <cstdint>
#include <random>

namespace sessrec::nn {

// mask [n] holds the scale (0 or 1/(1-p)) for the backward pass. p == 0 or !training copies.
template <typename T>
void dropout_forward(T* out, T* mask, const T* in, int64_t n, T p, bool training,
                     std::mt19937_64& rng) {
  if (!training || p <= T(0)) {
    for (int64_t i = 0; i < n; ++i) {
      out[i] = in[i];
      mask[i] = T(1);
    }
    return;
  }
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const T scale = T(1) / (T(1) - p);
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = u(rng) < double(p) ? T(0) : scale;
    out[i] = in[i] * mask[i];
  }
}

template <typename T>
void dropout_backward(T* din, const T* dout, const T* mask, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) din[i] += dout[i] * mask[i];
}

}  // namespace sessrec::nn
