// Token-level text augmentations that keep an item's meaning (MACL, Sec. 4.2.1: "we carefully
// select augmented techniques that can preserve an item's original semantics to build the
// augmented pool"): on an item's sentencepiece tokens, swap two neighbouring tokens, delete
// tokens, substitute tokens by similar ones, or insert a similar token next to a token.
//
// "Similar" comes from the catalogue's token co-occurrence (the paper uses BERT similarity; there
// is no language model here): token u is a neighbour of token t when the two appear in the texts
// of the same items more often than their frequencies suggest, ranked by the cosine of their
// item-incidence vectors, count(t, u) / sqrt(count(t) count(u)), ties by token id. Pairs are
// counted over at most 32 distinct tokens of each item (the lowest ids; the list is quadratic
// in a text's length).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/random.h"

namespace sessrec {

// Up to k neighbours per token: those of token t are tokens[offsets[t] .. offsets[t + 1]).
struct TokenNeighbours {
  std::vector<int64_t> offsets;
  std::vector<int32_t> tokens;
  int64_t vocab_size() const { return static_cast<int64_t>(offsets.size()) - 1; }
};

// From item token lists in CSR form (item r: tokens[offsets[r] .. offsets[r + 1])).
TokenNeighbours token_cooccurrence_neighbours(const int64_t* offsets, const int32_t* tokens,
                                              int64_t rows, int64_t vocab_size, int64_t k);

enum class TokenOp { kSwap, kDelete, kSubstitute, kInsert };
TokenOp token_op_from_name(const std::string& name);  // swap | delete | substitute | insert

// Appends the augmented copy of in[0..n) to out. Each op edits max(1, round(rate * n)) places;
// delete keeps at least one token; substitute and insert skip tokens without neighbours; a list
// of one token is not swapped. n = 0 appends nothing.
void augment_tokens(std::vector<int32_t>& out, const int32_t* in, int64_t n, TokenOp op,
                    double rate, const TokenNeighbours& neighbours, CounterRandom& rng);

}  // namespace sessrec
