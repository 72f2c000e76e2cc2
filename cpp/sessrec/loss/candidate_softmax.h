// Softmax over per-row candidate lists: the loss for sampled softmax (uniform, popularity or
// in-batch negatives, with logQ correction), for [positive, explicit negatives] lists with
// per-row negatives (AlterRec), and for several weighted positives per row.
//
// Row b scores candidates cand[b, j] as logit = <H_b, E_cand> - logq[b, j]. With label[b, j]
// the weight of candidate j as a positive (0 for negatives), and `total` the sum of all labels:
//   shared:   loss = sum_b sum_j label[b, j] * (lse_b - logit_bj) / total,
//             lse_b over every slot of row b (the positives compete with each other);
//   separate: loss = sum_b sum_{j positive} label[b, j] * (lse_bj - logit_bj) / total,
//             lse_bj over {j} and the row's negatives only: each positive is its own
//             log-softmax term against the same negatives (AlterRec_aug, Eq. 10-11).
// With one positive per row the two agree. Slots with cand = -1 are unused. Gradients reach E
// only at the candidate rows.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sessrec/nn/profile.h"
#include "sessrec/nn/tensor.h"

namespace sessrec::loss {

namespace detail {

// One row of the candidate softmax: logits [M] (of the slots with cand >= 0) in, the row's loss
// term out, and logits overwritten by d loss / d logit (total = sum of all labels).
template <typename T>
T candidate_row(T* logits, const int32_t* cand, const T* label, int64_t M, T total) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < M; ++j)
    if (cand[j] >= 0) m = std::max(m, logits[j]);
  if (m == -std::numeric_limits<T>::infinity()) return T(0);
  T sum = 0;
  for (int64_t j = 0; j < M; ++j)
    if (cand[j] >= 0) sum += std::exp(logits[j] - m);
  const T lse = m + std::log(sum);
  T positives = 0, loss = 0;
  for (int64_t j = 0; j < M; ++j)
    if (cand[j] >= 0) {
      positives += label[j];
      loss += label[j] * (lse - logits[j]);
    }
  for (int64_t j = 0; j < M; ++j)
    logits[j] = cand[j] >= 0 ? (positives * std::exp(logits[j] - lse) - label[j]) / total : T(0);
  return loss;
}

// candidate_row with separate positive terms: positive j's term is
// label_j * (logaddexp(logit_j, lse_neg) - logit_j), lse_neg over the negatives (label 0).
template <typename T>
T candidate_row_separate(T* logits, const int32_t* cand, const T* label, int64_t M, T total) {
  const T inf = std::numeric_limits<T>::infinity();
  T m = -inf;
  for (int64_t j = 0; j < M; ++j)
    if (cand[j] >= 0 && label[j] == T(0)) m = std::max(m, logits[j]);
  T lse_neg = -inf;
  if (m > -inf) {
    T sum = 0;
    for (int64_t j = 0; j < M; ++j)
      if (cand[j] >= 0 && label[j] == T(0)) sum += std::exp(logits[j] - m);
    lse_neg = m + std::log(sum);
  }
  // d loss / d logit_k of a negative = exp(logit_k - lse_neg) * sum_j label_j exp(lse_neg - lse_j)
  T loss = 0, neg_weight = 0;
  for (int64_t j = 0; j < M; ++j) {
    if (cand[j] < 0 || label[j] == T(0)) continue;
    const T hi = std::max(logits[j], lse_neg);
    const T lse = lse_neg == -inf
                      ? logits[j]
                      : hi + std::log(std::exp(logits[j] - hi) + std::exp(lse_neg - hi));
    loss += label[j] * (lse - logits[j]);
    if (lse_neg > -inf) neg_weight += label[j] * std::exp(lse_neg - lse);
    logits[j] = label[j] * (std::exp(logits[j] - lse) - T(1)) / total;
  }
  for (int64_t j = 0; j < M; ++j) {
    if (cand[j] < 0) {
      logits[j] = T(0);
    } else if (label[j] == T(0)) {
      logits[j] = lse_neg == -inf ? T(0) : std::exp(logits[j] - lse_neg) * neg_weight / total;
    }
  }
  return loss;
}

template <typename T>
T candidate_row_any(T* logits, const int32_t* cand, const T* label, int64_t M, T total,
                    bool separate) {
  return separate ? candidate_row_separate(logits, cand, label, M, total)
                  : candidate_row(logits, cand, label, M, total);
}

}  // namespace detail

template <typename T>
T candidate_softmax(T* dH, T* dE, const T* H, const T* E, const int32_t* cand, const T* label,
                    const T* logq, int64_t B, int64_t M, int64_t D,
                    bool separate_positives = false) {
  nn::KernelTimer timer(nn::Kernel::Softmax);
  std::vector<T> coef(B * M, T(0));  // d loss / d logit
  T total = 0;
  for (int64_t i = 0; i < B * M; ++i)
    if (cand[i] >= 0) total += label[i];
  if (total <= T(0)) return T(0);
  std::vector<T> row_loss(B, T(0));
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    T* logits = coef.data() + b * M;
    const T* h = H + b * D;
    for (int64_t j = 0; j < M; ++j) {
      const int32_t c = cand[b * M + j];
      if (c < 0) continue;
      const T* e = E + int64_t(c) * D;
      T s = 0;
      for (int64_t d = 0; d < D; ++d) s += h[d] * e[d];
      logits[j] = s - (logq != nullptr ? logq[b * M + j] : T(0));
    }
    row_loss[b] = detail::candidate_row_any(logits, cand + b * M, label + b * M, M, total,
                                            separate_positives);
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

// The same loss through the full logit matrix H E^T [B, V] (V = rows of E): GEMMs over every
// class, then each row's candidate slots read from it, and the slots' gradient coefficients
// scattered into a dense [B, V] coefficient matrix for two more GEMMs. When the lists cover a
// sizeable share of the catalogue (AlterRec on a small catalogue: ~860 candidates of 3,634
// items) this costs far less than gathering B x M candidate rows and the serial dE scatter.
template <typename T>
T candidate_softmax_dense(T* dH, T* dE, const T* H, const T* E, const int32_t* cand, const T* label,
                          const T* logq, int64_t B, int64_t M, int64_t D, int64_t V,
                          bool separate_positives = false) {
  nn::KernelTimer timer(nn::Kernel::Softmax);
  T total = 0;
  for (int64_t i = 0; i < B * M; ++i)
    if (cand[i] >= 0) total += label[i];
  if (total <= T(0)) return T(0);
  thread_local nn::AlignedVector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < B * V) buffer.resize(B * V);
  nn::MapMat<T> P(buffer.data(), B, V);
  nn::MapConstMat<T> Hm(H, B, D), Em(E, V, D);
  nn::parallel_product(P, Hm, Em.transpose());
  std::vector<T> row_loss(B, T(0));
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* c = cand + b * M;
    const T* lab = label + b * M;
    std::vector<T> logits(M, T(0));
    for (int64_t j = 0; j < M; ++j)
      if (c[j] >= 0) logits[j] = P(b, c[j]) - (logq != nullptr ? logq[b * M + j] : T(0));
    P.row(b).setZero();
    row_loss[b] = detail::candidate_row_any(logits.data(), c, lab, M, total, separate_positives);
    for (int64_t j = 0; j < M; ++j)
      if (c[j] >= 0) P(b, c[j]) += logits[j];
  }
  T loss = 0;
  for (int64_t b = 0; b < B; ++b) loss += row_loss[b];
  if (dE != nullptr) nn::parallel_product(nn::MapMat<T>(dE, V, D), P.transpose(), Hm, true);
  if (dH != nullptr) nn::parallel_product(nn::MapMat<T>(dH, B, D), P, Em, true);
  return loss / total;
}

// Whether candidate_softmax_dense is the cheaper way for B rows of M slots over V classes: the
// dense logits must fit in 128 MB and the lists must cover at least 1/32 of the classes.
inline bool prefer_dense_candidates(int64_t B, int64_t M, int64_t V) {
  return B * V <= (int64_t{32} << 20) && V <= 32 * M;
}

}  // namespace sessrec::loss
