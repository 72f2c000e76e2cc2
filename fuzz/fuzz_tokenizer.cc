// libFuzzer target: Tokenizer::load, which restores a sentencepiece model from the bytes stored
// in a model file. Bad bytes must throw InputError; a model that loads must encode text into
// ids inside its vocabulary.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const sessrec::Tokenizer tokenizer = sessrec::Tokenizer::load(bytes);
    const int64_t vocab = tokenizer.vocab_size();
    for (int32_t id : tokenizer.encode("red shoes for the blue caf\xc3\xa9 42"))
      if (id < 0 || id >= vocab) std::abort();
  } catch (const sessrec::InputError&) {
  }
  return 0;
}
