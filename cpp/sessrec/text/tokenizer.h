// Subword tokenizer for catalogue text: a sentencepiece model (unigram or BPE) trained in memory
// on the items' text, and parallel encoding of the whole catalogue into a CSR token array.
// The model travels with sessrec models as its serialized protobuf bytes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sessrec/data/text_column.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace sessrec {

struct TokenizerConfig {
  int64_t vocab_size = 8000;        // an upper bound: small corpora get fewer pieces
  std::string model_type = "unigram";  // unigram | bpe
  double character_coverage = 0.9995;
  bool lowercase = true;            // NFKC + case folding
  std::vector<std::string> special_tokens;  // user-defined symbols, e.g. "[CLS]", "[BUY]"
  uint32_t seed = 0;
  int64_t num_threads = 1;          // 1 keeps training reproducible

  void validate() const;
};

// Token ids of row r: ids[offsets[r] .. offsets[r+1]).
struct TokenCSR {
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> ids;
  int64_t rows() const { return static_cast<int64_t>(offsets.size()) - 1; }
};

class Tokenizer {
 public:
  // Trains on the non-empty rows of `texts`. Throws InputError when there is no text.
  static Tokenizer train(const TextColumn& texts, const TokenizerConfig& config);
  // Restores a tokenizer from serialized() bytes; throws InputError on bad bytes, including a
  // normalizer that is not a built-in rule with this libsentencepiece's character map.
  static Tokenizer load(const std::string& serialized);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  const std::string& serialized() const { return serialized_; }
  int64_t vocab_size() const;
  int32_t piece_id(const std::string& piece) const;  // unknown pieces map to the <unk> id
  std::string piece(int32_t id) const;
  std::vector<int32_t> encode(std::string_view text) const;
  // Every row of `texts`, in parallel (rows are independent; the output is thread-count free).
  TokenCSR encode_all(const TextColumn& texts) const;

 private:
  Tokenizer();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::string serialized_;
};

}  // namespace sessrec
