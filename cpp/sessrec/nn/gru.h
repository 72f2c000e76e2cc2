// GRU with torch.nn.GRU's gate layout (r, z, n) and equations:
//   r = sigmoid(xr + W_hr h + b_hr), z = sigmoid(xz + W_hz h + b_hz),
//   n = tanh(xn + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h,
// where x_proj = x W_ih^T + b_ih is computed beforehand by linear_forward for all steps at once.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "sessrec/nn/activation.h"
#include "sessrec/nn/tensor.h"
#include "sessrec/nn/profile.h"

namespace sessrec::nn {

// x_proj [B, T, 3H]; W_hh [3H, H]; b_hh [3H]; h_out [B, T, H] (h0 = 0).
// Caches gates [B, T, 3H] (r, z, n after activation) and hn [B, T, H] (W_hn h + b_hn).
template <typename T>
void gru_forward(T* h_out, T* gates, T* hn, const T* x_proj, const T* W_hh, const T* b_hh,
                 int64_t B, int64_t Tn, int64_t H) {
  KernelTimer timer(Kernel::GRU);
  MatrixRM<T> h_prev = MatrixRM<T>::Zero(B, H), hh(B, 3 * H);
  MapConstMat<T> W(W_hh, 3 * H, H);
  for (int64_t t = 0; t < Tn; ++t) {
    parallel_product(hh, h_prev, W.transpose());
    hh.rowwise() += MapConstVec<T>(b_hh, 3 * H).transpose();
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const T* x = x_proj + (b * Tn + t) * 3 * H;
      T* g = gates + (b * Tn + t) * 3 * H;
      T* hn_t = hn + (b * Tn + t) * H;
      T* h = h_out + (b * Tn + t) * H;
      for (int64_t j = 0; j < H; ++j) {
        const T r = sigmoid(x[j] + hh(b, j));
        const T z = sigmoid(x[H + j] + hh(b, H + j));
        const T n = std::tanh(x[2 * H + j] + r * hh(b, 2 * H + j));
        g[j] = r;
        g[H + j] = z;
        g[2 * H + j] = n;
        hn_t[j] = hh(b, 2 * H + j);
        h[j] = (T(1) - z) * n + z * h_prev(b, j);
      }
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) h_prev(b, j) = h_out[(b * Tn + t) * H + j];
  }
}

// Backpropagation through time. Accumulates dx_proj [B, T, 3H], dW_hh, db_hh.
template <typename T>
void gru_backward(T* dx_proj, T* dW_hh, T* db_hh, const T* dh_out, const T* h_out,
                  const T* gates, const T* hn, const T* W_hh, int64_t B, int64_t Tn, int64_t H) {
  KernelTimer timer(Kernel::GRU);
  MatrixRM<T> dh = MatrixRM<T>::Zero(B, H), dhh(B, 3 * H), h_prev(B, H);
  MapConstMat<T> W(W_hh, 3 * H, H);
  MapMat<T> dW(dW_hh, 3 * H, H);
  for (int64_t t = Tn - 1; t >= 0; --t) {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const T* g = gates + (b * Tn + t) * 3 * H;
      const T* hn_t = hn + (b * Tn + t) * H;
      T* dx = dx_proj + (b * Tn + t) * 3 * H;
      for (int64_t j = 0; j < H; ++j) {
        const T hp = t > 0 ? h_out[(b * Tn + t - 1) * H + j] : T(0);
        h_prev(b, j) = hp;
        const T d = dh(b, j) + dh_out[(b * Tn + t) * H + j];
        const T r = g[j], z = g[H + j], n = g[2 * H + j];
        const T dn = d * (T(1) - z) * (T(1) - n * n);
        const T dz = d * (hp - n) * z * (T(1) - z);
        const T dr = dn * hn_t[j] * r * (T(1) - r);
        dx[j] += dr;
        dx[H + j] += dz;
        dx[2 * H + j] += dn;
        dhh(b, j) = dr;
        dhh(b, H + j) = dz;
        dhh(b, 2 * H + j) = dn * r;
        dh(b, j) = d * z;  // the direct path h' = ... + z * h
      }
    }
    parallel_product(dh, dhh, W, true);
    parallel_product(dW, dhh.transpose(), h_prev, true);
    MapVec<T>(db_hh, 3 * H) += dhh.colwise().sum().transpose();
  }
}

}  // namespace sessrec::nn
