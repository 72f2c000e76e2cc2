// V-SKNN, the vector-multiplication session-kNN of session-rec (Ludewig & Jannach 2018;
// session-rec's algorithms/knn/vsknn.py, class VMContextKNN). The defaults were tuned on
// validation (python/sessrec/models/session_knn.py gives the evidence); session-rec's are
// k 100, sample_size 500 (its docstring), vec, div, div, no idf weighting.
//
// Query: the last `last_n_clicks` items h_1..h_T of the session (all if 0); item h_p gets the
// position weight w(p, T) of `weighting` (a repeated item keeps its latest weight).
// Candidates: training sessions sharing an item with the whole history; if more than
// `sample_size` (0 = no limit), the most recent ones (by each session's last event time) or a
// random sample. Similarity of a candidate n (binary item set), over the distinct query items q:
//   "vec"     sum_{i in q & n} w_i / |q|
//   "cosine"  sum_{i in q & n} w_i / (sqrt(sum_{i in q} w_i^2) * sqrt(|n|))
//   "jaccard" |q & n| / |q | n|                                  (ignores the weights)
// The k most similar candidates with a positive similarity vote: each item i of neighbour n
// gains sim(n) * (1 + idf_weighting * idf(i)) * d(step), where step is the 1-based distance
// from the end of the query of the most recent query item that n contains, d is
// `weighting_score` and idf(i) = ln(#training sessions / #training events of i). Without
// `remind`, the query's own items gain nothing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/data/session_store.h"
#include "sessrec/session_scorer.h"

namespace sessrec {

// session-rec's decay functions, used both for position weights and for score decay, by name:
// "same", "div", "linear", "log", "quadratic".
enum class KnnDecay { kSame, kDiv, kLinear, kLog, kQuadratic };
KnnDecay knn_decay_from_name(const std::string& name);

// Weight of the query item at 1-based position p of T (session-rec `weighting`):
// same 1; div p/T; linear max(0, 1 - 0.1 (T - p)); log 1 / log10(T - p + 1.7); quadratic (p/T)^2.
// session-rec's linear returns 0 for every p > 10 and negative weights for T - p > 10; here it
// is the decay its docstring describes (equal to session-rec's for T <= 10).
float knn_position_weight(KnnDecay decay, int64_t p, int64_t T);

// Decay of a neighbour's vote, step >= 1 (session-rec `weighting_score`): same 1; div 1/step;
// linear max(0, 1 - 0.1 step) (session-rec goes negative after step 10); log
// 1 / log10(step + 1.7); quadratic 1/step^2.
float knn_score_decay(KnnDecay decay, int64_t step);

struct SessionKNNConfig {
  int64_t k = 200;
  int64_t sample_size = 1000;                 // 0: every session sharing an item
  std::string sampling = "recent";            // "recent" | "random"
  std::string similarity = "cosine";          // "vec" | "cosine" | "jaccard"
  std::string weighting = "log";              // position weights of the query
  std::string weighting_score = "quadratic";  // decay of a neighbour's vote
  double idf_weighting = 5.0;                 // 0: off (session-rec False)
  bool remind = true;                         // score the query's own items
  int64_t last_n_clicks = 0;                  // 0: the whole history
  uint64_t seed = 0;                          // for sampling == "random"
  bool popularity_fallback = true;

  void validate() const;
};

class SessionKNN : public SessionScorer {
 public:
  SessionKNN(SessionKNNConfig config, int64_t num_items);

  // `session_times` orders sessions by recency (larger = more recent; session-rec uses each
  // session's last event time); empty means the store order is the time order.
  void fit(const SessionStore& train, const std::vector<int64_t>& session_times);

  int64_t num_items() const override { return num_items_; }
  void score(const HistoryBatch& batch, float* out) const override;
  const SessionKNNConfig& config() const { return config_; }

 private:
  enum class Similarity { kVec, kCosine, kJaccard };

  SessionKNNConfig config_;
  KnnDecay weighting_, weighting_score_;
  Similarity similarity_;
  bool random_sampling_;
  int64_t num_items_;
  // Distinct items of each training session, sorted (CSR).
  std::vector<int64_t> session_offsets_;
  std::vector<int32_t> session_items_;
  std::vector<int64_t> recency_;  // per session; larger = more recent
  // Sessions of each item, most recent first (CSR).
  std::vector<int64_t> item_offsets_;
  std::vector<int32_t> item_sessions_;
  std::vector<int64_t> counts_;
  std::vector<float> idf_;  // per item; 0 for items absent from training
  int64_t max_count_ = 0;
};

}  // namespace sessrec
