// Catalog: raw item IDs <-> dense indices 0..N-1, plus each item's text fields, numeric side
// information (e.g. price) and categorical side information (e.g. brand) as integer codes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sessrec/data/text_column.h"

namespace sessrec {

struct CategoricalColumn {
  std::vector<int32_t> codes;      // per item; -1 means missing
  std::vector<std::string> vocab;  // code -> value
};

class Catalog {
 public:
  Catalog() = default;
  // Throws InputError on an empty or duplicated ID.
  explicit Catalog(TextColumn ids);
  // The index holds views into ids_, so copies and moves rebuild it.
  Catalog(const Catalog& other);
  Catalog& operator=(const Catalog& other);
  Catalog(Catalog&& other) noexcept(false);
  Catalog& operator=(Catalog&& other) noexcept(false);

  int64_t size() const { return ids_.size(); }
  std::string_view id(int32_t index) const;
  const TextColumn& ids() const { return ids_; }

  // Throws UnknownKeyError naming the ID.
  int32_t index_of(std::string_view id) const;
  // Unknown IDs map to -1; the caller decides whether that is an error.
  std::vector<int32_t> indices_of(const TextColumn& ids) const;

  void set_text(const std::string& field, TextColumn column);
  void set_numeric(const std::string& field, std::vector<float> values);
  void set_categorical(const std::string& field, CategoricalColumn column);

  const std::map<std::string, TextColumn>& text() const { return text_; }
  const std::map<std::string, std::vector<float>>& numeric() const { return numeric_; }
  const std::map<std::string, CategoricalColumn>& categorical() const { return categorical_; }
  const TextColumn& text(const std::string& field) const;

 private:
  void build_index();

  TextColumn ids_;
  std::unordered_map<std::string_view, int32_t> index_;  // views into ids_.bytes
  std::map<std::string, TextColumn> text_;
  std::map<std::string, std::vector<float>> numeric_;
  std::map<std::string, CategoricalColumn> categorical_;
};

}  // namespace sessrec
