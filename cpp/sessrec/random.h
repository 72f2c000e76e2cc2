// The one source of randomness in the core: splitmix64 as a mixing function, and the
// reproducible streams built on it. Every seeded choice (dropout masks, sampled negatives,
// mined candidates, synthetic data, initialisation) derives from (seed, stream, counter) here,
// so a result depends on the seed and the step, never on the thread count.
#pragma once
#include <cstdint>
#include <random>

namespace sessrec {

// splitmix64's output function over x + golden gamma: a bijective 64-bit mix.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// splitmix64 as a counter-based stream: small, seekable, one per row or per thread.
struct CounterRandom {
  uint64_t state;
  uint64_t next() { return mix64(state += 0x9E3779B97F4A7C15ULL); }
  // Uniform in [0, n), n > 0 (modulo bias below 2^-40 for catalogue-sized n).
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  // Uniform in [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// A seeded std::mt19937_64 derived from (seed, stream, counter): the generator for
// distributions (normal initialisers, sampled negatives) that need more than CounterRandom.
inline std::mt19937_64 derived_rng(uint64_t seed, uint64_t stream, uint64_t counter) {
  return std::mt19937_64(mix64(mix64(seed) ^ mix64(stream + 0x51) ^ mix64(counter + 0xA3)));
}

}  // namespace sessrec
