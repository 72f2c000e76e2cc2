#include "sessrec/retrieval/quantised_items.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "sessrec/errors.h"
#include "sessrec/memory_budget.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace sessrec {
namespace {

constexpr int64_t R = QuantisedItemTable::kRowsPerBlock;

// One block's R rows as GCC/Clang vector types: the compiler's loop vectoriser would unroll the
// 16-lane loop completely before vectorising it (and the build disables SLP vectorisation), so
// the lanes are written as vectors; without AVX-512 they split into narrower registers.
typedef float Floats __attribute__((vector_size(4 * R)));
typedef int8_t Bytes __attribute__((vector_size(R)));
typedef int16_t Shorts __attribute__((vector_size(2 * R)));
typedef int32_t Ints __attribute__((vector_size(4 * R)));
typedef uint16_t Halves __attribute__((vector_size(2 * R)));
typedef uint32_t Words __attribute__((vector_size(4 * R)));

// Round to nearest even on the upper 16 bits (finite inputs only).
uint16_t to_bfloat16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

using Entry = std::pair<float, int32_t>;  // (score, item)

// Higher score first, then smaller index: the order of every top-k in sessrec.
bool better(const Entry& a, const Entry& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// Keeps the `size` best entries; front() is the worst of them (a heap under `better`).
void offer(std::vector<Entry>& heap, int64_t size, Entry e) {
  if (static_cast<int64_t>(heap.size()) < size) {
    heap.push_back(e);
    std::push_heap(heap.begin(), heap.end(), better);
  } else if (better(e, heap.front())) {
    std::pop_heap(heap.begin(), heap.end(), better);
    heap.back() = e;
    std::push_heap(heap.begin(), heap.end(), better);
  }
}

}  // namespace

ItemQuantisation parse_item_quantisation(const std::string& name) {
  if (name == "int8") return ItemQuantisation::Int8;
  if (name == "bf16") return ItemQuantisation::BFloat16;
  throw InputError("quantisation must be 'int8' or 'bf16', got '" + name + "'");
}

QuantisedItemTable::QuantisedItemTable(const float* items, int64_t num_items, int64_t dim,
                                       ItemQuantisation kind)
    : num_items_(num_items), dim_(dim), kind_(kind) {
  if (num_items <= 0 || dim <= 0)
    throw InputError("QuantisedItemTable: the item table must be [num_items > 0, dim > 0], got [" +
                     std::to_string(num_items) + ", " + std::to_string(dim) + "]");
  for (int64_t i = 0; i < num_items * dim; ++i)
    if (!std::isfinite(items[i]))
      throw InputError("QuantisedItemTable: item " + std::to_string(i / dim) +
                       " has a NaN or infinite value");
  const int64_t blocks = (num_items + R - 1) / R;
  const int64_t code_bytes = kind == ItemQuantisation::Int8 ? 1 : 2;
  require_within_budget(
      bytes_of({blocks * R, dim, code_bytes}),
      "a quantised item table of " + std::to_string(num_items) + " x " + std::to_string(dim),
      "quantise a smaller table");
  if (kind == ItemQuantisation::Int8) {
    int8_codes_.assign(blocks * R * dim, 0);
    scales_.assign(blocks * R, 0.0f);
  } else {
    bf16_codes_.assign(blocks * R * dim, 0);
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < num_items; ++i) {
    const float* x = items + i * dim;
    const int64_t b = i / R, j = i % R;
    if (kind == ItemQuantisation::Int8) {
      float largest = 0.0f;
      for (int64_t d = 0; d < dim; ++d) largest = std::max(largest, std::fabs(x[d]));
      const float scale = largest / 127.0f;
      scales_[i] = scale;
      if (scale == 0.0f) continue;
      for (int64_t d = 0; d < dim; ++d)
        int8_codes_[(b * dim + d) * R + j] =
            static_cast<int8_t>(std::clamp(std::nearbyint(x[d] / scale), -127.0f, 127.0f));
    } else {
      for (int64_t d = 0; d < dim; ++d) bf16_codes_[(b * dim + d) * R + j] = to_bfloat16(x[d]);
    }
  }
}

int64_t QuantisedItemTable::bytes() const {
  return static_cast<int64_t>(int8_codes_.size() + 4 * scales_.size() + 2 * bf16_codes_.size());
}

// One row of int8 codes (R lanes) as floats.
inline Floats widen_int8(const int8_t* codes) {
#if defined(__AVX512F__)
  // One sign extension to 16 int32 lanes: GCC's generic conversion takes eight shuffles.
  const __m512 f = _mm512_cvtepi32_ps(
      _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes))));
  Floats out;
  std::memcpy(&out, &f, sizeof out);
  return out;
#else
  Bytes c;
  std::memcpy(&c, codes, sizeof c);
  // Widened in two steps: GCC 12 lowers int8 -> int32 in one step to scalar code.
  return __builtin_convertvector(__builtin_convertvector(__builtin_convertvector(c, Shorts), Ints),
                                 Floats);
#endif
}

inline Floats widen_bfloat16(const uint16_t* codes) {
  Halves c;
  std::memcpy(&c, codes, sizeof c);
  const Words bits = __builtin_convertvector(c, Words) << 16;
  return (Floats)bits;  // a same-size vector cast reinterprets the bits
}

void QuantisedItemTable::score_block(int64_t b, const float* queries, int64_t count,
                                     float* out) const {
  // Two running sums (even and odd dims): one chain of dependent FMAs would wait on latency.
  for (int64_t q = 0; q < count; ++q) {
    const float* x = queries + q * dim_;
    Floats even = {}, odd = {};
    int64_t d = 0;
    if (kind_ == ItemQuantisation::Int8) {
      const int8_t* codes = int8_codes_.data() + b * dim_ * R;
      for (; d + 1 < dim_; d += 2) {
        even += x[d] * widen_int8(codes + d * R);
        odd += x[d + 1] * widen_int8(codes + (d + 1) * R);
      }
      if (d < dim_) even += x[d] * widen_int8(codes + d * R);
      Floats scale;
      std::memcpy(&scale, scales_.data() + b * R, sizeof scale);
      even = (even + odd) * scale;
    } else {
      const uint16_t* codes = bf16_codes_.data() + b * dim_ * R;
      for (; d + 1 < dim_; d += 2) {
        even += x[d] * widen_bfloat16(codes + d * R);
        odd += x[d + 1] * widen_bfloat16(codes + (d + 1) * R);
      }
      if (d < dim_) even += x[d] * widen_bfloat16(codes + d * R);
      even += odd;
    }
    std::memcpy(out + q * R, &even, sizeof even);
  }
}

void QuantisedItemTable::approximate_scores(const float* query, float* out) const {
  const int64_t blocks = (num_items_ + R - 1) / R;
#pragma omp parallel
  {
    float block_scores[R];
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      score_block(b, query, 1, block_scores);
      const int64_t rows = std::min(R, num_items_ - b * R);
      std::copy_n(block_scores, rows, out + b * R);
    }
  }
}

void QuantisedItemTable::top_candidates(const float* queries, int64_t count, int64_t pool,
                                        int32_t* out) const {
  if (pool <= 0) throw InputError("top_candidates: pool must be positive");
  const int64_t blocks = (num_items_ + R - 1) / R;
  // Queries per pass over the table: each block is read once from memory for all of them.
  const int64_t tile = 8;
  const int threads = omp_get_max_threads();
  std::vector<std::vector<Entry>> heaps(static_cast<size_t>(threads) * tile);
  std::vector<Entry> merged;
  for (int64_t first = 0; first < count; first += tile) {
    const int64_t n = std::min(tile, count - first);
    const float* q = queries + first * dim_;
    for (auto& h : heaps) h.clear();
#pragma omp parallel num_threads(threads)
    {
      std::vector<Entry>* mine = heaps.data() + static_cast<size_t>(omp_get_thread_num()) * tile;
      float scores[tile * R];
      // The worst kept score once a heap is full: most items fall below it and are skipped at
      // one comparison. A thread meets its items in increasing index order, so an item equal
      // to it cannot win the tie either.
      float floor_score[tile];
      std::fill_n(floor_score, tile, -std::numeric_limits<float>::infinity());
#pragma omp for schedule(static)
      for (int64_t b = 0; b < blocks; ++b) {
        score_block(b, q, n, scores);
        const int64_t rows = std::min(R, num_items_ - b * R);
        for (int64_t s = 0; s < n; ++s)
          for (int64_t j = 0; j < rows; ++j) {
            const float v = scores[s * R + j];
            const bool full = static_cast<int64_t>(mine[s].size()) == pool;
            if (full ? !(v > floor_score[s]) : std::isnan(v)) continue;
            offer(mine[s], pool, {v, static_cast<int32_t>(b * R + j)});
            if (static_cast<int64_t>(mine[s].size()) == pool)
              floor_score[s] = mine[s].front().first;
          }
      }
    }
    for (int64_t s = 0; s < n; ++s) {
      merged.clear();
      for (int t = 0; t < threads; ++t)
        merged.insert(merged.end(), heaps[t * tile + s].begin(), heaps[t * tile + s].end());
      const int64_t keep = std::min<int64_t>(pool, merged.size());
      std::partial_sort(merged.begin(), merged.begin() + keep, merged.end(), better);
      int32_t* row = out + (first + s) * pool;
      for (int64_t j = 0; j < pool; ++j) row[j] = j < keep ? merged[j].second : -1;
    }
  }
}

void exact_rescore_top_k(const float* queries, int64_t count, const float* items, int64_t num_items,
                         int64_t dim, const int32_t* candidates, int64_t width, int64_t k,
                         const HistoryBatch* exclude, int32_t* items_out, float* scores_out) {
  if (k <= 0) throw InputError("exact_rescore_top_k: k must be positive");
  if (exclude != nullptr && exclude->size != count)
    throw InputError("exact_rescore_top_k: histories and queries differ in number");
  for (int64_t i = 0; i < count * width; ++i)
    if (candidates[i] < -1 || candidates[i] >= num_items)
      throw InputError("exact_rescore_top_k: candidate " + std::to_string(candidates[i]) +
                       " is outside the catalogue of " + std::to_string(num_items) + " items");
#pragma omp parallel
  {
    std::vector<int32_t> pool, banned;
    std::vector<Entry> scored;
#pragma omp for schedule(dynamic, 4)
    for (int64_t r = 0; r < count; ++r) {
      pool.assign(candidates + r * width, candidates + (r + 1) * width);
      std::sort(pool.begin(), pool.end());
      pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
      banned.clear();
      if (exclude != nullptr) {
        banned.assign(exclude->history(r), exclude->history(r) + exclude->length(r));
        std::sort(banned.begin(), banned.end());
      }
      const float* x = queries + r * dim;
      scored.clear();
      for (int32_t c : pool) {
        if (c < 0 || std::binary_search(banned.begin(), banned.end(), c)) continue;
        const float* e = items + static_cast<int64_t>(c) * dim;
        float dot = 0.0f;
        for (int64_t d = 0; d < dim; ++d) dot += x[d] * e[d];
        if (!std::isnan(dot)) scored.emplace_back(dot, c);
      }
      const int64_t keep = std::min<int64_t>(k, scored.size());
      std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(), better);
      for (int64_t j = 0; j < k; ++j) {
        items_out[r * k + j] = j < keep ? scored[j].second : -1;
        scores_out[r * k + j] =
            j < keep ? scored[j].first : -std::numeric_limits<float>::infinity();
      }
    }
  }
}

}  // namespace sessrec
