// Full softmax cross-entropy over a catalogue, computed in chunks of classes so that a
// B x V logit matrix never exists: pass 1 finds each row's log-sum-exp chunk by chunk, pass 2
// recomputes each chunk's logits and accumulates the gradients.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sessrec/nn/tensor.h"
#include "sessrec/nn/profile.h"

namespace sessrec::loss {

using nn::MapConstMat;
using nn::MapMat;
using nn::MatrixRM;

// H [B, D] row vectors, E [V, D] class vectors; logits = H E^T over classes first_class..V-1.
// target[b] in [first_class, V) or -1 (row ignored); weight [B] may be null (all 1).
// Returns sum_b w_b (lse_b - logit_b,target) / sum_b w_b and, when dH/dE are given, accumulates
// the gradients of that value.
template <typename T>
T softmax_cross_entropy(T* dH, T* dE, const T* H, const T* E, const int32_t* target,
                        const T* weight, int64_t B, int64_t V, int64_t D, int64_t first_class = 0,
                        int64_t chunk = 8192) {
  nn::KernelTimer timer(nn::Kernel::Softmax);
  std::vector<T> row_max(B, -std::numeric_limits<T>::infinity()), row_sum(B, T(0));
  std::vector<T> target_logit(B, T(0));
  T total_weight = 0;
  for (int64_t b = 0; b < B; ++b)
    if (target[b] >= 0) total_weight += weight ? weight[b] : T(1);
  if (total_weight <= T(0)) return T(0);
  MapConstMat<T> Hm(H, B, D);
  // Keep the logit block near 16 MB and reuse it across calls: fresh pages cost more than the
  // GEMM that fills them.
  chunk = std::max<int64_t>(256, std::min<int64_t>(chunk, (int64_t{4} << 20) / std::max<int64_t>(B, 1)));
  const int64_t width = std::min(chunk, V - first_class);
  thread_local nn::AlignedVector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < B * width) buffer.resize(B * width);
  MapMat<T> logits(buffer.data(), B, width);
  for (int64_t c0 = first_class; c0 < V; c0 += chunk) {
    const int64_t C = std::min(chunk, V - c0);
    auto L = logits.leftCols(C);
    nn::parallel_product(L, Hm, MapConstMat<T>(E + c0 * D, C, D).transpose());
    // Online log-sum-exp; each row is contiguous, so Eigen vectorises max and exp.
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      auto row = L.row(b).array();
      const T m = std::max(row_max[b], row.maxCoeff());
      const T rescale = row_max[b] == -std::numeric_limits<T>::infinity()
                            ? T(0)
                            : std::exp(row_max[b] - m);
      row_sum[b] = row_sum[b] * rescale + (row - m).exp().sum();
      row_max[b] = m;
    }
    for (int64_t b = 0; b < B; ++b)
      if (target[b] >= c0 && target[b] < c0 + C) target_logit[b] = L(b, target[b] - c0);
  }
  std::vector<T> lse(B);
  T loss = 0;
  for (int64_t b = 0; b < B; ++b) {
    lse[b] = row_max[b] + std::log(row_sum[b]);
    if (target[b] >= 0) loss += (weight ? weight[b] : T(1)) * (lse[b] - target_logit[b]);
  }
  loss /= total_weight;
  if (dH == nullptr && dE == nullptr) return loss;

  std::vector<T> scale(B);
  for (int64_t b = 0; b < B; ++b)
    scale[b] = target[b] < 0 ? T(0) : (weight ? weight[b] : T(1)) / total_weight;
  for (int64_t c0 = first_class; c0 < V; c0 += chunk) {
    const int64_t C = std::min(chunk, V - c0);
    auto G = logits.leftCols(C);
    MapConstMat<T> Ec(E + c0 * D, C, D);
    nn::parallel_product(G, Hm, Ec.transpose());
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) G.row(b).array() = (G.row(b).array() - lse[b]).exp() * scale[b];
    for (int64_t b = 0; b < B; ++b)
      if (target[b] >= c0 && target[b] < c0 + C) G(b, target[b] - c0) -= scale[b];
    if (dE != nullptr) nn::parallel_product(MapMat<T>(dE + c0 * D, C, D), G.transpose(), Hm, true);
    if (dH != nullptr) nn::parallel_product(MapMat<T>(dH, B, D), G, Ec, true);
  }
  return loss;
}

}  // namespace sessrec::loss
