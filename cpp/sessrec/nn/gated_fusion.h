// Gated fusion of three views of an item (e.g. ID, image and text embeddings):
//   u = [a; b; c],  g1 = sigmoid(u W1^T + b1),  g2 = sigmoid(u W2^T + b2),
//   e = a + g1 * b + g2 * c.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/nn/activation.h"
#include "sessrec/nn/linear.h"

namespace sessrec::nn {

// a, b, c [N, D]; W1, W2 [D, 3D]; b1, b2 [D]. Caches u [N, 3D], g1 and g2 [N, D].
template <typename T>
void gated_fusion_forward(T* out, T* u, T* g1, T* g2, const T* a, const T* b, const T* c,
                          const T* W1, const T* b1, const T* W2, const T* b2, int64_t N,
                          int64_t D) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      u[n * 3 * D + d] = a[n * D + d];
      u[n * 3 * D + D + d] = b[n * D + d];
      u[n * 3 * D + 2 * D + d] = c[n * D + d];
    }
  linear_forward(g1, u, W1, b1, N, 3 * D, D);
  linear_forward(g2, u, W2, b2, N, 3 * D, D);
  for (int64_t i = 0; i < N * D; ++i) {
    g1[i] = sigmoid(g1[i]);
    g2[i] = sigmoid(g2[i]);
    out[i] = a[i] + g1[i] * b[i] + g2[i] * c[i];
  }
}

// Accumulates da, db, dc, dW1, db1, dW2, db2.
template <typename T>
void gated_fusion_backward(T* da, T* db, T* dc, T* dW1, T* db1, T* dW2, T* db2, const T* dout,
                           const T* u, const T* g1, const T* g2, const T* b, const T* c,
                           const T* W1, const T* W2, int64_t N, int64_t D) {
  std::vector<T> dpre1(N * D), dpre2(N * D), du(N * 3 * D, T(0));
  for (int64_t i = 0; i < N * D; ++i) {
    da[i] += dout[i];
    db[i] += dout[i] * g1[i];
    dc[i] += dout[i] * g2[i];
    dpre1[i] = dout[i] * b[i] * g1[i] * (T(1) - g1[i]);
    dpre2[i] = dout[i] * c[i] * g2[i] * (T(1) - g2[i]);
  }
  linear_backward(du.data(), dW1, db1, dpre1.data(), u, W1, N, 3 * D, D);
  linear_backward(du.data(), dW2, db2, dpre2.data(), u, W2, N, 3 * D, D);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      da[n * D + d] += du[n * 3 * D + d];
      db[n * D + d] += du[n * 3 * D + D + d];
      dc[n * D + d] += du[n * 3 * D + 2 * D + d];
    }
}

}  // namespace sessrec::nn
