// Softmax over per-row candidate lists: the loss for sampled softmax (uniform, popularity or
// in-batch negatives, with logQ correction), for [positive, explicit negatives] lists with
// per-row negatives (AlterRec), and for several weighted positives per row.
//
// Row b scores candidates cand[b, j] as logit = <H_b, E_cand> - logq[b, j]. With label[b, j]
// the weight of candidate j as a positive (0 for negatives):
//   loss = sum_b sum_j label[b, j] * (lse_b - logit_bj) / sum_b sum_j label[b, j].
// Slots with cand = -1 are unused. Gradients reach E only at the candidate rows.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>
#include "sessrec/nn/profile.h"

namespace sessrec::loss {

template <typename T>
T candidate_softmax(T* dH, T* dE, const T* H, const T* E, const int32_t* cand, const T* label,
                    const T* logq, int64_t B, int64_t M, int64_t D) {
  nn::KernelTimer timer(nn::Kernel::Softmax);
  std::vector<T> coef(B * M, T(0));  // d loss / d logit
  T total = 0;
  for (int64_t i = 0; i < B * M; ++i)
    if (cand[i] >= 0) total += label[i];
  if (total <= T(0)) return T(0);
  std::vector<T> row_loss(B, T(0));
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    std::vector<T> logits(M, -std::numeric_limits<T>::infinity());
    T m = -std::numeric_limits<T>::infinity();
    const T* h = H + b * D;
    for (int64_t j = 0; j < M; ++j) {
      const int32_t c = cand[b * M + j];
      if (c < 0) continue;
      const T* e = E + int64_t(c) * D;
      T s = 0;
      for (int64_t d = 0; d < D; ++d) s += h[d] * e[d];
      if (logq != nullptr) s -= logq[b * M + j];
      logits[j] = s;
      m = std::max(m, s);
    }
    if (m == -std::numeric_limits<T>::infinity()) continue;
    T sum = 0;
    for (int64_t j = 0; j < M; ++j)
      if (cand[b * M + j] >= 0) sum += std::exp(logits[j] - m);
    const T lse = m + std::log(sum);
    T positives = 0, loss = 0;
    for (int64_t j = 0; j < M; ++j)
      if (cand[b * M + j] >= 0) {
        positives += label[b * M + j];
        loss += label[b * M + j] * (lse - logits[j]);
      }
    row_loss[b] = loss;
    for (int64_t j = 0; j < M; ++j)
      if (cand[b * M + j] >= 0)
        coef[b * M + j] = (positives * std::exp(logits[j] - lse) - label[b * M + j]) / total;
  }
  T loss = 0;
  for (int64_t b = 0; b < B; ++b) loss += row_loss[b];
  loss /= total;
  if (dH != nullptr) {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < M; ++j) {
        const int32_t c = cand[b * M + j];
        if (c < 0 || coef[b * M + j] == T(0)) continue;
        const T* e = E + int64_t(c) * D;
        for (int64_t d = 0; d < D; ++d) dH[b * D + d] += coef[b * M + j] * e[d];
      }
  }
  if (dE != nullptr)  // serial: candidate rows repeat across the batch
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < M; ++j) {
        const int32_t c = cand[b * M + j];
        if (c < 0 || coef[b * M + j] == T(0)) continue;
        T* de = dE + int64_t(c) * D;
        for (int64_t d = 0; d < D; ++d) de[d] += coef[b * M + j] * H[b * D + d];
      }
  return loss;
}

}  // namespace sessrec::loss
