#include "sessrec/text/token_masking.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/random.h"

namespace sessrec {

void MaskingConfig::validate() const {
  if (!(rate > 0 && rate <= 1)) throw InputError("masking: rate must be in (0, 1]");
  if (!(replace_mask >= 0 && replace_random >= 0 && replace_mask + replace_random <= 1))
    throw InputError("masking: replace_mask and replace_random must be >= 0 and sum to <= 1");
  if (vocab_size <= 0) throw InputError("masking: vocab_size must be positive");
  if (mask_id < 0 || mask_id >= vocab_size)
    throw InputError("masking: mask_id " + std::to_string(mask_id) +
                     " is not a token of the vocabulary of " + std::to_string(vocab_size));
  if (max_tokens <= 0) throw InputError("masking: max_tokens must be positive");
  if (static_cast<int64_t>(protected_ids.size()) >= vocab_size)
    throw InputError("masking: every token is protected");
}

MaskedTokens mask_tokens(const int64_t* offsets, const int32_t* ids, int64_t B,
                         const MaskingConfig& config, uint64_t seed, uint64_t step) {
  config.validate();
  const int64_t V = config.vocab_size;
  std::vector<uint8_t> is_protected(V, 0);
  for (int32_t id : config.protected_ids)
    if (id >= 0 && id < V) is_protected[id] = 1;
  std::vector<int32_t> ordinary;  // random replacements come from these
  for (int32_t id = 0; id < V; ++id)
    if (!is_protected[id]) ordinary.push_back(id);
  MaskedTokens out;
  out.offsets.assign(B + 1, 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = offsets[b + 1] - offsets[b];
    if (len < 0) throw InputError("masking: offsets decrease at list " + std::to_string(b));
    out.offsets[b + 1] = out.offsets[b] + std::min(len, config.max_tokens);
  }
  out.ids.resize(out.offsets[B]);
  const uint64_t key = mix64(mix64(seed ^ 0x3A5CULL) ^ mix64(step));
  for (int64_t b = 0; b < B; ++b) {
    CounterRandom rng{mix64(key ^ static_cast<uint64_t>(b))};
    for (int64_t t = 0; t < out.offsets[b + 1] - out.offsets[b]; ++t) {
      const int32_t id = ids[offsets[b] + t];
      if (id < 0 || id >= V)
        throw InputError("masking: token " + std::to_string(id) + " of list " + std::to_string(b) +
                         " is outside the vocabulary of " + std::to_string(V));
      const int64_t row = out.offsets[b] + t;
      out.ids[row] = id;
      const double select = rng.uniform(), how = rng.uniform();
      const int64_t pick = rng.below(static_cast<int64_t>(ordinary.size()));
      if (is_protected[id] || select >= config.rate) continue;
      out.rows.push_back(row);
      out.labels.push_back(id);
      if (how < config.replace_mask)
        out.ids[row] = config.mask_id;
      else if (how < config.replace_mask + config.replace_random)
        out.ids[row] = ordinary[pick];
    }
  }
  return out;
}

}  // namespace sessrec
