// Item features as the average of pre-trained word vectors (GloVe or word2vec text format) over
// the words of each item's text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/data/text_column.h"

namespace sessrec {

struct AveragedWordVectors {
  int64_t dim = 0;
  std::vector<float> features;     // rows x dim
  std::vector<uint8_t> covered;    // 1 when at least one word of the row had a vector
  int64_t vocabulary = 0;          // words read from the file
};

// Words are lowercased runs of letters and digits. A word2vec header line ("count dim") is
// skipped. Throws InputError naming the file and line for a row of the wrong width or a value
// that is not a number, and for a file without vectors.
AveragedWordVectors average_word_vectors(const std::string& path, const TextColumn& texts);

}  // namespace sessrec
