#include "sessrec/data/session_store.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"

namespace sessrec {

void SessionStore::validate(int64_t num_items) const {
  if (offsets.empty() || offsets.front() != 0)
    throw InputError("SessionStore: offsets must start with 0");
  for (size_t s = 1; s < offsets.size(); ++s)
    if (offsets[s] < offsets[s - 1])
      throw InputError("SessionStore: offsets decrease at session " + std::to_string(s - 1));
  if (offsets.back() != num_events())
    throw InputError("SessionStore: last offset " + std::to_string(offsets.back()) +
                     " != number of items " + std::to_string(num_events()));
  if (!actions.empty() && static_cast<int64_t>(actions.size()) != num_events())
    throw InputError("SessionStore: actions has " + std::to_string(actions.size()) +
                     " entries, items has " + std::to_string(num_events()));
  if (!times.empty() && static_cast<int64_t>(times.size()) != num_events())
    throw InputError("SessionStore: times has " + std::to_string(times.size()) +
                     " entries, items has " + std::to_string(num_events()));
  for (int64_t e = 0; e < num_events(); ++e)
    if (items[e] < 0 || items[e] >= num_items)
      throw InputError("SessionStore: event " + std::to_string(e) + " has item index " +
                       std::to_string(items[e]) + " outside the catalogue of " +
                       std::to_string(num_items) + " items");
}

SessionStore SessionStore::subset(const std::vector<int64_t>& order) const {
  SessionStore out;
  const int64_t n = static_cast<int64_t>(order.size());
  out.offsets.assign(n + 1, 0);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t s = order[k];
    if (s < 0 || s >= num_sessions())
      throw InputError("SessionStore::subset: session " + std::to_string(s) + " out of range");
    out.offsets[k + 1] = out.offsets[k] + length(s);
  }
  out.items.resize(out.offsets[n]);
  if (has_actions()) out.actions.resize(out.offsets[n]);
  if (has_times()) out.times.resize(out.offsets[n]);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; ++k) {
    const int64_t src = offsets[order[k]], len = length(order[k]), dst = out.offsets[k];
    std::copy_n(items.begin() + src, len, out.items.begin() + dst);
    if (has_actions()) std::copy_n(actions.begin() + src, len, out.actions.begin() + dst);
    if (has_times()) std::copy_n(times.begin() + src, len, out.times.begin() + dst);
  }
  return out;
}

SessionStore SessionStore::drop_tail(int64_t drop) const {
  if (drop < 0) throw InputError("SessionStore::drop_tail: drop must be >= 0");
  SessionStore out;
  const int64_t n = num_sessions();
  out.offsets.assign(n + 1, 0);
  for (int64_t s = 0; s < n; ++s)
    out.offsets[s + 1] = out.offsets[s] + std::max<int64_t>(0, length(s) - drop);
  out.items.resize(out.offsets[n]);
  if (has_actions()) out.actions.resize(out.offsets[n]);
  if (has_times()) out.times.resize(out.offsets[n]);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < n; ++s) {
    const int64_t src = offsets[s], len = out.offsets[s + 1] - out.offsets[s], dst = out.offsets[s];
    std::copy_n(items.begin() + src, len, out.items.begin() + dst);
    if (has_actions()) std::copy_n(actions.begin() + src, len, out.actions.begin() + dst);
    if (has_times()) std::copy_n(times.begin() + src, len, out.times.begin() + dst);
  }
  return out;
}

std::vector<int64_t> SessionStore::session_start_times() const {
  const int64_t n = num_sessions();
  std::vector<int64_t> start(n, 0);
  if (!has_times()) return start;
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < n; ++s)
    if (length(s) > 0)
      start[s] = *std::min_element(times.begin() + offsets[s], times.begin() + offsets[s + 1]);
  return start;
}

std::vector<int64_t> SessionStore::item_counts(int64_t num_items) const {
  std::vector<int64_t> counts(num_items, 0);
  for (int32_t item : items) {
    if (item < 0 || item >= num_items)
      throw InputError("SessionStore::item_counts: item index " + std::to_string(item) +
                       " outside the catalogue of " + std::to_string(num_items) + " items");
    ++counts[item];
  }
  return counts;
}

SessionStore store_from_grouped_rows(const std::vector<int64_t>& session_codes,
                                     const std::vector<int32_t>& items) {
  if (session_codes.size() != items.size())
    throw InputError("store_from_grouped_rows: session_codes and items differ in length");
  SessionStore out;
  out.items = items;
  for (size_t r = 0; r < session_codes.size(); ++r)
    if (r > 0 && session_codes[r] != session_codes[r - 1]) out.offsets.push_back(r);
  if (!items.empty()) out.offsets.push_back(static_cast<int64_t>(items.size()));
  return out;
}

}  // namespace sessrec
