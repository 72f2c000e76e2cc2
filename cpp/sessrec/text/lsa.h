// Built-in item text features: TF-IDF over subword tokens followed by a randomised truncated SVD
// (Halko, Martinsson & Tropp 2011), i.e. latent semantic analysis, all in C++.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/text/tokenizer.h"

namespace sessrec {

struct LSAConfig {
  int64_t dim = 64;
  int64_t oversample = 10;
  int64_t power_iterations = 3;
  bool sublinear_tf = true;  // tf = 1 + log(count)
  bool normalize = true;     // L2-normalise the output rows
  uint64_t seed = 0;

  void validate() const;
};

// rows x dim features (row-major) for token rows over a vocabulary of `vocab_size`. Rows without
// tokens give zero vectors. dim is capped at min(rows, vocab_size).
std::vector<float> lsa_features(const TokenCSR& tokens, int64_t vocab_size, const LSAConfig& config,
                                int64_t* dim_out);

}  // namespace sessrec
