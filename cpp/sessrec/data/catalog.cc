#include "sessrec/data/catalog.h"

#include <limits>

#include "sessrec/errors.h"

namespace sessrec {

Catalog::Catalog(TextColumn ids) : ids_(std::move(ids)) { build_index(); }

Catalog::Catalog(const Catalog& other)
    : ids_(other.ids_), text_(other.text_), numeric_(other.numeric_),
      categorical_(other.categorical_) {
  build_index();
}

Catalog& Catalog::operator=(const Catalog& other) {
  if (this != &other) {
    ids_ = other.ids_;
    text_ = other.text_;
    numeric_ = other.numeric_;
    categorical_ = other.categorical_;
    build_index();
  }
  return *this;
}

Catalog::Catalog(Catalog&& other) noexcept(false)
    : ids_(std::move(other.ids_)), text_(std::move(other.text_)),
      numeric_(std::move(other.numeric_)), categorical_(std::move(other.categorical_)) {
  build_index();
  other.index_.clear();
}

Catalog& Catalog::operator=(Catalog&& other) noexcept(false) {
  if (this != &other) {
    ids_ = std::move(other.ids_);
    text_ = std::move(other.text_);
    numeric_ = std::move(other.numeric_);
    categorical_ = std::move(other.categorical_);
    build_index();
    other.index_.clear();
  }
  return *this;
}

void Catalog::build_index() {
  index_.clear();
  if (ids_.size() > std::numeric_limits<int32_t>::max())
    throw InputError("Catalog: more than 2^31-1 items");
  index_.reserve(ids_.size());
  for (int64_t i = 0; i < ids_.size(); ++i) {
    std::string_view id = ids_.at(i);
    if (id.empty()) throw InputError("Catalog: item " + std::to_string(i) + " has an empty ID");
    if (!index_.emplace(id, static_cast<int32_t>(i)).second)
      throw InputError("Catalog: item ID '" + std::string(id) + "' appears twice (rows " +
                       std::to_string(index_.at(id)) + " and " + std::to_string(i) + ")");
  }
}

std::string_view Catalog::id(int32_t index) const {
  if (index < 0 || index >= size())
    throw UnknownKeyError("Catalog: item index " + std::to_string(index) + " outside 0.." +
                          std::to_string(size() - 1));
  return ids_.at(index);
}

int32_t Catalog::index_of(std::string_view id) const {
  auto it = index_.find(id);
  if (it == index_.end())
    throw UnknownKeyError("unknown item ID '" + std::string(id) + "' (not in the catalogue of " +
                          std::to_string(size()) + " items)");
  return it->second;
}

std::vector<int32_t> Catalog::indices_of(const TextColumn& ids) const {
  std::vector<int32_t> out(ids.size());
  for (int64_t r = 0; r < ids.size(); ++r) {
    auto it = index_.find(ids.at(r));
    out[r] = it == index_.end() ? -1 : it->second;
  }
  return out;
}

void Catalog::set_text(const std::string& field, TextColumn column) {
  if (column.size() != size())
    throw InputError("Catalog: text field '" + field + "' has " + std::to_string(column.size()) +
                     " rows, the catalogue has " + std::to_string(size()) + " items");
  text_[field] = std::move(column);
}

void Catalog::set_numeric(const std::string& field, std::vector<float> values) {
  if (static_cast<int64_t>(values.size()) != size())
    throw InputError("Catalog: numeric field '" + field + "' has " +
                     std::to_string(values.size()) + " rows, the catalogue has " +
                     std::to_string(size()) + " items");
  numeric_[field] = std::move(values);
}

void Catalog::set_categorical(const std::string& field, CategoricalColumn column) {
  if (static_cast<int64_t>(column.codes.size()) != size())
    throw InputError("Catalog: categorical field '" + field + "' has " +
                     std::to_string(column.codes.size()) + " rows, the catalogue has " +
                     std::to_string(size()) + " items");
  const int64_t vocab = column.vocab.size();
  for (size_t i = 0; i < column.codes.size(); ++i)
    if (column.codes[i] < -1 || column.codes[i] >= vocab)
      throw InputError("Catalog: categorical field '" + field + "' row " + std::to_string(i) +
                       " has code " + std::to_string(column.codes[i]) + " outside -1.." +
                       std::to_string(vocab - 1));
  categorical_[field] = std::move(column);
}

const TextColumn& Catalog::text(const std::string& field) const {
  auto it = text_.find(field);
  if (it == text_.end()) throw UnknownKeyError("Catalog: no text field '" + field + "'");
  return it->second;
}

}  // namespace sessrec
