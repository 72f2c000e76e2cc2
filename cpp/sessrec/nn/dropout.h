// Inverted dropout: kept units are scaled by 1/(1-p) in training; identity in evaluation.
// The mask comes from a counter-based hash of (key, index), so it is cheap, parallel, and the
// same whatever the thread count; the caller derives `key` from the seed and the step.
#pragma once
#include <cstdint>

#include "sessrec/nn/profile.h"
#include "sessrec/random.h"

namespace sessrec::nn {

// mask [n] holds the scale (0 or 1/(1-p)) for the backward pass. p == 0 or !training copies.
template <typename T>
void dropout_forward(T* out, T* mask, const T* in, int64_t n, T p, bool training, uint64_t key) {
  KernelTimer timer(Kernel::Elementwise);
  if (!training || p <= T(0)) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      out[i] = in[i];
      mask[i] = T(1);
    }
    return;
  }
  const T scale = T(1) / (T(1) - p);
  // Drop when the top 53 bits of the hash, as a fraction of 2^53, fall below p.
  const uint64_t threshold = static_cast<uint64_t>(double(p) * 9007199254740992.0);
  const uint64_t base = mix64(key);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = (mix64(base ^ static_cast<uint64_t>(i)) >> 11) < threshold ? T(0) : scale;
    out[i] = in[i] * mask[i];
  }
}

template <typename T>
void dropout_backward(T* din, const T* dout, const T* mask, int64_t n) {
  KernelTimer timer(Kernel::Elementwise);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) din[i] += dout[i] * mask[i];
}

}  // namespace sessrec::nn
