// LayerNorm over the last dimension (eps 1e-5 by default, as torch.nn.LayerNorm).
#pragma once
#include <cmath>
#include <cstdint>
#include "sessrec/nn/profile.h"

namespace sessrec::nn {

// out [N, D] = (in - mean) * rstd * gamma + beta; caches mean [N] and rstd [N].
template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* in, const T* gamma, const T* beta,
                       int64_t N, int64_t D, T eps = T(1e-5)) {
  KernelTimer timer(Kernel::LayerNorm);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* x = in + n * D;
    T m = 0;
    for (int64_t d = 0; d < D; ++d) m += x[d];
    m /= D;
    T v = 0;
    for (int64_t d = 0; d < D; ++d) v += (x[d] - m) * (x[d] - m);
    v /= D;
    const T s = T(1) / std::sqrt(v + eps);
    T* y = out + n * D;
    for (int64_t d = 0; d < D; ++d) y[d] = (x[d] - m) * s * gamma[d] + beta[d];
    mean[n] = m;
    rstd[n] = s;
  }
}

// Accumulates din (overwrites it when !accumulate_din), dgamma, dbeta. dgamma/dbeta are reduced
// serially so results do not depend on the thread count. din must not alias dout or in.
template <typename T>
void layernorm_backward(T* din, T* dgamma, T* dbeta, const T* dout, const T* in, const T* mean,
                        const T* rstd, const T* gamma, int64_t N, int64_t D,
                        bool accumulate_din = true) {
  KernelTimer timer(Kernel::LayerNorm);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* x = in + n * D;
    const T* g = dout + n * D;
    T mean_dnorm = 0, mean_dnorm_xhat = 0;
    for (int64_t d = 0; d < D; ++d) {
      const T xhat = (x[d] - mean[n]) * rstd[n];
      const T dnorm = g[d] * gamma[d];
      mean_dnorm += dnorm;
      mean_dnorm_xhat += dnorm * xhat;
    }
    mean_dnorm /= D;
    mean_dnorm_xhat /= D;
    T* dx = din + n * D;
    if (accumulate_din) {
      for (int64_t d = 0; d < D; ++d) {
        const T xhat = (x[d] - mean[n]) * rstd[n];
        dx[d] += (g[d] * gamma[d] - mean_dnorm - xhat * mean_dnorm_xhat) * rstd[n];
      }
    } else {
      for (int64_t d = 0; d < D; ++d) {
        const T xhat = (x[d] - mean[n]) * rstd[n];
        dx[d] = (g[d] * gamma[d] - mean_dnorm - xhat * mean_dnorm_xhat) * rstd[n];
      }
    }
  }
  for (int64_t n = 0; n < N; ++n) {
    const T* x = in + n * D;
    const T* g = dout + n * D;
    for (int64_t d = 0; d < D; ++d) {
      dbeta[d] += g[d];
      dgamma[d] += g[d] * (x[d] - mean[n]) * rstd[n];
    }
  }
}

}  // namespace sessrec::nn
