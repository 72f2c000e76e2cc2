// Embedding lookup with padding index 0: id 0 gives a zero row and receives no gradient.
#pragma once
#include <algorithm>
#include <cstdint>
#include "sessrec/nn/profile.h"

namespace sessrec::nn {

// out [N, D] = table[ids[n]] (zeros for id 0)
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int64_t N, int64_t D) {
  KernelTimer timer(Kernel::Embedding);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    if (ids[n] == 0) std::fill(out + n * D, out + (n + 1) * D, T(0));
    else std::copy(table + int64_t(ids[n]) * D, table + (int64_t(ids[n]) + 1) * D, out + n * D);
  }
}

// dtable[ids[n]] += dout[n] for ids != 0. Serial: rows may repeat, and the order stays fixed.
template <typename T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int64_t N, int64_t D) {
  KernelTimer timer(Kernel::Embedding);
  for (int64_t n = 0; n < N; ++n) {
    if (ids[n] == 0) continue;
    T* row = dtable + int64_t(ids[n]) * D;
    const T* g = dout + n * D;
    for (int64_t d = 0; d < D; ++d) row[d] += g[d];
  }
}

}  // namespace sessrec::nn
