// Ranking metrics from 1-based target ranks (one relevant item per example).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sessrec {

enum class RankMetric { Hits, NDCG, MRR, Precision, Recall };

// Parses "hits", "ndcg", "mrr", "precision", "recall" (case-insensitive); throws InputError.
RankMetric parse_rank_metric(const std::string& name);

// Value for one example: Hits@K = [rank <= K]; NDCG@K = 1/log2(rank+1) if rank <= K;
// MRR@K = 1/rank if rank <= K; Precision@K = [rank <= K]/K; Recall@K = [rank <= K]
// (a single relevant item). Fractional ranks (the Average tie policy) are used as they are.
double rank_metric(RankMetric metric, double rank, int64_t k);

std::vector<double> rank_metric_values(RankMetric metric, const std::vector<double>& ranks,
                                       int64_t k);

}  // namespace sessrec
