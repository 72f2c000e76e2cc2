// The ItemCF co-occurrence graph and the per-candidate edge-weight statistics of the KDD Cup
// 2023 5th-place rerank (Zhang et al. 2023, §2.2.3: "neighbor node relationship
// characteristics such as mean, count, maximum, and standard deviation of edge weights").
//
// The graph is undirected: ItemCF keeps, per item x, its top-N neighbours y with a directed
// similarity sim(x, y); the edge {x, y} weighs sim(x, y) + sim(y, x) (a similarity missing from
// a neighbour list counts 0). Rows are sorted by neighbour index, so an edge is found by binary
// search. There are no self-loops (ItemCF never pairs an item with itself).
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/examples.h"

namespace sessrec {

struct CooccurrenceGraph {
  int64_t num_items = 0;
  std::vector<int64_t> offsets;     // num_items + 1
  std::vector<int32_t> neighbours;  // ascending within each row
  std::vector<float> weights;       // weight of {x, neighbours[j]}, > 0

  // Checks the CSR invariants (sizes, ranges, strictly ascending rows, symmetry is assumed).
  void validate() const;
  // Weight of the edge {x, y}; 0 when there is none.
  float weight(int32_t x, int32_t y) const;
};

// The undirected graph of a directed neighbour CSR (ItemCF's offsets/indices/similarities).
// Entries with a similarity <= 0 are not edges. OpenMP over rows.
CooccurrenceGraph symmetric_cooccurrence_graph(int64_t num_items, const int64_t* offsets,
                                               const int32_t* indices, const float* similarities);

// Statistics per (history, candidate) written to out[(r * width + j) * kEdgeStats + stat].
inline constexpr int kEdgeStats = 4;
enum EdgeStat : int { kEdgeMean = 0, kEdgeCount = 1, kEdgeMax = 2, kEdgeStd = 3 };

// For history r and candidate c = candidates[r * width + j] (-1: an empty slot): over the
// *distinct* items h of the history that share an edge with c, the mean, count, maximum and
// population standard deviation of weight{h, c}. A candidate without such an edge (or an empty
// slot) gets 0 for all four. OpenMP over histories; deterministic at any thread count.
void edge_weight_stats(const CooccurrenceGraph& graph, const HistoryBatch& histories,
                       const int32_t* candidates, int64_t width, float* out);

}  // namespace sessrec
