// Elementwise activations: ReLU, GELU (exact, erf-based, as torch's default), sigmoid, tanh.
#pragma once
#include <cmath>
#include <algorithm>
#include <cstdint>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>
#include "sessrec/nn/profile.h"

namespace sessrec::nn {

template <typename T>
void relu_forward(T* out, const T* in, int64_t n) {
  KernelTimer timer(Kernel::Elementwise);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
}
// din += dout * [in > 0] (din = ... when !accumulate; then din may be dout itself)
template <typename T>
void relu_backward(T* din, const T* dout, const T* in, int64_t n, bool accumulate = true) {
  KernelTimer timer(Kernel::Elementwise);
  if (accumulate) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) din[i] += in[i] > T(0) ? dout[i] : T(0);
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) din[i] = in[i] > T(0) ? dout[i] : T(0);
  }
}

// GELU runs on Eigen arrays (vectorised erf and exp) in fixed segments, in parallel.
template <typename T, typename Fn>
void for_segments(int64_t n, Fn fn) {
  const int64_t segment = 4096;
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < (n + segment - 1) / segment; ++s)
    fn(s * segment, std::min(segment, n - s * segment));
}

template <typename T>
void gelu_forward(T* out, const T* in, int64_t n) {
  KernelTimer timer(Kernel::Elementwise);
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  for_segments<T>(n, [&](int64_t first, int64_t count) {
    Eigen::Map<const A> x(in + first, count);
    Eigen::Map<A>(out + first, count) = T(0.5) * x * (T(1) + (x * T(0.70710678118654752440)).erf());
  });
}
// Bias then activation, in place: x [N, C] += b (per column), then out = GELU(x) or ReLU(x);
// x keeps the pre-activation for the backward pass. One pass over x instead of two.
template <typename T>
void bias_activation_forward(T* out, T* x, const T* b, int64_t N, int64_t C, bool gelu) {
  KernelTimer timer(Kernel::Elementwise);
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const A> bias(b, C);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < N; ++r) {
    Eigen::Map<A> xr(x + r * C, C), y(out + r * C, C);
    if (b != nullptr) xr += bias;
    if (gelu)
      y = T(0.5) * xr * (T(1) + (xr * T(0.70710678118654752440)).erf());
    else
      y = xr.max(T(0));
  }
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x). din += (or, when !accumulate, =) dout * GELU'(in);
// when !accumulate din may be dout itself.
template <typename T>
void gelu_backward(T* din, const T* dout, const T* in, int64_t n, bool accumulate = true) {
  KernelTimer timer(Kernel::Elementwise);
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  for_segments<T>(n, [&](int64_t first, int64_t count) {
    Eigen::Map<const A> x(in + first, count), g(dout + first, count);
    const A cdf = T(0.5) * (T(1) + (x * T(0.70710678118654752440)).erf());
    const A pdf = T(0.39894228040143267794) * (T(-0.5) * x * x).exp();
    if (accumulate)
      Eigen::Map<A>(din + first, count) += g * (cdf + x * pdf);
    else
      Eigen::Map<A>(din + first, count) = g * (cdf + x * pdf);
  });
}

template <typename T>
inline T sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

}  // namespace sessrec::nn
