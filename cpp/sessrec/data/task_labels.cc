#include "sessrec/data/task_labels.h"

#include <algorithm>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/random.h"

namespace sessrec {

namespace {

// Streams of the two builders, so that the same seed draws independent choices in each.
constexpr uint64_t kOversampleStream = 0x7069702d6f766572ULL;  // "pip-over"
constexpr uint64_t kCutStream = 0x726c702d63757421ULL;         // "rlp-cut!"

CounterRandom session_random(uint64_t seed, uint64_t stream, int64_t session) {
  return CounterRandom{mix64(mix64(seed) ^ mix64(stream) ^ mix64(static_cast<uint64_t>(session)))};
}

// Calls emit(begin, end, label) for each PIP example of session s, in position order.
template <typename Emit>
void session_pip_examples(const SessionStore& store, int64_t s, int8_t purchase_action,
                          const PurchaseIntentionConfig& config, Emit&& emit) {
  const int64_t first = store.offsets[s], last = store.offsets[s + 1];
  int64_t trace_floor = first;  // one past the previous purchase
  bool purchased = false;
  for (int64_t e = first; e < last; ++e) {
    if (store.actions[e] != purchase_action) continue;
    purchased = true;
    const int64_t begin = std::max(trace_floor, e - config.max_interactions);
    if (e - begin >= config.min_length) emit(begin, e, int64_t{1});
    trace_floor = e + 1;
  }
  if (!purchased) {
    const int64_t begin = std::max(first, last - config.max_interactions);
    if (last - begin >= config.min_length) emit(begin, last, int64_t{0});
  }
}

void resize(TaskExamples& out, int64_t n) {
  out.session.resize(n);
  out.begin.resize(n);
  out.end.resize(n);
  out.label.resize(n);
}

}  // namespace

void PurchaseIntentionConfig::validate() const {
  if (max_interactions < 1)
    throw InputError("purchase intention examples: max_interactions must be >= 1, got " +
                     std::to_string(max_interactions));
  if (min_length < 1 || min_length > max_interactions)
    throw InputError("purchase intention examples: min_length must be in [1, max_interactions = " +
                     std::to_string(max_interactions) + "], got " + std::to_string(min_length));
}

void RemainingLengthConfig::validate() const {
  if (max_interactions < 2)
    throw InputError(
        "remaining length examples: max_interactions must be >= 2 (the cut falls "
        "before that interaction), got " +
        std::to_string(max_interactions));
  if (min_length < 1 || min_length > max_interactions - 1)
    throw InputError(
        "remaining length examples: min_length must be in [1, max_interactions - 1 = " +
        std::to_string(max_interactions - 1) + "], got " + std::to_string(min_length));
  if (min_remaining < 0)
    throw InputError("remaining length examples: min_remaining must be >= 0, got " +
                     std::to_string(min_remaining));
}

TaskExamples purchase_intention_examples(const SessionStore& store, int8_t purchase_action,
                                         const PurchaseIntentionConfig& config) {
  config.validate();
  if (!store.has_actions())
    throw InputError(
        "purchase intention examples: the sessions have no actions, so purchases cannot be "
        "found (load the data with an action column)");
  if (static_cast<int64_t>(store.actions.size()) != store.num_events())
    throw InputError("purchase intention examples: the store has " +
                     std::to_string(store.actions.size()) + " actions for " +
                     std::to_string(store.num_events()) + " events");
  const int64_t n_sessions = store.num_sessions();
  // Pass 1 counts each session's examples, pass 2 writes them at the prefix-sum offsets.
  std::vector<int64_t> first_example(n_sessions + 1, 0);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < n_sessions; ++s) {
    int64_t count = 0;
    session_pip_examples(store, s, purchase_action, config,
                         [&](int64_t, int64_t, int64_t) { ++count; });
    first_example[s + 1] = count;
  }
  for (int64_t s = 0; s < n_sessions; ++s) first_example[s + 1] += first_example[s];
  TaskExamples out;
  resize(out, first_example[n_sessions]);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < n_sessions; ++s) {
    int64_t r = first_example[s];
    session_pip_examples(store, s, purchase_action, config,
                         [&](int64_t begin, int64_t end, int64_t label) {
                           out.session[r] = s;
                           out.begin[r] = begin;
                           out.end[r] = end;
                           out.label[r] = label;
                           ++r;
                         });
  }
  if (!config.oversample) return out;

  std::vector<int64_t> positives;
  for (int64_t r = 0; r < out.size(); ++r)
    if (out.label[r] == 1) positives.push_back(r);
  const int64_t n_pos = static_cast<int64_t>(positives.size()), n_neg = out.size() - n_pos;
  if (n_pos == 0 || n_pos >= n_neg) return out;
  const int64_t extra = n_neg - n_pos, rounds = extra / n_pos, remainder = extra % n_pos;
  std::vector<int64_t> copies;
  copies.reserve(extra);
  for (int64_t k = 0; k < rounds; ++k)
    copies.insert(copies.end(), positives.begin(), positives.end());
  // A partial Fisher-Yates shuffle picks the remainder without replacement; kept in order.
  std::vector<int64_t> pool(positives);
  CounterRandom rng = session_random(config.seed, kOversampleStream, 0);
  for (int64_t k = 0; k < remainder; ++k) std::swap(pool[k], pool[k + rng.below(n_pos - k)]);
  std::sort(pool.begin(), pool.begin() + remainder);
  copies.insert(copies.end(), pool.begin(), pool.begin() + remainder);
  const int64_t n_original = out.size();
  resize(out, n_original + extra);
  for (int64_t k = 0; k < extra; ++k) {
    const int64_t src = copies[k], dst = n_original + k;
    out.session[dst] = out.session[src];
    out.begin[dst] = out.begin[src];
    out.end[dst] = out.end[src];
    out.label[dst] = out.label[src];
  }
  return out;
}

TaskExamples remaining_length_examples(const SessionStore& store,
                                       const RemainingLengthConfig& config) {
  config.validate();
  const int64_t n_sessions = store.num_sessions();
  // cut[s] = the input length of session s's example, 0 when it has none.
  std::vector<int64_t> cut(n_sessions, 0);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < n_sessions; ++s) {
    const int64_t hi =
        std::min(config.max_interactions - 1, store.length(s) - config.min_remaining);
    if (hi < config.min_length) continue;
    CounterRandom rng = session_random(config.seed, kCutStream, s);
    cut[s] = config.min_length + rng.below(hi - config.min_length + 1);
  }
  std::vector<int64_t> row(n_sessions + 1, 0);
  for (int64_t s = 0; s < n_sessions; ++s) row[s + 1] = row[s] + (cut[s] > 0);
  TaskExamples out;
  resize(out, row[n_sessions]);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < n_sessions; ++s) {
    if (cut[s] == 0) continue;
    const int64_t r = row[s];
    out.session[r] = s;
    out.begin[r] = store.offsets[s];
    out.end[r] = store.offsets[s] + cut[s];
    out.label[r] = store.length(s) - cut[s];
  }
  return out;
}

}  // namespace sessrec
