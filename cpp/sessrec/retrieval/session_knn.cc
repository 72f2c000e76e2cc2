#include "sessrec/retrieval/session_knn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/interrupt.h"
#include "sessrec/retrieval/popularity.h"

namespace sessrec {

KnnDecay knn_decay_from_name(const std::string& name) {
  if (name == "same") return KnnDecay::kSame;
  if (name == "div") return KnnDecay::kDiv;
  if (name == "linear") return KnnDecay::kLinear;
  if (name == "log") return KnnDecay::kLog;
  if (name == "quadratic") return KnnDecay::kQuadratic;
  throw InputError("SessionKNN: unknown decay '" + name +
                   "' (expected same, div, linear, log or quadratic)");
}

float knn_position_weight(KnnDecay decay, int64_t p, int64_t T) {
  const double ratio = static_cast<double>(p) / static_cast<double>(T);
  switch (decay) {
    case KnnDecay::kSame:
      return 1.0f;
    case KnnDecay::kDiv:
      return static_cast<float>(ratio);
    case KnnDecay::kLinear:
      return static_cast<float>(std::max(0.0, 1.0 - 0.1 * (T - p)));
    case KnnDecay::kLog:
      return static_cast<float>(1.0 / std::log10((T - p) + 1.7));
    case KnnDecay::kQuadratic:
      return static_cast<float>(ratio * ratio);
  }
  return 1.0f;
}

float knn_score_decay(KnnDecay decay, int64_t step) {
  const double s = static_cast<double>(step);
  switch (decay) {
    case KnnDecay::kSame:
      return 1.0f;
    case KnnDecay::kDiv:
      return static_cast<float>(1.0 / s);
    case KnnDecay::kLinear:
      return static_cast<float>(std::max(0.0, 1.0 - 0.1 * s));
    case KnnDecay::kLog:
      return static_cast<float>(1.0 / std::log10(s + 1.7));
    case KnnDecay::kQuadratic:
      return static_cast<float>(1.0 / (s * s));
  }
  return 1.0f;
}

void SessionKNNConfig::validate() const {
  if (k <= 0) throw InputError("SessionKNN: k must be positive, got " + std::to_string(k));
  if (sample_size < 0)
    throw InputError("SessionKNN: sample_size must be >= 0 (0: no limit), got " +
                     std::to_string(sample_size));
  if (last_n_clicks < 0)
    throw InputError("SessionKNN: last_n_clicks must be >= 0 (0: all), got " +
                     std::to_string(last_n_clicks));
  if (!(idf_weighting >= 0.0) || !std::isfinite(idf_weighting))
    throw InputError("SessionKNN: idf_weighting must be finite and >= 0, got " +
                     std::to_string(idf_weighting));
  if (sampling != "recent" && sampling != "random")
    throw InputError("SessionKNN: sampling must be 'recent' or 'random', got '" + sampling + "'");
  if (similarity != "vec" && similarity != "cosine" && similarity != "jaccard")
    throw InputError("SessionKNN: similarity must be 'vec', 'cosine' or 'jaccard', got '" +
                     similarity + "'");
  knn_decay_from_name(weighting);
  knn_decay_from_name(weighting_score);
}

SessionKNN::SessionKNN(SessionKNNConfig config, int64_t num_items)
    : config_(config), num_items_(num_items) {
  config_.validate();
  if (num_items <= 0) throw InputError("SessionKNN: the catalogue is empty");
  weighting_ = knn_decay_from_name(config_.weighting);
  weighting_score_ = knn_decay_from_name(config_.weighting_score);
  similarity_ = config_.similarity == "vec"      ? Similarity::kVec
                : config_.similarity == "cosine" ? Similarity::kCosine
                                                 : Similarity::kJaccard;
  random_sampling_ = config_.sampling == "random";
  session_offsets_.assign(1, 0);
  item_offsets_.assign(num_items + 1, 0);
  counts_.assign(num_items, 0);
  idf_.assign(num_items, 0.0f);
}

void SessionKNN::fit(const SessionStore& train, const std::vector<int64_t>& session_times) {
  train.validate(num_items_);
  const int64_t n_sessions = train.num_sessions();
  if (n_sessions > std::numeric_limits<int32_t>::max())
    throw InputError("SessionKNN: more than 2^31-1 training sessions");
  if (!session_times.empty() && static_cast<int64_t>(session_times.size()) != n_sessions)
    throw InputError("SessionKNN: " + std::to_string(session_times.size()) + " session times for " +
                     std::to_string(n_sessions) + " sessions");
  recency_.resize(n_sessions);
  for (int64_t s = 0; s < n_sessions; ++s)
    recency_[s] = session_times.empty() ? s : session_times[s];
  counts_ = train.item_counts(num_items_);
  max_count_ = counts_.empty() ? 0 : *std::max_element(counts_.begin(), counts_.end());
  // session-rec: log(#sessions / #events of the item), events not sessions.
  idf_.assign(num_items_, 0.0f);
  for (int64_t i = 0; i < num_items_; ++i)
    if (counts_[i] > 0)
      idf_[i] = static_cast<float>(
          std::log(static_cast<double>(n_sessions) / static_cast<double>(counts_[i])));

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
    std::sort(item_sessions_.begin() + item_offsets_[i],
              item_sessions_.begin() + item_offsets_[i + 1], more_recent);
}

namespace {

struct QueryItem {
  int32_t item;
  float weight;
  int64_t position;  // 1-based in the query window; the latest if the item repeats
};

struct Neighbour {
  float similarity;
  int32_t session;
  int64_t step;  // distance from the query's end of the latest query item it contains
};

// A seed that depends on the history only, so a session's random sample does not depend on
// the batch it is scored in.
uint64_t history_seed(uint64_t seed, const int32_t* history, int64_t length) {
  uint64_t h = seed ^ 0x9E3779B97F4A7C15ULL;
  for (int64_t p = 0; p < length; ++p) {
    h ^= static_cast<uint64_t>(static_cast<uint32_t>(history[p])) + 0x9E3779B97F4A7C15ULL +
         (h << 6) + (h >> 2);
  }
  return h;
}

}  // namespace

void SessionKNN::score(const HistoryBatch& batch, float* out) const {
  const int64_t n = num_items_;
  const int64_t sample_size = config_.sample_size;
  auto more_recent = [this](int32_t a, int32_t b) {
    return recency_[a] > recency_[b] || (recency_[a] == recency_[b] && a > b);
  };
  ParallelInterrupt interrupt;
#pragma omp parallel
  {
    std::vector<QueryItem> query;  // sorted by item
    std::vector<int32_t> history_items, candidates;
    std::vector<Neighbour> neighbours;
#pragma omp for schedule(dynamic, 4)
    for (int64_t r = 0; r < batch.size; ++r) {
      if (interrupt.stop()) continue;
      float* row = out + r * n;
      std::fill(row, row + n, 0.0f);
      const int32_t* history = batch.history(r);
      const int64_t length = batch.length(r);
      const int64_t window_begin =
          config_.last_n_clicks > 0 ? std::max<int64_t>(0, length - config_.last_n_clicks) : 0;
      const int64_t window = length - window_begin;

      query.clear();
      for (int64_t p = window_begin; p < length; ++p)
        if (history[p] >= 0 && history[p] < n) {
          const int64_t position = p - window_begin + 1;
          query.push_back(
              {history[p], knn_position_weight(weighting_, position, window), position});
        }
      // Stable sort keeps later positions after earlier ones; keep the last (latest) one.
      std::stable_sort(query.begin(), query.end(),
                       [](const QueryItem& a, const QueryItem& b) { return a.item < b.item; });
      size_t w = 0;
      for (size_t q = 0; q < query.size(); ++q) {
        if (w > 0 && query[w - 1].item == query[q].item)
          query[w - 1] = query[q];
        else
          query[w++] = query[q];
      }
      query.resize(w);
      if (query.empty()) {
        if (config_.popularity_fallback) apply_popularity_fallback(row, counts_, max_count_);
        continue;
      }
      double norm = 0.0;
      for (const QueryItem& q : query) norm += static_cast<double>(q.weight) * q.weight;
      norm = std::sqrt(norm);

      // Candidates come from the whole history, as session-rec's accumulated set does, even
      // when the query is its last `last_n_clicks` items.
      history_items.clear();
      for (int64_t p = 0; p < length; ++p)
        if (history[p] >= 0 && history[p] < n) history_items.push_back(history[p]);
      std::sort(history_items.begin(), history_items.end());
      history_items.erase(std::unique(history_items.begin(), history_items.end()),
                          history_items.end());
      // The most recent sessions of the union are among the first sample_size of each list.
      const bool take_prefix = sample_size > 0 && !random_sampling_;
      candidates.clear();
      for (int32_t item : history_items) {
        const int64_t first = item_offsets_[item];
        const int64_t last = take_prefix ? std::min(item_offsets_[item + 1], first + sample_size)
                                         : item_offsets_[item + 1];
        candidates.insert(candidates.end(), item_sessions_.begin() + first,
                          item_sessions_.begin() + last);
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
      if (sample_size > 0 && static_cast<int64_t>(candidates.size()) > sample_size) {
        if (random_sampling_) {
          std::mt19937_64 rng(history_seed(config_.seed, history, length));
          for (int64_t j = 0; j < sample_size; ++j) {
            std::uniform_int_distribution<int64_t> pick(
                j, static_cast<int64_t>(candidates.size()) - 1);
            std::swap(candidates[j], candidates[pick(rng)]);
          }
        } else {
          std::nth_element(candidates.begin(), candidates.begin() + sample_size, candidates.end(),
                           more_recent);
        }
        candidates.resize(sample_size);
      }

      neighbours.clear();
      for (int32_t s : candidates) {
        double dot = 0.0;
        int64_t overlap = 0, latest = 0;
        auto it = query.begin();
        for (int64_t j = session_offsets_[s]; j < session_offsets_[s + 1] && it != query.end();
             ++j) {
          while (it != query.end() && it->item < session_items_[j]) ++it;
          if (it != query.end() && it->item == session_items_[j]) {
            dot += it->weight;
            ++overlap;
            latest = std::max(latest, it->position);
          }
        }
        if (overlap == 0) continue;
        const int64_t size = session_offsets_[s + 1] - session_offsets_[s];
        double sim = 0.0;
        switch (similarity_) {
          case Similarity::kVec:
            sim = dot / static_cast<double>(query.size());
            break;
          case Similarity::kCosine:
            sim = norm > 0.0 ? dot / (norm * std::sqrt(static_cast<double>(size))) : 0.0;
            break;
          case Similarity::kJaccard:
            sim = static_cast<double>(overlap) /
                  static_cast<double>(static_cast<int64_t>(query.size()) + size - overlap);
            break;
        }
        if (sim > 0.0) neighbours.push_back({static_cast<float>(sim), s, window - latest + 1});
      }
      const int64_t keep = std::min<int64_t>(config_.k, neighbours.size());
      std::partial_sort(neighbours.begin(), neighbours.begin() + keep, neighbours.end(),
                        [&](const Neighbour& a, const Neighbour& b) {
                          return a.similarity > b.similarity || (a.similarity == b.similarity &&
                                                                 more_recent(a.session, b.session));
                        });
      const float idf_weighting = static_cast<float>(config_.idf_weighting);
      for (int64_t j = 0; j < keep; ++j) {
        const Neighbour& nb = neighbours[j];
        const float vote = nb.similarity * knn_score_decay(weighting_score_, nb.step);
        for (int64_t e = session_offsets_[nb.session]; e < session_offsets_[nb.session + 1]; ++e) {
          const int32_t item = session_items_[e];
          if (!config_.remind &&
              std::binary_search(
                  query.begin(), query.end(), QueryItem{item, 0.0f, 0},
                  [](const QueryItem& a, const QueryItem& b) { return a.item < b.item; }))
            continue;
          row[item] += idf_weighting > 0.0f ? vote * (1.0f + idf_weighting * idf_[item]) : vote;
        }
      }
      if (config_.popularity_fallback) apply_popularity_fallback(row, counts_, max_count_);
    }
  }
  interrupt.throw_if_stopped();
}

}  // namespace sessrec
