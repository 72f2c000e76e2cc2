// libFuzzer target: the session arrays of a cached dataset or model file (SessionStore::validate
// and what is built on a validated store: examples, subsets, tails, counts), and the catalogue
// built from raw IDs. The input is read as: 1 byte of item count, 1 byte of session count, then
// int64 offsets, then int32 items; the rest, split at '\n', becomes catalogue IDs. Invalid
// arrays must throw InputError; valid ones must never be read out of bounds.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "sessrec/data/catalog.h"
#include "sessrec/data/examples.h"
#include "sessrec/data/session_store.h"
#include "sessrec/errors.h"

namespace {

template <typename T>
bool take(const uint8_t*& data, size_t& size, T& out) {
  if (size < sizeof(T)) return false;
  std::memcpy(&out, data, sizeof(T));
  data += sizeof(T);
  size -= sizeof(T);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint8_t num_items = 0, num_sessions = 0;
  if (!take(data, size, num_items) || !take(data, size, num_sessions)) return 0;
  sessrec::SessionStore store;
  store.offsets.clear();
  for (int s = 0; s <= num_sessions; ++s) {
    int64_t offset = 0;
    if (!take(data, size, offset)) break;
    store.offsets.push_back(offset);
  }
  int32_t item = 0;
  for (int e = 0; e < 64 && take(data, size, item); ++e) store.items.push_back(item);
  try {
    store.validate(num_items);
    for (auto positions : {sessrec::TargetPositions::All, sessrec::TargetPositions::Last})
      for (int64_t history : {0, 1, 3}) {
        const sessrec::ExampleSet examples = sessrec::make_examples(store, positions, history);
        for (size_t i = 0; i < examples.end.size(); ++i)
          if (examples.begin[i] < 0 || examples.begin[i] > examples.end[i] ||
              examples.end[i] >= store.num_events())
            std::abort();
      }
    std::vector<int64_t> order;
    for (int64_t s = store.num_sessions() - 1; s >= 0; s -= 2) order.push_back(s);
    store.subset(order).validate(num_items);
    store.drop_tail(1).validate(num_items);
    store.item_counts(num_items);
  } catch (const sessrec::InputError&) {
  }
  sessrec::TextColumn ids;
  const std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (size_t begin = 0; begin <= rest.size();) {
    size_t end = rest.find('\n', begin);
    if (end == std::string_view::npos) end = rest.size();
    ids.push_back(rest.substr(begin, end - begin));
    begin = end + 1;
  }
  try {
    const sessrec::Catalog catalog(ids);
    for (int64_t i = 0; i < catalog.size(); ++i)
      if (catalog.index_of(catalog.id(static_cast<int32_t>(i))) != i) std::abort();
  } catch (const sessrec::InputError&) {
  }
  return 0;
}
