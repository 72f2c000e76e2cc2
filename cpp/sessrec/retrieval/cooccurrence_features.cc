#include "sessrec/retrieval/cooccurrence_features.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sessrec/errors.h"

namespace sessrec {

void CooccurrenceGraph::validate() const {
  if (num_items <= 0) throw InputError("CooccurrenceGraph: the catalogue is empty");
  if (static_cast<int64_t>(offsets.size()) != num_items + 1 || offsets.front() != 0 ||
      offsets.back() != static_cast<int64_t>(neighbours.size()) ||
      neighbours.size() != weights.size())
    throw InputError("CooccurrenceGraph: offsets, neighbours and weights disagree in size");
  for (int64_t x = 0; x < num_items; ++x) {
    if (offsets[x + 1] < offsets[x]) throw InputError("CooccurrenceGraph: offsets decrease");
    for (int64_t j = offsets[x]; j < offsets[x + 1]; ++j) {
      const int32_t y = neighbours[j];
      if (y < 0 || y >= num_items)
        throw InputError("CooccurrenceGraph: neighbour index " + std::to_string(y) +
                         " outside the catalogue");
      if (j > offsets[x] && neighbours[j - 1] >= y)
        throw InputError("CooccurrenceGraph: row " + std::to_string(x) +
                         " is not strictly ascending");
      if (!(weights[j] > 0.0f) || !std::isfinite(weights[j]))
        throw InputError("CooccurrenceGraph: edge weights must be positive and finite");
    }
  }
}

float CooccurrenceGraph::weight(int32_t x, int32_t y) const {
  const auto first = neighbours.begin() + offsets[x], last = neighbours.begin() + offsets[x + 1];
  const auto it = std::lower_bound(first, last, y);
  return (it != last && *it == y) ? weights[it - neighbours.begin()] : 0.0f;
}

CooccurrenceGraph symmetric_cooccurrence_graph(int64_t num_items, const int64_t* offsets,
                                               const int32_t* indices, const float* similarities) {
  if (num_items <= 0) throw InputError("symmetric_cooccurrence_graph: the catalogue is empty");
  for (int64_t x = 0; x < num_items; ++x) {
    if (offsets[x + 1] < offsets[x])
      throw InputError("symmetric_cooccurrence_graph: offsets decrease");
    for (int64_t j = offsets[x]; j < offsets[x + 1]; ++j)
      if (indices[j] < 0 || indices[j] >= num_items)
        throw InputError("symmetric_cooccurrence_graph: neighbour index out of range");
  }
  // Every directed entry (x, y, s) lands in row x and in row y; duplicates are summed below.
  std::vector<int64_t> raw_offsets(num_items + 1, 0);
  for (int64_t x = 0; x < num_items; ++x)
    for (int64_t j = offsets[x]; j < offsets[x + 1]; ++j)
      if (similarities[j] > 0.0f && indices[j] != x) {
        ++raw_offsets[x + 1];
        ++raw_offsets[indices[j] + 1];
      }
  for (int64_t x = 0; x < num_items; ++x) raw_offsets[x + 1] += raw_offsets[x];
  std::vector<std::pair<int32_t, float>> raw(raw_offsets[num_items]);
  std::vector<int64_t> fill(raw_offsets.begin(), raw_offsets.end() - 1);
  for (int64_t x = 0; x < num_items; ++x)
    for (int64_t j = offsets[x]; j < offsets[x + 1]; ++j)
      if (similarities[j] > 0.0f && indices[j] != x) {
        raw[fill[x]++] = {indices[j], similarities[j]};
        raw[fill[indices[j]]++] = {static_cast<int32_t>(x), similarities[j]};
      }

  std::vector<int64_t> kept(num_items, 0);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t x = 0; x < num_items; ++x) {
    auto first = raw.begin() + raw_offsets[x], last = raw.begin() + raw_offsets[x + 1];
    // Sorting by (neighbour, weight) fixes the summation order: thread-count independent.
    std::sort(first, last);
    int64_t out = raw_offsets[x];
    for (auto it = first; it != last; ++it) {
      if (out > raw_offsets[x] && raw[out - 1].first == it->first)
        raw[out - 1].second += it->second;
      else
        raw[out++] = *it;
    }
    kept[x] = out - raw_offsets[x];
  }

  CooccurrenceGraph g;
  g.num_items = num_items;
  g.offsets.assign(num_items + 1, 0);
  for (int64_t x = 0; x < num_items; ++x) g.offsets[x + 1] = g.offsets[x] + kept[x];
  g.neighbours.resize(g.offsets[num_items]);
  g.weights.resize(g.offsets[num_items]);
  for (int64_t x = 0; x < num_items; ++x)
    for (int64_t j = 0; j < kept[x]; ++j) {
      g.neighbours[g.offsets[x] + j] = raw[raw_offsets[x] + j].first;
      g.weights[g.offsets[x] + j] = raw[raw_offsets[x] + j].second;
    }
  return g;
}

void edge_weight_stats(const CooccurrenceGraph& graph, const HistoryBatch& histories,
                       const int32_t* candidates, int64_t width, float* out) {
  if (width < 0) throw InputError("edge_weight_stats: width must be >= 0");
  const int64_t n = graph.num_items;
  for (int64_t r = 0; r < histories.size; ++r) {
    for (int64_t t = 0; t < histories.length(r); ++t)
      if (histories.history(r)[t] < 0 || histories.history(r)[t] >= n)
        throw InputError("edge_weight_stats: history " + std::to_string(r) +
                         " holds an item outside the catalogue");
    for (int64_t j = 0; j < width; ++j)
      if (candidates[r * width + j] < -1 || candidates[r * width + j] >= n)
        throw InputError("edge_weight_stats: candidate " + std::to_string(j) + " of history " +
                         std::to_string(r) + " is outside the catalogue (use -1 for none)");
  }
#pragma omp parallel
  {
    std::vector<int32_t> distinct;
#pragma omp for schedule(dynamic, 16)
    for (int64_t r = 0; r < histories.size; ++r) {
      distinct.assign(histories.history(r), histories.history(r) + histories.length(r));
      std::sort(distinct.begin(), distinct.end());
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      for (int64_t j = 0; j < width; ++j) {
        float* stats = out + (r * width + j) * kEdgeStats;
        std::fill(stats, stats + kEdgeStats, 0.0f);
        const int32_t c = candidates[r * width + j];
        if (c < 0) continue;
        double sum = 0.0, sum_sq = 0.0, max = 0.0;
        int64_t count = 0;
        for (int32_t h : distinct) {
          const double w = graph.weight(h, c);
          if (w <= 0.0) continue;
          sum += w;
          sum_sq += w * w;
          max = std::max(max, w);
          ++count;
        }
        if (count == 0) continue;
        const double mean = sum / count;
        stats[kEdgeMean] = static_cast<float>(mean);
        stats[kEdgeCount] = static_cast<float>(count);
        stats[kEdgeMax] = static_cast<float>(max);
        stats[kEdgeStd] =
            static_cast<float>(std::sqrt(std::max(0.0, sum_sq / count - mean * mean)));
      }
    }
  }
}

}  // namespace sessrec
