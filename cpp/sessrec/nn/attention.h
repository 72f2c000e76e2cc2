// Multi-head scaled dot-product self-attention with causal and key-padding masks.
// A query whose every key is masked (e.g. a padding position) gets zero weights and output.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>
#include "sessrec/nn/profile.h"

namespace sessrec::nn {

// qkv [B, T, 3C] = (q | k | v); out [B, T, C]; att [B, H, T, T] caches the probabilities.
// key_valid [B, T]: 1 for real positions, 0 for padding (null: all valid).
template <typename T>
void attention_forward(T* out, T* att, const T* qkv, const uint8_t* key_valid, int64_t B,
                       int64_t Tn, int64_t C, int64_t H, bool causal) {
  KernelTimer timer(Kernel::Attention);
  const int64_t hs = C / H;
  const T scale = T(1) / std::sqrt(T(hs));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < Tn; ++t) {
        const T* q = qkv + (b * Tn + t) * 3 * C + h * hs;
        T* row = att + ((b * H + h) * Tn + t) * Tn;
        T max_score = -std::numeric_limits<T>::infinity();
        const int64_t last = causal ? t : Tn - 1;
        for (int64_t t2 = 0; t2 < Tn; ++t2) {
          const bool open = t2 <= last && (key_valid == nullptr || key_valid[b * Tn + t2]);
          if (!open) {
            row[t2] = -std::numeric_limits<T>::infinity();
            continue;
          }
          const T* k = qkv + (b * Tn + t2) * 3 * C + C + h * hs;
          T s = 0;
          for (int64_t i = 0; i < hs; ++i) s += q[i] * k[i];
          row[t2] = s * scale;
          if (row[t2] > max_score) max_score = row[t2];
        }
        T* o = out + (b * Tn + t) * C + h * hs;
        for (int64_t i = 0; i < hs; ++i) o[i] = T(0);
        if (max_score == -std::numeric_limits<T>::infinity()) {
          for (int64_t t2 = 0; t2 < Tn; ++t2) row[t2] = T(0);
          continue;
        }
        T sum = 0;
        for (int64_t t2 = 0; t2 < Tn; ++t2) {
          row[t2] = row[t2] == -std::numeric_limits<T>::infinity() ? T(0)
                                                                   : std::exp(row[t2] - max_score);
          sum += row[t2];
        }
        for (int64_t t2 = 0; t2 < Tn; ++t2) {
          row[t2] /= sum;
          if (row[t2] == T(0)) continue;
          const T* v = qkv + (b * Tn + t2) * 3 * C + 2 * C + h * hs;
          for (int64_t i = 0; i < hs; ++i) o[i] += row[t2] * v[i];
        }
      }
}

// Accumulates dqkv [B, T, 3C] from dout [B, T, C] and the cached probabilities.
template <typename T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int64_t B,
                        int64_t Tn, int64_t C, int64_t H) {
  KernelTimer timer(Kernel::Attention);
  const int64_t hs = C / H;
  const T scale = T(1) / std::sqrt(T(hs));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<T> datt(Tn);
      for (int64_t t = 0; t < Tn; ++t) {
        const T* row = att + ((b * H + h) * Tn + t) * Tn;
        const T* g = dout + (b * Tn + t) * C + h * hs;
        T weighted = 0;
        for (int64_t t2 = 0; t2 < Tn; ++t2) {
          if (row[t2] == T(0)) {
            datt[t2] = 0;
            continue;
          }
          const T* v = qkv + (b * Tn + t2) * 3 * C + 2 * C + h * hs;
          T* dv = dqkv + (b * Tn + t2) * 3 * C + 2 * C + h * hs;
          T s = 0;
          for (int64_t i = 0; i < hs; ++i) {
            s += g[i] * v[i];
            dv[i] += row[t2] * g[i];
          }
          datt[t2] = s;
          weighted += row[t2] * s;
        }
        const T* q = qkv + (b * Tn + t) * 3 * C + h * hs;
        T* dq = dqkv + (b * Tn + t) * 3 * C + h * hs;
        for (int64_t t2 = 0; t2 < Tn; ++t2) {
          if (row[t2] == T(0)) continue;
          const T dpre = row[t2] * (datt[t2] - weighted) * scale;
          const T* k = qkv + (b * Tn + t2) * 3 * C + C + h * hs;
          T* dk = dqkv + (b * Tn + t2) * 3 * C + C + h * hs;
          for (int64_t i = 0; i < hs; ++i) {
            dq[i] += dpre * k[i];
            dk[i] += dpre * q[i];
          }
        }
      }
    }
}

}  // namespace sessrec::nn
