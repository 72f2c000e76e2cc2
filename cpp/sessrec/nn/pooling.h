// Pooling over positions with masks: masked mean, and the last valid position.
#pragma once
#include <cstdint>

namespace sessrec::nn {

// in [B, T, D], valid [B, T] -> out [B, D]: mean over valid positions (zeros if none).
template <typename T>
void mean_pool_forward(T* out, const T* in, const uint8_t* valid, int64_t B, int64_t Tn,
                       int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    T* o = out + b * D;
    for (int64_t d = 0; d < D; ++d) o[d] = 0;
    int64_t count = 0;
    for (int64_t t = 0; t < Tn; ++t) {
      if (!valid[b * Tn + t]) continue;
      ++count;
      for (int64_t d = 0; d < D; ++d) o[d] += in[(b * Tn + t) * D + d];
    }
    if (count > 0)
      for (int64_t d = 0; d < D; ++d) o[d] /= T(count);
  }
}

template <typename T>
void mean_pool_backward(T* din, const T* dout, const uint8_t* valid, int64_t B, int64_t Tn,
                        int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    int64_t count = 0;
    for (int64_t t = 0; t < Tn; ++t) count += valid[b * Tn + t] != 0;
    if (count == 0) continue;
    for (int64_t t = 0; t < Tn; ++t) {
      if (!valid[b * Tn + t]) continue;
      for (int64_t d = 0; d < D; ++d) din[(b * Tn + t) * D + d] += dout[b * D + d] / T(count);
    }
  }
}

// out[b] = in[b, last[b]]; last[b] < 0 gives zeros.
template <typename T>
void last_pool_forward(T* out, const T* in, const int64_t* last, int64_t B, int64_t Tn, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < D; ++d) out[b * D + d] = last[b] >= 0 ? in[(b * Tn + last[b]) * D + d] : T(0);
}

template <typename T>
void last_pool_backward(T* din, const T* dout, const int64_t* last, int64_t B, int64_t Tn, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    if (last[b] < 0) continue;
    for (int64_t d = 0; d < D; ++d) din[(b * Tn + last[b]) * D + d] += dout[b * D + d];
  }
}

}  // namespace sessrec::nn
