#include "sessrec/eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "sessrec/errors.h"

namespace sessrec {

RankMetric parse_rank_metric(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "hits" || lower == "hr" || lower == "hit") return RankMetric::Hits;
  if (lower == "ndcg") return RankMetric::NDCG;
  if (lower == "mrr") return RankMetric::MRR;
  if (lower == "precision") return RankMetric::Precision;
  if (lower == "recall") return RankMetric::Recall;
  throw InputError("unknown ranking metric '" + name +
                   "' (expected hits, ndcg, mrr, precision or recall)");
}

double rank_metric(RankMetric metric, double rank, int64_t k) {
  if (k <= 0) throw InputError("rank_metric: K must be positive");
  if (!(rank >= 1.0)) throw InputError("rank_metric: ranks start at 1, got " + std::to_string(rank));
  if (rank > static_cast<double>(k)) return 0.0;
  switch (metric) {
    case RankMetric::Hits:
    case RankMetric::Recall:
      return 1.0;
    case RankMetric::NDCG:
      return 1.0 / std::log2(rank + 1.0);
    case RankMetric::MRR:
      return 1.0 / rank;
    case RankMetric::Precision:
      return 1.0 / static_cast<double>(k);
  }
  return 0.0;
}

std::vector<double> rank_metric_values(RankMetric metric, const std::vector<double>& ranks,
                                       int64_t k) {
  std::vector<double> out(ranks.size());
  for (size_t i = 0; i < ranks.size(); ++i) out[i] = rank_metric(metric, ranks[i], k);
  return out;
}

}  // namespace sessrec
