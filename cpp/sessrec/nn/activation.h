// Elementwise activations: ReLU, GELU (exact, erf-based, as torch's default), sigmoid, tanh.
#pragma once
#include <cmath>
#include <cstdint>

namespace sessrec::nn {

template <typename T>
void relu_forward(T* out, const T* in, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
}
// din += dout * [in > 0]
template <typename T>
void relu_backward(T* din, const T* dout, const T* in, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) din[i] += in[i] > T(0) ? dout[i] : T(0);
}

template <typename T>
void gelu_forward(T* out, const T* in, int64_t n) {
  const T inv_sqrt2 = T(0.70710678118654752440);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = T(0.5) * in[i] * (T(1) + std::erf(in[i] * inv_sqrt2));
}
// d/dx [x Phi(x)] = Phi(x) + x phi(x)
template <typename T>
void gelu_backward(T* din, const T* dout, const T* in, int64_t n) {
  const T inv_sqrt2 = T(0.70710678118654752440), inv_sqrt_2pi = T(0.39894228040143267794);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T x = in[i];
    const T cdf = T(0.5) * (T(1) + std::erf(x * inv_sqrt2));
    const T pdf = inv_sqrt_2pi * std::exp(T(-0.5) * x * x);
    din[i] += dout[i] * (cdf + x * pdf);
  }
}

template <typename T>
inline T sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

}  // namespace sessrec::nn
