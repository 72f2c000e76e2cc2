// V-SKNN, the vector-multiplication session-kNN of session-rec (Ludewig & Jannach 2018).
//
// The query session h_1..h_T is a real-valued vector: item h_p gets position weight p/T
// (linear decay; the last item weighs 1; a repeated item keeps its latest weight). Candidate
// neighbours are the `sample_size` most recent training sessions that share an item with the
// query. Similarity to a candidate n is the dot product of the query vector with n's binary
// item vector (optionally divided by sqrt(|h| * |n|), "cosine"). The k most similar candidates
// vote: score(i) = sum of sim(h, n) over neighbours n that contain i.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/session_store.h"
#include "sessrec/models/session_scorer.h"

namespace sessrec {

struct SessionKNNConfig {
  int64_t k = 100;
  int64_t sample_size = 500;
  bool cosine = false;
  bool popularity_fallback = true;

  void validate() const;
};

class SessionKNN : public SessionScorer {
 public:
  SessionKNN(SessionKNNConfig config, int64_t num_items);

  // `session_times` orders sessions by recency (larger = more recent); empty means the store
  // order is the time order.
  void fit(const SessionStore& train, const std::vector<int64_t>& session_times);

  int64_t num_items() const override { return num_items_; }
  void score(const HistoryBatch& batch, float* out) const override;
  const SessionKNNConfig& config() const { return config_; }

 private:
  SessionKNNConfig config_;
  int64_t num_items_;
  // Distinct items of each training session, sorted (CSR).
  std::vector<int64_t> session_offsets_;
  std::vector<int32_t> session_items_;
  std::vector<int64_t> recency_;  // per session; larger = more recent
  // Sessions of each item, most recent first (CSR).
  std::vector<int64_t> item_offsets_;
  std::vector<int32_t> item_sessions_;
  std::vector<int64_t> counts_;
  int64_t max_count_ = 0;
};

}  // namespace sessrec
