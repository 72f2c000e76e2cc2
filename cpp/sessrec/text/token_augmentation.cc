#include "sessrec/text/token_augmentation.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"

namespace sessrec {

namespace {
constexpr size_t kPairTokens = 32;
}  // namespace

TokenNeighbours token_cooccurrence_neighbours(const int64_t* offsets, const int32_t* tokens,
                                              int64_t rows, int64_t vocab_size, int64_t k) {
  if (vocab_size <= 0 || k <= 0)
    throw InputError("token neighbours: vocab_size and k must be positive");
  std::vector<int64_t> count(vocab_size, 0);
  std::vector<uint64_t> pairs;  // (t << 32 | u) for every item and ordered pair t != u
  std::vector<int32_t> unique;
  for (int64_t r = 0; r < rows; ++r) {
    unique.assign(tokens + offsets[r], tokens + offsets[r + 1]);
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    for (int32_t t : unique) {
      if (t < 0 || t >= vocab_size)
        throw InputError("token neighbours: token " + std::to_string(t) +
                         " outside the vocabulary");
      ++count[t];
    }
    // Pairs from at most kPairTokens distinct tokens per item: the pair list grows with the
    // square of a text's length, and long texts would add many weak pairs.
    const size_t n = std::min(unique.size(), kPairTokens);
    for (size_t a = 0; a < n; ++a)
      for (size_t b = 0; b < n; ++b)
        if (a != b) pairs.push_back(uint64_t(uint32_t(unique[a])) << 32 | uint32_t(unique[b]));
  }
  std::sort(pairs.begin(), pairs.end());
  TokenNeighbours out;
  out.offsets.assign(vocab_size + 1, 0);
  std::vector<std::pair<double, int32_t>> ranked;
  size_t i = 0;
  for (int32_t t = 0; t < vocab_size; ++t) {
    ranked.clear();
    while (i < pairs.size() && int32_t(pairs[i] >> 32) == t) {
      const uint64_t key = pairs[i];
      size_t j = i;
      while (j < pairs.size() && pairs[j] == key) ++j;
      const int32_t u = int32_t(key & 0xFFFFFFFFULL);
      ranked.emplace_back(-double(j - i) / std::sqrt(double(count[t]) * double(count[u])), u);
      i = j;
    }
    const size_t keep = std::min<size_t>(ranked.size(), size_t(k));
    std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end());
    for (size_t n = 0; n < keep; ++n) out.tokens.push_back(ranked[n].second);
    out.offsets[t + 1] = static_cast<int64_t>(out.tokens.size());
  }
  return out;
}

TokenOp token_op_from_name(const std::string& name) {
  if (name == "swap") return TokenOp::kSwap;
  if (name == "delete") return TokenOp::kDelete;
  if (name == "substitute") return TokenOp::kSubstitute;
  if (name == "insert") return TokenOp::kInsert;
  throw InputError("text augmentation must be swap, delete, substitute or insert, got '" + name +
                   "'");
}

void augment_tokens(std::vector<int32_t>& out, const int32_t* in, int64_t n, TokenOp op,
                    double rate, const TokenNeighbours& neighbours, CounterRandom& rng) {
  if (n <= 0) return;
  const int64_t edits = std::max<int64_t>(1, std::llround(rate * double(n)));
  std::vector<int32_t> t(in, in + n);
  auto neighbour_of = [&](int32_t token, int32_t& result) {
    if (token < 0 || token >= neighbours.vocab_size()) return false;
    const int64_t a = neighbours.offsets[token], b = neighbours.offsets[token + 1];
    if (a == b) return false;
    result = neighbours.tokens[a + rng.below(b - a)];
    return true;
  };
  switch (op) {
    case TokenOp::kSwap:
      for (int64_t e = 0; e < edits && t.size() > 1; ++e) {
        const int64_t p = rng.below(int64_t(t.size()) - 1);
        std::swap(t[p], t[p + 1]);
      }
      break;
    case TokenOp::kDelete:
      for (int64_t e = 0; e < edits && t.size() > 1; ++e) t.erase(t.begin() + rng.below(t.size()));
      break;
    case TokenOp::kSubstitute:
      for (int64_t e = 0; e < edits; ++e) {
        const int64_t p = rng.below(t.size());
        int32_t u;
        if (neighbour_of(t[p], u)) t[p] = u;
      }
      break;
    case TokenOp::kInsert:
      for (int64_t e = 0; e < edits; ++e) {
        const int64_t p = rng.below(t.size());
        int32_t u;
        if (neighbour_of(t[p], u)) t.insert(t.begin() + p + 1, u);
      }
      break;
  }
  out.insert(out.end(), t.begin(), t.end());
}

}  // namespace sessrec
