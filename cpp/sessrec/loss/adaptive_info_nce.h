// MACL's adaptive contrastive loss (Zhang et al., 2025, Sec. 4.3): InfoNCE over signal sets,
// each set weighted by a small MLP. The paper: "a weight \alpha_i is assigned to each signal set
// to highlight informative signals while downplaying uninformative ones".
//
// Signal set i (i < B): anchor a_i, positive p_i and M negatives, the positives of other sets,
// p_{neg[i, j]} (the paper's "random selection of M negatives"). On unit rows (L2-normalised here,
// gradients go back through the normalisation):
//   l_i = -log( exp(<a_i, p_i> / tau) / (exp(<a_i, p_i> / tau) + sum_j exp(<a_i, p_{neg[i,j]}> /
//   tau)) )
// The weighting network reads the whole set,
//   z_i = [a_i; p_i; mean_j p_{neg[i,j]}]  [3D],   s_i = MLP(z_i)  (3D -> H -> 1, GELU),
//   alpha = B * softmax_i(s)   (mean 1 over the batch),
//   L = (1 / B) sum_i alpha_i l_i.
// The paper gives neither the MLP's inputs nor how its scores become weights: these are our
// reading. Normalising the weights to mean 1 keeps the MLP from switching the loss off (it can
// only move weight between sets), and with the output layer initialised to zero the loss starts
// as plain InfoNCE. (The softmax is blind to a shift of every s_i, so b2 always gets a zero
// gradient; it stays for the MLP's usual form.) The MLP trains jointly with the model on the same total loss, and its
// gradient also reaches a and p through z. Without an MLP (nullptr) alpha_i = 1: the plain,
// equal-weight contrastive loss (the paper's ablation).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/nn/l2_normalize.h"
#include "sessrec/nn/mlp.h"

namespace sessrec::loss {

// The weighting MLP: W1 [H, 3D], b1 [H], W2 [1, H], b2 [1]; gradients accumulate into the d*
// pointers (all nullptr for a forward only).
template <typename T>
struct SignalWeightMLP {
  const T *W1 = nullptr, *b1 = nullptr, *W2 = nullptr, *b2 = nullptr;
  T *dW1 = nullptr, *db1 = nullptr, *dW2 = nullptr, *db2 = nullptr;
  int64_t hidden = 0;
};

// Returns L. alpha [B] receives the weights (may be nullptr); example_loss [B] the l_i (may be
// nullptr). Accumulates da, dp [B, D] when non-null. neg [B, M] holds row indices of p, each
// different from its own row i.
template <typename T>
T adaptive_info_nce(T* alpha, T* example_loss, T* da, T* dp, const T* a, const T* p,
                    const int32_t* neg, int64_t B, int64_t M, int64_t D, T temperature,
                    const SignalWeightMLP<T>* mlp) {
  if (B <= 0 || M <= 0 || D <= 0)
    throw InputError("adaptive_info_nce: need B > 0 sets, M > 0 negatives and D > 0");
  if (!(temperature > T(0))) throw InputError("adaptive_info_nce: temperature must be > 0");
  for (int64_t i = 0; i < B * M; ++i)
    if (neg[i] < 0 || neg[i] >= B || neg[i] == i / M)
      throw InputError("adaptive_info_nce: negative " + std::to_string(neg[i]) + " of set " +
                       std::to_string(i / M) + " is not another set's row");
  const int64_t C = M + 1;
  std::vector<T> ah(B * D), ph(B * D), na(B), np(B), prob(B * C), loss(B);
  nn::l2_normalize_rows_forward(ah.data(), na.data(), a, B, D);
  nn::l2_normalize_rows_forward(ph.data(), np.data(), p, B, D);
  auto dot = [D](const T* x, const T* y) {
    T s = 0;
    for (int64_t d = 0; d < D; ++d) s += x[d] * y[d];
    return s;
  };
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; ++i) {
    T* row = prob.data() + i * C;
    const T* x = ah.data() + i * D;
    row[0] = dot(x, ph.data() + i * D) / temperature;
    for (int64_t j = 0; j < M; ++j)
      row[1 + j] = dot(x, ph.data() + neg[i * M + j] * D) / temperature;
    const T positive = row[0];
    const T top = *std::max_element(row, row + C);
    T sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += (row[c] = std::exp(row[c] - top));
    for (int64_t c = 0; c < C; ++c) row[c] /= sum;
    loss[i] = top + std::log(sum) - positive;
  }
  // Weights.
  std::vector<T> w(B, T(1)), z, s(B);
  nn::MLPCache<T> cache;
  const std::vector<int64_t> dims = {3 * D, mlp != nullptr ? mlp->hidden : 1, 1};
  if (mlp != nullptr) {
    z.assign(B * 3 * D, T(0));
    for (int64_t i = 0; i < B; ++i) {
      T* zi = z.data() + i * 3 * D;
      std::copy_n(ah.data() + i * D, D, zi);
      std::copy_n(ph.data() + i * D, D, zi + D);
      for (int64_t j = 0; j < M; ++j)
        for (int64_t d = 0; d < D; ++d) zi[2 * D + d] += ph[neg[i * M + j] * D + d] / T(M);
    }
    nn::mlp_forward(s.data(), cache, z.data(), {mlp->W1, mlp->W2}, {mlp->b1, mlp->b2}, dims, B,
                    true);
    const T top = *std::max_element(s.begin(), s.end());
    T sum = 0;
    for (int64_t i = 0; i < B; ++i) sum += (w[i] = std::exp(s[i] - top));
    for (int64_t i = 0; i < B; ++i) w[i] *= T(B) / sum;
  }
  T total = 0;
  for (int64_t i = 0; i < B; ++i) total += w[i] * loss[i];
  total /= T(B);
  if (alpha != nullptr) std::copy(w.begin(), w.end(), alpha);
  if (example_loss != nullptr) std::copy(loss.begin(), loss.end(), example_loss);
  if (da == nullptr && dp == nullptr) return total;

  std::vector<T> dah(B * D, T(0)), dph(B * D, T(0));
  // Through the weights: d L / d s_i = (alpha_i / B) (l_i - L).
  if (mlp != nullptr) {
    std::vector<T> ds(B), dz(B * 3 * D, T(0));
    for (int64_t i = 0; i < B; ++i) ds[i] = w[i] / T(B) * (loss[i] - total);
    std::vector<T*> dW = {mlp->dW1, mlp->dW2}, db = {mlp->db1, mlp->db2};
    std::vector<T> scratch_W1, scratch_W2, scratch_b1, scratch_b2;
    if (dW[0] == nullptr) {  // gradients for the inputs only
      scratch_W1.assign(mlp->hidden * 3 * D, T(0));
      scratch_W2.assign(mlp->hidden, T(0));
      scratch_b1.assign(mlp->hidden, T(0));
      scratch_b2.assign(1, T(0));
      dW = {scratch_W1.data(), scratch_W2.data()};
      db = {scratch_b1.data(), scratch_b2.data()};
    }
    nn::mlp_backward<T>(dz.data(), dW, db, ds.data(), cache, z.data(), {mlp->W1, mlp->W2}, dims, B,
                        true);
    for (int64_t i = 0; i < B; ++i) {
      const T* dzi = dz.data() + i * 3 * D;
      for (int64_t d = 0; d < D; ++d) {
        dah[i * D + d] += dzi[d];
        dph[i * D + d] += dzi[D + d];
      }
      for (int64_t j = 0; j < M; ++j)
        for (int64_t d = 0; d < D; ++d) dph[neg[i * M + j] * D + d] += dzi[2 * D + d] / T(M);
    }
  }
  // Through the InfoNCE terms, d L / d l_i = alpha_i / B.
  for (int64_t i = 0; i < B; ++i) {
    const T scale = w[i] / T(B) / temperature;
    const T* row = prob.data() + i * C;
    const T* x = ah.data() + i * D;
    T* dx = dah.data() + i * D;
    const T g0 = scale * (row[0] - T(1));
    for (int64_t d = 0; d < D; ++d) {
      dx[d] += g0 * ph[i * D + d];
      dph[i * D + d] += g0 * x[d];
    }
    for (int64_t j = 0; j < M; ++j) {
      const T gj = scale * row[1 + j];
      const int64_t r = neg[i * M + j];
      for (int64_t d = 0; d < D; ++d) {
        dx[d] += gj * ph[r * D + d];
        dph[r * D + d] += gj * x[d];
      }
    }
  }
  if (da != nullptr) nn::l2_normalize_rows_backward(da, dah.data(), ah.data(), na.data(), B, D);
  if (dp != nullptr) nn::l2_normalize_rows_backward(dp, dph.data(), ph.data(), np.data(), B, D);
  return total;
}

}  // namespace sessrec::loss
