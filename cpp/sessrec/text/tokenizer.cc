#include "sessrec/text/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <unordered_map>

#include "sessrec/errors.h"

namespace sentencepiece::logging {
void SetMinLogLevel(int level);  // exported by libsentencepiece, not declared in its headers
}

namespace sessrec {
namespace {

// Feeds catalogue rows to the trainer without writing a corpus file.
class ColumnIterator : public sentencepiece::SentenceIterator {
 public:
  explicit ColumnIterator(const TextColumn& texts) : texts_(texts) { skip_empty(); }
  bool done() const override { return row_ >= texts_.size(); }
  void Next() override {
    ++row_;
    skip_empty();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void skip_empty() {
    while (row_ < texts_.size() && texts_.at(row_).find_first_not_of(" \t\r\n") == std::string_view::npos)
      ++row_;
    if (row_ < texts_.size()) current_.assign(texts_.at(row_));
  }
  const TextColumn& texts_;
  int64_t row_ = 0;
  std::string current_;
};

// Just enough of the protobuf wire format to find, in a serialized ModelProto, the normalizer
// (field 3) and denormalizer (field 5) specs and in them the rule name (field 1) and the
// precompiled character map (field 2). Repeated message fields merge, so the last value wins.
bool read_varint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    value |= uint64_t{byte & 0x7Fu} << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// Calls visit(field, payload) for each length-delimited field; false on malformed input.
template <class Visit>
bool visit_fields(std::string_view in, Visit&& visit) {
  while (!in.empty()) {
    uint64_t key = 0, value = 0;
    if (!read_varint(in, key)) return false;
    switch (key & 7) {
      case 0:
        if (!read_varint(in, value)) return false;
        break;
      case 1:
        if (in.size() < 8) return false;
        in.remove_prefix(8);
        break;
      case 5:
        if (in.size() < 4) return false;
        in.remove_prefix(4);
        break;
      case 2:
        if (!read_varint(in, value) || value > in.size()) return false;
        visit(key >> 3, in.substr(0, value));
        in.remove_prefix(value);
        break;
      default:
        return false;  // groups and unknown wire types: sessrec never writes them
    }
  }
  return true;
}

struct NormalizerParts {
  std::string name, charsmap;
};

// (normalizer, denormalizer) of a serialized model; throws InputError when it is malformed.
std::pair<NormalizerParts, NormalizerParts> normalizer_parts(const std::string& serialized) {
  NormalizerParts normalizer, denormalizer;
  bool specs_ok = true;
  const bool ok = visit_fields(serialized, [&](uint64_t field, std::string_view payload) {
    if (field != 3 && field != 5) return;
    NormalizerParts& spec = field == 3 ? normalizer : denormalizer;
    specs_ok = visit_fields(payload, [&](uint64_t inner, std::string_view value) {
                 if (inner == 1) spec.name.assign(value);
                 if (inner == 2) spec.charsmap.assign(value);
               }) && specs_ok;
  });
  if (!ok || !specs_ok) throw InputError("not a sentencepiece model (corrupt tokenizer bytes)");
  return {normalizer, denormalizer};
}

// The character map libsentencepiece builds for a built-in rule, taken from a model trained
// once per rule on a few words.
const std::string& builtin_charsmap(const std::string& rule) {
  static std::mutex mutex;
  static std::map<std::string, std::string> maps;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = maps.find(rule);
  if (found != maps.end()) return found->second;
  sentencepiece::logging::SetMinLogLevel(2);
  TextColumn words;
  for (const char* w : {"ab ba", "a b", "ba ab", "aa bb"}) words.push_back(w);
  ColumnIterator rows(words);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(
      {{"vocab_size", "16"}, {"hard_vocab_limit", "false"}, {"normalization_rule_name", rule},
       {"pad_id", "0"}, {"unk_id", "1"}, {"bos_id", "-1"}, {"eos_id", "-1"}},
      &rows, &model);
  if (!status.ok()) throw InputError("tokenizer: cannot build rule '" + rule + "': " + status.ToString());
  return maps[rule] = normalizer_parts(model).first.charsmap;
}

}  // namespace

void TokenizerConfig::validate() const {
  if (vocab_size < 8) throw InputError("tokenizer: vocab_size must be >= 8");
  if (model_type != "unigram" && model_type != "bpe")
    throw InputError("tokenizer: model_type must be 'unigram' or 'bpe', got '" + model_type + "'");
  if (!(character_coverage > 0 && character_coverage <= 1))
    throw InputError("tokenizer: character_coverage must be in (0, 1]");
  if (num_threads < 1) throw InputError("tokenizer: num_threads must be >= 1");
  for (const auto& t : special_tokens)
    if (t.empty() || t.find(',') != std::string::npos || t.find(' ') != std::string::npos)
      throw InputError("tokenizer: special token '" + t + "' must be non-empty, without spaces or commas");
}

Tokenizer::Tokenizer() : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::train(const TextColumn& texts, const TokenizerConfig& config) {
  config.validate();
  ColumnIterator probe(texts);
  if (probe.done()) throw InputError("tokenizer: the catalogue has no text to train on");
  sentencepiece::logging::SetMinLogLevel(2);  // the trainer is chatty on stderr
  sentencepiece::SetRandomGeneratorSeed(config.seed);
  std::string symbols;
  for (const auto& t : config.special_tokens) symbols += (symbols.empty() ? "" : ",") + t;
  std::unordered_map<std::string, std::string> args{
      {"vocab_size", std::to_string(config.vocab_size)},
      {"model_type", config.model_type},
      {"character_coverage", std::to_string(config.character_coverage)},
      {"hard_vocab_limit", "false"},
      {"num_threads", std::to_string(config.num_threads)},
      {"normalization_rule_name", config.lowercase ? "nmt_nfkc_cf" : "nmt_nfkc"},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"input_sentence_size", "5000000"},
      {"shuffle_input_sentence", "true"},
  };
  if (!symbols.empty()) args["user_defined_symbols"] = symbols;
  Tokenizer t;
  ColumnIterator rows(texts);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &rows, &t.serialized_);
  if (!status.ok()) throw InputError("tokenizer training failed: " + status.ToString());
  const auto loaded = t.processor_->LoadFromSerializedProto(t.serialized_);
  if (!loaded.ok()) throw InputError("tokenizer: cannot load the trained model: " + loaded.ToString());
  return t;
}

Tokenizer Tokenizer::load(const std::string& serialized) {
  // libsentencepiece trusts the precompiled character map it is given: a damaged one made it
  // read wild addresses while encoding (found by fuzz/fuzz_tokenizer.cc). sessrec's tokenizers
  // use a built-in rule, so the map must be the one this library builds for that rule.
  static const std::set<std::string> rules{"nmt_nfkc", "nmt_nfkc_cf", "nfkc", "nfkc_cf",
                                           "identity"};
  const auto [normalizer, denormalizer] = normalizer_parts(serialized);
  if (!rules.count(normalizer.name))
    throw InputError("tokenizer bytes name the normalization rule '" + normalizer.name.substr(0, 40) +
                     "'; sessrec reads only built-in rules (corrupt tokenizer bytes?)");
  if (normalizer.charsmap != builtin_charsmap(normalizer.name) || !denormalizer.charsmap.empty())
    throw InputError("tokenizer bytes: the character map of rule '" + normalizer.name +
                     "' is not the one this libsentencepiece builds for it (corrupt tokenizer "
                     "bytes, or a model written with another sentencepiece version)");
  Tokenizer t;
  t.serialized_ = serialized;
  const auto status = t.processor_->LoadFromSerializedProto(serialized);
  if (!status.ok())
    throw InputError("not a sentencepiece model (corrupt tokenizer bytes): " + status.ToString());
  return t;
}

int64_t Tokenizer::vocab_size() const { return processor_->GetPieceSize(); }

int32_t Tokenizer::piece_id(const std::string& piece) const { return processor_->PieceToId(piece); }

std::string Tokenizer::piece(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw InputError("tokenizer: id " + std::to_string(id) + " outside 0.." +
                     std::to_string(vocab_size() - 1));
  return processor_->IdToPiece(id);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = processor_->Encode(text, &ids);
  if (!status.ok()) throw InputError("tokenizer: cannot encode text: " + status.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

TokenCSR Tokenizer::encode_all(const TextColumn& texts) const {
  const int64_t n = texts.size();
  std::vector<std::vector<int>> rows(n);
  bool failed = false;
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t r = 0; r < n; ++r)
    if (!processor_->Encode(texts.at(r), &rows[r]).ok()) failed = true;
  if (failed) throw InputError("tokenizer: a catalogue row could not be encoded");
  TokenCSR out;
  out.offsets.resize(n + 1, 0);
  for (int64_t r = 0; r < n; ++r) out.offsets[r + 1] = out.offsets[r] + rows[r].size();
  out.ids.resize(out.offsets[n]);
  for (int64_t r = 0; r < n; ++r)
    std::copy(rows[r].begin(), rows[r].end(), out.ids.begin() + out.offsets[r]);
  return out;
}

}  // namespace sessrec
