// Gated fusion of an ID embedding with K optional modality embeddings (MACL's image and text),
// where an item may lack a modality. The MACL paper's fusion (Sec. 4.1.1):
//   e_i = e^{id}_i + g_1 \odot e^{img}_i + g_2 \odot e^{txt}_i
// with the gates of nn/gated_fusion.h, g_k = sigmoid(u W_k^T + b_k), extended by masks
// m_k in {0, 1} (1: the item has modality k):
//   u = [a; m_1 x_1; ...; m_K x_K; m_1; ...; m_K],   g_k = sigmoid(u W_k^T + b_k),
//   e = a + sum_k m_k g_k * x_k.
// A missing modality is masked, not zero-filled into the gate: its term drops out of e, its slot
// of u is zero and the mask columns tell every gate that it is missing (rather than present
// with a zero vector), and neither its gate nor its input gets a gradient from that item. With
// every mask 1 the mask columns are constant and this is nn/gated_fusion.h (their weights act
// as a second bias).
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/nn/activation.h"
#include "sessrec/nn/linear.h"

namespace sessrec::nn {

// a [N, D]; x[k] [N, D]; mask[k] [N] (nullptr: all present); W[k] [D, U], bias[k] [D] with
// U = (1 + K) D + K. Caches u [N, U] and g[k] [N, D] (sized by the caller: u N*U, g K*N*D,
// gate k at g + k*N*D).
template <typename T>
void masked_gated_fusion_forward(T* out, T* u, T* g, const T* a, const std::vector<const T*>& x,
                                 const std::vector<const uint8_t*>& mask,
                                 const std::vector<const T*>& W, const std::vector<const T*>& bias,
                                 int64_t N, int64_t D) {
  const int64_t K = static_cast<int64_t>(x.size()), U = (1 + K) * D + K;
  auto present = [&](int64_t k, int64_t n) { return mask[k] == nullptr || mask[k][n] != 0; };
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    T* un = u + n * U;
    for (int64_t d = 0; d < D; ++d) un[d] = a[n * D + d];
    for (int64_t k = 0; k < K; ++k) {
      const bool on = present(k, n);
      for (int64_t d = 0; d < D; ++d) un[(1 + k) * D + d] = on ? x[k][n * D + d] : T(0);
      un[(1 + K) * D + k] = on ? T(1) : T(0);
    }
  }
  for (int64_t k = 0; k < K; ++k) linear_forward(g + k * N * D, u, W[k], bias[k], N, U, D);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      T e = a[n * D + d];
      for (int64_t k = 0; k < K; ++k) {
        T& gk = g[k * N * D + n * D + d];
        gk = sigmoid(gk);
        if (present(k, n)) e += gk * x[k][n * D + d];
      }
      out[n * D + d] = e;
    }
}

// Accumulates da [N, D], dx[k] [N, D] (each may be nullptr), dW[k], dbias[k].
template <typename T>
void masked_gated_fusion_backward(T* da, const std::vector<T*>& dx, const std::vector<T*>& dW,
                                  const std::vector<T*>& dbias, const T* dout, const T* u,
                                  const T* g, const std::vector<const T*>& x,
                                  const std::vector<const uint8_t*>& mask,
                                  const std::vector<const T*>& W, int64_t N, int64_t D) {
  const int64_t K = static_cast<int64_t>(x.size()), U = (1 + K) * D + K;
  auto present = [&](int64_t k, int64_t n) { return mask[k] == nullptr || mask[k][n] != 0; };
  std::vector<T> dpre(K * N * D, T(0)), du(N * U, T(0));
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      if (!present(k, n)) continue;
      for (int64_t d = 0; d < D; ++d) {
        const int64_t i = n * D + d;
        const T gk = g[k * N * D + i];
        if (dx[k] != nullptr) dx[k][i] += dout[i] * gk;
        dpre[k * N * D + i] = dout[i] * x[k][i] * gk * (T(1) - gk);
      }
    }
  for (int64_t k = 0; k < K; ++k)
    linear_backward(du.data(), dW[k], dbias[k], dpre.data() + k * N * D, u, W[k], N, U, D);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t d = 0; d < D; ++d)
      if (da != nullptr) da[n * D + d] += dout[n * D + d] + du[n * U + d];
    for (int64_t k = 0; k < K; ++k) {
      if (dx[k] == nullptr || !present(k, n)) continue;
      for (int64_t d = 0; d < D; ++d) dx[k][n * D + d] += du[n * U + (1 + k) * D + d];
    }
  }
}

}  // namespace sessrec::nn
