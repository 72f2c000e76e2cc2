#include "sessrec/eval/ranking.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/interrupt.h"
#include "sessrec/memory_budget.h"

namespace sessrec {
namespace {

// Counts of items scoring above and equal to the target (the target itself excluded).
struct Competition {
  int64_t greater = 0;
  int64_t equal = 0;
};

Competition compete(const float* row, int64_t num_items, int32_t target) {
  const float t = row[target];
  int64_t greater = 0, equal = 0;
  for (int64_t i = 0; i < num_items; ++i) {
    greater += row[i] > t;
    equal += row[i] == t;
  }
  return {greater, equal - 1};
}

// Takes the history items (each once, never the target) out of the competition.
void remove_history(const float* row, int32_t target, const int32_t* history, int64_t length,
                    std::vector<int32_t>& scratch, Competition& c) {
  scratch.assign(history, history + length);
  std::sort(scratch.begin(), scratch.end());
  scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
  const float t = row[target];
  for (int32_t h : scratch) {
    if (h == target) continue;
    c.greater -= row[h] > t;
    c.equal -= row[h] == t;
  }
}

}  // namespace

void ranks_from_scores(const float* scores, int64_t rows, int64_t num_items, const int32_t* targets,
                       const HistoryBatch* histories, const RankOptions& options,
                       double* ranks_out) {
  if (options.exclude_history && histories == nullptr)
    throw InputError("ranks_from_scores: exclude_history needs the histories");
  if (histories != nullptr && histories->size != rows)
    throw InputError("ranks_from_scores: " + std::to_string(histories->size) + " histories for " +
                     std::to_string(rows) + " score rows");
  for (int64_t r = 0; r < rows; ++r)
    if (targets[r] < 0 || targets[r] >= num_items)
      throw InputError("ranks_from_scores: target " + std::to_string(targets[r]) + " of row " +
                       std::to_string(r) + " is outside the catalogue of " +
                       std::to_string(num_items) + " items");
  std::atomic<int64_t> nan_row{-1};
#pragma omp parallel
  {
    std::vector<int32_t> scratch;
#pragma omp for schedule(dynamic, 4)
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = scores + r * num_items;
      if (std::isnan(row[targets[r]])) {
        nan_row = r;
        ranks_out[r] = static_cast<double>(num_items);
        continue;
      }
      Competition c = compete(row, num_items, targets[r]);
      if (options.exclude_history)
        remove_history(row, targets[r], histories->history(r), histories->length(r), scratch, c);
      ranks_out[r] = rank_from_counts(c.greater, c.equal, options.ties);
    }
  }
  if (nan_row >= 0)
    throw InputError("ranks_from_scores: the score of the target in row " +
                     std::to_string(nan_row.load()) + " is NaN");
}

int64_t rank_block_rows(const SessionScorer& scorer, int64_t block_bytes) {
  const int64_t n = scorer.num_items();
  if (n <= 0) throw InputError("rank_examples: the scorer has an empty catalogue");
  return std::max({int64_t{2} * omp_get_max_threads(), block_bytes / (n * int64_t{4}),
                   scorer.preferred_block_rows()});
}

std::vector<double> rank_examples(const SessionScorer& scorer, const SessionStore& store,
                                  const ExampleSet& examples, const RankOptions& options) {
  const int64_t n = scorer.num_items();
  const int64_t block = rank_block_rows(scorer, options.block_bytes);
  // The score block is reused across calls: touching fresh pages costs more than scoring them.
  thread_local std::vector<float> scores;
  const int64_t needed = std::min(block, std::max<int64_t>(examples.size(), 1)) * n;
  require_within_budget(bytes_of({needed, 4}),
                        "ranking over " + std::to_string(n) + " items (a block of " +
                            std::to_string(needed / n) + " rows of float32 scores)",
                        "rank against a smaller catalogue");
  if (static_cast<int64_t>(scores.size()) < needed) scores.resize(needed);
  return rank_example_blocks(
      store, examples, block, [&](const HistoryBatch& batch, const int32_t* targets, double* out) {
        scorer.score(batch, scores.data());
        ranks_from_scores(scores.data(), batch.size, n, targets, &batch, options, out);
      });
}

TiePolicy parse_tie_policy(const std::string& name) {
  if (name == "pessimistic") return TiePolicy::Pessimistic;
  if (name == "optimistic") return TiePolicy::Optimistic;
  if (name == "average") return TiePolicy::Average;
  throw InputError("ties must be 'pessimistic', 'optimistic' or 'average', got '" + name + "'");
}

void top_k_from_scores(const float* scores, int64_t rows, int64_t num_items, int64_t k,
                       const HistoryBatch* exclude, int32_t* items_out, float* scores_out) {
  if (k <= 0) throw InputError("top_k_from_scores: k must be positive");
  if (exclude != nullptr && exclude->size != rows)
    throw InputError("top_k_from_scores: histories and score rows differ in number");
#pragma omp parallel
  {
    std::vector<int32_t> candidates, banned;
#pragma omp for schedule(dynamic, 4)
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = scores + r * num_items;
      banned.clear();
      if (exclude != nullptr) {
        banned.assign(exclude->history(r), exclude->history(r) + exclude->length(r));
        std::sort(banned.begin(), banned.end());
      }
      candidates.clear();
      for (int64_t i = 0; i < num_items; ++i)
        if (!std::isnan(row[i]) &&
            (banned.empty() || !std::binary_search(banned.begin(), banned.end(), int32_t(i))))
          candidates.push_back(static_cast<int32_t>(i));
      auto better = [row](int32_t a, int32_t b) {
        return row[a] > row[b] || (row[a] == row[b] && a < b);
      };
      const int64_t keep = std::min<int64_t>(k, candidates.size());
      std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), better);
      for (int64_t j = 0; j < k; ++j) {
        items_out[r * k + j] = j < keep ? candidates[j] : -1;
        scores_out[r * k + j] =
            j < keep ? row[candidates[j]] : -std::numeric_limits<float>::infinity();
      }
    }
  }
}

}  // namespace sessrec
