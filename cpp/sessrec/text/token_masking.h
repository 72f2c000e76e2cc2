// Token masking for masked-token prediction (BERT's MLM): each token of each list (within its
// first max_tokens, the part an encoder sees) is selected with probability `rate`, except the
// protected IDs ([CLS], [SEP], padding...). A selected token becomes the mask ID with probability
// replace_mask, a uniformly random non-protected token with probability replace_random, and stays
// itself otherwise (BERT: 0.8 / 0.1 / 0.1). Selection and replacement are keyed by (seed, step,
// list, position): reproducible and independent of threads.
#pragma once
#include <cstdint>
#include <vector>

namespace sessrec {

struct MaskingConfig {
  float rate = 0.15f;
  float replace_mask = 0.8f;
  float replace_random = 0.1f;
  int32_t mask_id = -1;  // required (a user-defined symbol of the tokenizer)
  int64_t vocab_size = 0;
  int64_t max_tokens = 64;             // only the first max_tokens of a list are considered
  std::vector<int32_t> protected_ids;  // never selected, never drawn as a random replacement

  void validate() const;
};

struct MaskedTokens {
  std::vector<int64_t> offsets;  // [B + 1] of the truncated lists
  std::vector<int32_t> ids;      // the lists after replacement (truncated to max_tokens)
  std::vector<int64_t> rows;     // packed row (offsets[b] + t) of each selected token
  std::vector<int32_t> labels;   // its original ID
};

// offsets [B + 1] into ids.
MaskedTokens mask_tokens(const int64_t* offsets, const int32_t* ids, int64_t B,
                         const MaskingConfig& config, uint64_t seed, uint64_t step);

}  // namespace sessrec
