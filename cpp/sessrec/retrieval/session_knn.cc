#include "sessrec/retrieval/session_knn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/retrieval/popularity.h"

namespace sessrec {

void SessionKNNConfig::validate() const {
  if (k <= 0) throw InputError("SessionKNN: k must be positive, got " + std::to_string(k));
  if (sample_size <= 0)
    throw InputError("SessionKNN: sample_size must be positive, got " + std::to_string(sample_size));
}

SessionKNN::SessionKNN(SessionKNNConfig config, int64_t num_items)
    : config_(config), num_items_(num_items) {
  config_.validate();
  if (num_items <= 0) throw InputError("SessionKNN: the catalogue is empty");
  session_offsets_.assign(1, 0);
  item_offsets_.assign(num_items + 1, 0);
  counts_.assign(num_items, 0);
}

void SessionKNN::fit(const SessionStore& train, const std::vector<int64_t>& session_times) {
  train.validate(num_items_);
  const int64_t n_sessions = train.num_sessions();
  if (n_sessions > std::numeric_limits<int32_t>::max())
    throw InputError("SessionKNN: more than 2^31-1 training sessions");
  if (!session_times.empty() && static_cast<int64_t>(session_times.size()) != n_sessions)
    throw InputError("SessionKNN: " + std::to_string(session_times.size()) +
                     " session times for " + std::to_string(n_sessions) + " sessions");
  recency_.resize(n_sessions);
  for (int64_t s = 0; s < n_sessions; ++s)
    recency_[s] = session_times.empty() ? s : session_times[s];
  counts_ = train.item_counts(num_items_);
  max_count_ = counts_.empty() ? 0 : *std::max_element(counts_.begin(), counts_.end());

  // Distinct sorted items per session.
  std::vector<int64_t> distinct(n_sessions + 1, 0);
  std::vector<int32_t> sorted(train.items);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t s = 0; s < n_sessions; ++s) {
    auto first = sorted.begin() + train.offsets[s], last = sorted.begin() + train.offsets[s + 1];
    std::sort(first, last);
    distinct[s + 1] = std::unique(first, last) - first;
  }
  for (int64_t s = 0; s < n_sessions; ++s) distinct[s + 1] += distinct[s];
  session_items_.resize(distinct[n_sessions]);
  for (int64_t s = 0; s < n_sessions; ++s)
    std::copy_n(sorted.begin() + train.offsets[s], distinct[s + 1] - distinct[s],
                session_items_.begin() + distinct[s]);
  session_offsets_ = std::move(distinct);

  // Item -> sessions, most recent first.
  item_offsets_.assign(num_items_ + 1, 0);
  for (int32_t i : session_items_) ++item_offsets_[i + 1];
  for (int64_t i = 0; i < num_items_; ++i) item_offsets_[i + 1] += item_offsets_[i];
  item_sessions_.resize(session_items_.size());
  std::vector<int64_t> cursor(item_offsets_.begin(), item_offsets_.end() - 1);
  for (int64_t s = 0; s < n_sessions; ++s)
    for (int64_t j = session_offsets_[s]; j < session_offsets_[s + 1]; ++j)
      item_sessions_[cursor[session_items_[j]]++] = static_cast<int32_t>(s);
  auto more_recent = [this](int32_t a, int32_t b) {
    return recency_[a] > recency_[b] || (recency_[a] == recency_[b] && a > b);
  };
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t i = 0; i < num_items_; ++i)
    std::sort(item_sessions_.begin() + item_offsets_[i], item_sessions_.begin() + item_offsets_[i + 1],
              more_recent);
}

void SessionKNN::score(const HistoryBatch& batch, float* out) const {
  const int64_t n = num_items_;
  auto more_recent = [this](int32_t a, int32_t b) {
    return recency_[a] > recency_[b] || (recency_[a] == recency_[b] && a > b);
  };
#pragma omp parallel
  {
    std::vector<std::pair<int32_t, float>> query;  // (item, weight), sorted by item
    std::vector<int32_t> candidates;
    std::vector<std::pair<float, int32_t>> neighbours;
#pragma omp for schedule(dynamic, 4)
    for (int64_t r = 0; r < batch.size; ++r) {
      float* row = out + r * n;
      std::fill(row, row + n, 0.0f);
      const int32_t* history = batch.history(r);
      const int64_t length = batch.length(r);
      query.clear();
      for (int64_t p = 0; p < length; ++p)
        if (history[p] >= 0 && history[p] < n)
          query.emplace_back(history[p], static_cast<float>(p + 1) / static_cast<float>(length));
      // Stable sort keeps later positions after earlier ones; keep the last (latest) weight.
      std::stable_sort(query.begin(), query.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      size_t w = 0;
      for (size_t q = 0; q < query.size(); ++q) {
        if (w > 0 && query[w - 1].first == query[q].first) query[w - 1] = query[q];
        else query[w++] = query[q];
      }
      query.resize(w);

      // The most recent sessions of the union are among the first sample_size of each list.
      candidates.clear();
      for (const auto& [item, weight] : query) {
        const int64_t first = item_offsets_[item];
        const int64_t last = std::min(item_offsets_[item + 1], first + config_.sample_size);
        candidates.insert(candidates.end(), item_sessions_.begin() + first,
                          item_sessions_.begin() + last);
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
      if (static_cast<int64_t>(candidates.size()) > config_.sample_size) {
        std::nth_element(candidates.begin(), candidates.begin() + config_.sample_size,
                         candidates.end(), more_recent);
        candidates.resize(config_.sample_size);
      }

      neighbours.clear();
      for (int32_t s : candidates) {
        float sim = 0.0f;
        auto it = query.begin();
        for (int64_t j = session_offsets_[s]; j < session_offsets_[s + 1] && it != query.end(); ++j) {
          while (it != query.end() && it->first < session_items_[j]) ++it;
          if (it != query.end() && it->first == session_items_[j]) sim += it->second;
        }
        if (config_.cosine)
          sim /= std::sqrt(static_cast<float>(query.size()) *
                           static_cast<float>(session_offsets_[s + 1] - session_offsets_[s]));
        if (sim > 0.0f) neighbours.emplace_back(sim, s);
      }
      const int64_t keep = std::min<int64_t>(config_.k, neighbours.size());
      std::partial_sort(neighbours.begin(), neighbours.begin() + keep, neighbours.end(),
                        [&](const auto& a, const auto& b) {
                          return a.first > b.first ||
                                 (a.first == b.first && more_recent(a.second, b.second));
                        });
      for (int64_t j = 0; j < keep; ++j) {
        const auto [sim, s] = neighbours[j];
        for (int64_t e = session_offsets_[s]; e < session_offsets_[s + 1]; ++e)
          row[session_items_[e]] += sim;
      }
      if (config_.popularity_fallback) apply_popularity_fallback(row, counts_, max_count_);
    }
  }
}

}  // namespace sessrec
