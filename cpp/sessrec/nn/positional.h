// Positional encodings. Learned positions are an embedding table indexed by position (see
// embedding.h, with ids = position + 1); the sinusoidal table is fixed, as in Vaswani et al.
#pragma once
#include <cmath>
#include <cstdint>

namespace sessrec::nn {

// table [T, D]: sin on even dimensions, cos on odd ones, wavelengths up to 10000 * 2 pi.
template <typename T>
void sinusoidal_table(T* table, int64_t Tn, int64_t D) {
  for (int64_t t = 0; t < Tn; ++t)
    for (int64_t d = 0; d < D; ++d) {
      const double angle = t / std::pow(10000.0, double(2 * (d / 2)) / double(D));
      table[t * D + d] = T(d % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
}

// x [B, T, D] += table[t] at every position.
template <typename T>
void add_positions(T* x, const T* table, int64_t B, int64_t Tn, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tn; ++t)
      for (int64_t d = 0; d < D; ++d) x[(b * Tn + t) * D + d] += table[t * D + d];
}

}  // namespace sessrec::nn
