// Row L2 normalisation as torch.nn.functional.normalize: rows shorter than eps are divided by
// eps instead of their norm. Shared by the contrastive objectives, the memory queues and the
// text encoder's optional output normalisation.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sessrec::nn {

// Rows shorter than this are divided by it instead of their norm (torch.nn.functional.normalize).
inline constexpr double kNormalizeEps = 1e-12;

// y [N, D] = x / max(|x|, eps), norm [N] = |x|. y may be x (in place).
template <typename T>
void l2_normalize_rows_forward(T* y, T* norm, const T* x, int64_t N, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    T s = 0;
    for (int64_t d = 0; d < D; ++d) s += x[i * D + d] * x[i * D + d];
    norm[i] = std::sqrt(s);
    const T inv = T(1) / std::max(norm[i], T(kNormalizeEps));
    for (int64_t d = 0; d < D; ++d) y[i * D + d] = x[i * D + d] * inv;
  }
}
// dx [N, D] += (dy - y <y, dy>) / |x|  (dy / eps for rows shorter than eps).
template <typename T>
void l2_normalize_rows_backward(T* dx, const T* dy, const T* y, const T* norm, int64_t N,
                                int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const T* yi = y + i * D;
    const T* gi = dy + i * D;
    if (norm[i] <= T(kNormalizeEps)) {
      for (int64_t d = 0; d < D; ++d) dx[i * D + d] += gi[d] / T(kNormalizeEps);
      continue;
    }
    T proj = 0;
    for (int64_t d = 0; d < D; ++d) proj += yi[d] * gi[d];
    for (int64_t d = 0; d < D; ++d) dx[i * D + d] += (gi[d] - yi[d] * proj) / norm[i];
  }
}

}  // namespace sessrec::nn
