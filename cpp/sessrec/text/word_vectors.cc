#include "sessrec/text/word_vectors.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "sessrec/errors.h"

namespace sessrec {
namespace {

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      current += static_cast<char>(std::tolower(u));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

}  // namespace

AveragedWordVectors average_word_vectors(const std::string& path, const TextColumn& texts) {
  // Only the words that occur in the catalogue are kept in memory.
  std::unordered_set<std::string> needed;
  for (int64_t r = 0; r < texts.size(); ++r)
    for (auto& w : words_of(texts.at(r))) needed.insert(std::move(w));

  std::ifstream in(path);
  if (!in) throw InputError("cannot open word-vector file '" + path + "'");
  AveragedWordVectors out;
  std::unordered_map<std::string, std::vector<float>> vectors;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string word;
    fields >> word;
    std::vector<float> values;
    std::string token;
    while (fields >> token) {
      char* end = nullptr;
      const float v = std::strtof(token.c_str(), &end);
      if (end == token.c_str() || *end != '\0')
        throw InputError(path + ", line " + std::to_string(line_no) + ": '" + token +
                         "' is not a number");
      // "nan", "inf" and "1e99" (beyond float) parse, and would spread into every average.
      if (!std::isfinite(v))
        throw InputError(path + ", line " + std::to_string(line_no) + ": '" + token +
                         "' is not a finite float32 number");
      values.push_back(v);
    }
    if (line_no == 1 && values.size() == 1 && word.find_first_not_of("0123456789") == std::string::npos)
      continue;  // word2vec header: "<count> <dim>"
    if (values.empty())
      throw InputError(path + ", line " + std::to_string(line_no) + ": a word without a vector");
    if (out.dim == 0) out.dim = static_cast<int64_t>(values.size());
    if (static_cast<int64_t>(values.size()) != out.dim)
      throw InputError(path + ", line " + std::to_string(line_no) + ": " +
                       std::to_string(values.size()) + " values where earlier lines have " +
                       std::to_string(out.dim));
    ++out.vocabulary;
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (needed.count(word) && !vectors.count(word)) vectors.emplace(word, std::move(values));
  }
  if (out.dim == 0) throw InputError("'" + path + "' holds no word vectors");
  const int64_t n = texts.size(), D = out.dim;
  out.features.assign(n * D, 0.0f);
  out.covered.assign(n, 0);
  for (int64_t r = 0; r < n; ++r) {
    int64_t found = 0;
    for (const auto& w : words_of(texts.at(r))) {
      auto it = vectors.find(w);
      if (it == vectors.end()) continue;
      ++found;
      for (int64_t d = 0; d < D; ++d) out.features[r * D + d] += it->second[d];
    }
    if (found > 0) {
      out.covered[r] = 1;
      for (int64_t d = 0; d < D; ++d) out.features[r * D + d] /= float(found);
    }
  }
  return out;
}

}  // namespace sessrec
