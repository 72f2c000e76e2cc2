#include "sessrec/retrieval/item_cf_sparse_ranking.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/interrupt.h"
#include "sessrec/retrieval/popularity.h"

namespace sessrec {
namespace {

// One thread's sparse accumulator: a dense row and flags kept all-zero between sessions, plus
// the items a session touched (each once).
struct SparseRow {
  std::vector<float> acc;
  std::vector<uint8_t> mark;
  std::vector<int32_t> touched;
};

SparseRow& thread_row(int64_t n) {
  thread_local SparseRow row;
  if (static_cast<int64_t>(row.acc.size()) != n) {
    row.acc.assign(n, 0.0f);
    row.mark.assign(n, 0);
  }
  return row;
}

}  // namespace

ItemCFSparseRanking::ItemCFSparseRanking(std::shared_ptr<const ItemCF> model)
    : model_(std::move(model)) {
  if (!model_) throw InputError("ItemCFSparseRanking: no model");
  const int64_t n = model_->num_items();
  // The fallback values exactly as ItemCF::score writes them into a row that nothing reached.
  unscored_.assign(n, 0.0f);
  if (model_->config().popularity_fallback) {
    const auto& counts = model_->counts();
    const int64_t max_count = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
    apply_popularity_fallback(unscored_.data(), counts, max_count);
  }
  unscored_sorted_ = unscored_;
  std::sort(unscored_sorted_.begin(), unscored_sorted_.end());
  unscored_order_.resize(n);
  std::iota(unscored_order_.begin(), unscored_order_.end(), 0);
  std::stable_sort(unscored_order_.begin(), unscored_order_.end(),
                   [this](int32_t a, int32_t b) { return unscored_[a] > unscored_[b]; });
}

namespace {

// Scores one history into `row` (touched items only), with the fallback ItemCF::score applies
// to entries that sum to exactly 0.
void score_sparse(const ItemCF& model, const std::vector<float>& unscored, const int32_t* history,
                  int64_t length, SparseRow& row) {
  row.touched.clear();
  model.accumulate_scores(history, length, row.acc.data(), [&row](int32_t y) {
    if (!row.mark[y]) {
      row.mark[y] = 1;
      row.touched.push_back(y);
    }
  });
  if (model.config().popularity_fallback)
    for (int32_t y : row.touched)
      if (row.acc[y] == 0.0f) row.acc[y] = unscored[y];
}

void clear(SparseRow& row) {
  for (int32_t y : row.touched) {
    row.acc[y] = 0.0f;
    row.mark[y] = 0;
  }
  row.touched.clear();
}

}  // namespace

void ItemCFSparseRanking::top_k(const HistoryBatch& batch, int64_t k, bool exclude_history,
                                int32_t* items_out, float* scores_out) const {
  if (k <= 0) throw InputError("top_k: k must be positive, got " + std::to_string(k));
  const int64_t n = num_items();
  ParallelInterrupt interrupt(16);  // a row takes microseconds: poll every 16th of thread 0
#pragma omp parallel
  {
    SparseRow& row = thread_row(n);
    std::vector<int32_t> banned, candidates;
#pragma omp for schedule(dynamic, 16)
    for (int64_t r = 0; r < batch.size; ++r) {
      if (interrupt.stop()) continue;
      score_sparse(*model_, unscored_, batch.history(r), batch.length(r), row);
      banned.clear();
      if (exclude_history) {
        banned.assign(batch.history(r), batch.history(r) + batch.length(r));
        std::sort(banned.begin(), banned.end());
      }
      auto is_banned = [&banned](int32_t y) {
        return !banned.empty() && std::binary_search(banned.begin(), banned.end(), y);
      };
      candidates.clear();
      for (int32_t y : row.touched)
        if (!std::isnan(row.acc[y]) && !is_banned(y)) candidates.push_back(y);
      // Items nobody scored, in their fixed order: the first k eligible ones can compete.
      int64_t taken = 0;
      for (size_t p = 0; p < unscored_order_.size() && taken < k; ++p) {
        const int32_t y = unscored_order_[p];
        if (row.mark[y] || is_banned(y)) continue;
        candidates.push_back(y);
        ++taken;
      }
      auto value = [this, &row](int32_t y) { return row.mark[y] ? row.acc[y] : unscored_[y]; };
      auto better = [&value](int32_t a, int32_t b) {
        const float va = value(a), vb = value(b);
        return va > vb || (va == vb && a < b);
      };
      const int64_t keep = std::min<int64_t>(k, candidates.size());
      std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), better);
      for (int64_t j = 0; j < k; ++j) {
        items_out[r * k + j] = j < keep ? candidates[j] : -1;
        scores_out[r * k + j] =
            j < keep ? value(candidates[j]) : -std::numeric_limits<float>::infinity();
      }
      clear(row);
    }
  }
  interrupt.throw_if_stopped();
}

void ItemCFSparseRanking::ranks(const HistoryBatch& batch, const int32_t* targets,
                                const RankOptions& options, double* ranks_out) const {
  const int64_t n = num_items();
  for (int64_t r = 0; r < batch.size; ++r)
    if (targets[r] < 0 || targets[r] >= n)
      throw InputError("ranks: target " + std::to_string(targets[r]) + " of row " +
                       std::to_string(r) + " is outside the catalogue of " + std::to_string(n) +
                       " items");
  std::atomic<int64_t> nan_row{-1};
#pragma omp parallel
  {
    SparseRow& row = thread_row(n);
    std::vector<int32_t> history;
#pragma omp for schedule(dynamic, 16)
    for (int64_t r = 0; r < batch.size; ++r) {
      score_sparse(*model_, unscored_, batch.history(r), batch.length(r), row);
      auto value = [this, &row](int32_t y) { return row.mark[y] ? row.acc[y] : unscored_[y]; };
      const int32_t target = targets[r];
      const float s = value(target);
      if (std::isnan(s)) {
        nan_row = r;
        ranks_out[r] = static_cast<double>(n);
        clear(row);
        continue;
      }
      // Every item at its fixed value, then the scored ones moved to their scores.
      const auto lower = std::lower_bound(unscored_sorted_.begin(), unscored_sorted_.end(), s);
      const auto upper = std::upper_bound(lower, unscored_sorted_.end(), s);
      int64_t greater = unscored_sorted_.end() - upper;
      int64_t equal = upper - lower;
      for (int32_t y : row.touched) {
        const float v = row.acc[y], u = unscored_[y];
        greater += static_cast<int64_t>(v > s) - static_cast<int64_t>(u > s);
        equal += static_cast<int64_t>(v == s) - static_cast<int64_t>(u == s);
      }
      equal -= 1;  // the target itself
      if (options.exclude_history) {
        history.assign(batch.history(r), batch.history(r) + batch.length(r));
        std::sort(history.begin(), history.end());
        history.erase(std::unique(history.begin(), history.end()), history.end());
        for (int32_t h : history) {
          if (h == target || h < 0 || h >= n) continue;
          greater -= value(h) > s;
          equal -= value(h) == s;
        }
      }
      ranks_out[r] = rank_from_counts(greater, equal, options.ties);
      clear(row);
    }
  }
  if (nan_row >= 0)
    throw InputError("ranks: the score of the target in row " + std::to_string(nan_row.load()) +
                     " is NaN");
}

std::vector<double> ItemCFSparseRanking::rank_examples(const SessionStore& store,
                                                       const ExampleSet& examples,
                                                       const RankOptions& options) const {
  // Blocks only bound the time between Ctrl-C polls: no score rows are kept.
  return rank_example_blocks(
      store, examples, 8192, [&](const HistoryBatch& batch, const int32_t* targets, double* out) {
        ranks(batch, targets, options, out);
      });
}

}  // namespace sessrec
