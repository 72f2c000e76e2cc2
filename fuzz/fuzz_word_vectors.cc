// libFuzzer target: average_word_vectors, the reader of GloVe / word2vec text files. The input
// is the file; the catalogue text is fixed. It must read, with finite averages, or throw
// InputError naming the file.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/text/word_vectors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR")
                                                                    : "/tmp") +
                                  "/sessrec-fuzz-" + std::to_string(getpid()) + "-vectors.txt";
  static const sessrec::TextColumn texts = [] {
    sessrec::TextColumn t;
    for (const char* row : {"red shoe", "the blue cup", "", "shoe 42 caf\xc3\xa9", "a b c d"})
      t.push_back(row);
    return t;
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    const sessrec::AveragedWordVectors vectors = sessrec::average_word_vectors(path, texts);
    if (vectors.dim <= 0 ||
        static_cast<int64_t>(vectors.features.size()) != texts.size() * vectors.dim)
      std::abort();
    for (float v : vectors.features)
      if (!std::isfinite(v)) std::abort();
  } catch (const sessrec::InputError& e) {
    if (std::string(e.what()).find(path) == std::string::npos) std::abort();
  }
  return 0;
}
