// Bindings for cpp/sessrec/retrieval and the SessionScorer interface (cpp/sessrec/session_scorer.h).
#include <pybind11/stl.h>

#include "numpy_convert.h"
#include "sessrec/memory_budget.h"
#include "sessrec/session_scorer.h"
#include "sessrec/candidates/hard_negatives.h"
#include "sessrec/retrieval/cooccurrence_features.h"
#include "sessrec/retrieval/item_cf.h"
#include "sessrec/retrieval/popularity.h"
#include "sessrec/retrieval/session_knn.h"

namespace sessrec::bindings {

namespace {

// score(items, begin, end) -> (rows x num_items) float32 array, for any scorer.
py::array_t<float> score_histories(const SessionScorer& scorer, const Array<int32_t>& items,
                                   const Array<int64_t>& begin, const Array<int64_t>& end) {
  auto it = to_vector(items, "items");
  auto b = to_vector(begin, "begin");
  auto e = to_vector(end, "end");
  if (b.size() != e.size()) throw InputError("score: begin and end differ in length");
  const int64_t n = scorer.num_items();
  for (size_t r = 0; r < e.size(); ++r) {
    if (b[r] < 0 || b[r] > e[r] || e[r] > static_cast<int64_t>(it.size()))
      throw InputError("score: history " + std::to_string(r) + " has an invalid begin/end range");
    for (int64_t j = b[r]; j < e[r]; ++j)
      if (it[j] < 0 || it[j] >= n)
        throw InputError("score: history " + std::to_string(r) + " holds item index " +
                         std::to_string(it[j]) + " outside the catalogue of " + std::to_string(n));
  }
  const int64_t rows = static_cast<int64_t>(e.size());
  require_within_budget(bytes_of({rows, n, 4}),
                        "scoring " + std::to_string(rows) + " sessions over " + std::to_string(n) +
                            " items (a float32 score matrix)",
                        "score fewer sessions per call");
  py::array_t<float> out({rows, n});
  float* data = out.mutable_data();
  {
    py::gil_scoped_release release;
    scorer.score(HistoryBatch{it.data(), b.data(), e.data(), rows}, data);
  }
  return out;
}

}  // namespace

void bind_retrieval(py::module_& m) {
  m.def("mine_candidates", [](const py::object& scores, int64_t num_items, const Array<int32_t>& targets,
                              int64_t k1, int64_t k2, int64_t num_hard, int64_t num_random,
                              int64_t num_aug, float aug_weight, uint64_t seed) {
    auto t = to_vector(targets, "targets");
    const int64_t rows = static_cast<int64_t>(t.size());
    for (int32_t id : t)
      if (id < 1 || id > num_items)
        throw InputError("mine_candidates: target ids are item index + 1, in [1, num_items]");
    std::vector<float> s;
    if (!scores.is_none()) {
      auto a = scores.cast<py::array_t<float, py::array::c_style | py::array::forcecast>>();
      if (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) != num_items)
        throw InputError("mine_candidates: scores must be [len(targets), num_items]");
      s.assign(a.data(), a.data() + a.size());
    }
    MiningConfig config{k1, k2, num_hard, num_random, num_aug, aug_weight};
    MiningLayout layout = mining_layout(config, num_items, !scores.is_none());
    const int64_t C = layout.columns();
    py::array_t<int32_t> cand({rows, C});
    py::array_t<float> label({rows, C});
    mine_candidates(s.empty() ? nullptr : s.data(), rows, num_items, t.data(), layout, aug_weight,
                    seed, 0, cand.mutable_data(), label.mutable_data());
    return py::make_tuple(cand, label);
  }, py::arg("scores"), py::arg("num_items"), py::arg("targets"), py::arg("k1"), py::arg("k2"),
     py::arg("num_hard"), py::arg("num_random"), py::arg("num_aug") = 0, py::arg("aug_weight") = 0.1f,
     py::arg("seed") = 0,
     "Candidate lists [rows, 1 + aug + hard + random] (ids = index + 1, -1 = dropped) and their "
     "positive weights, as AlterRec's training step builds them from a teacher's scores.");
  py::class_<SessionScorer, std::shared_ptr<SessionScorer>>(m, "SessionScorer")
      .def_property_readonly("num_items", &SessionScorer::num_items)
      .def_property_readonly("preferred_block_rows", &SessionScorer::preferred_block_rows)
      .def("score", &score_histories, py::arg("items"), py::arg("begin"), py::arg("end"));

  py::class_<PopularityScorer, SessionScorer, std::shared_ptr<PopularityScorer>>(m, "PopularityScorer")
      .def(py::init([](const Array<int64_t>& counts) {
        return PopularityScorer(to_vector(counts, "counts"));
      }))
      .def_property_readonly("counts", [](const PopularityScorer& p) {
        return to_numpy(std::vector<int64_t>(p.counts()));
      });

  py::class_<ItemCFConfig>(m, "ItemCFConfig")
      .def(py::init<>())
      .def_readwrite("distance_offset", &ItemCFConfig::distance_offset)
      .def_readwrite("distance_power", &ItemCFConfig::distance_power)
      .def_readwrite("forward_weight", &ItemCFConfig::forward_weight)
      .def_readwrite("backward_weight", &ItemCFConfig::backward_weight)
      .def_readwrite("last_item_weight", &ItemCFConfig::last_item_weight)
      .def_readwrite("source_norm_power", &ItemCFConfig::source_norm_power)
      .def_readwrite("target_norm_power", &ItemCFConfig::target_norm_power)
      .def_readwrite("top_n", &ItemCFConfig::top_n)
      .def_readwrite("window", &ItemCFConfig::window)
      .def_readwrite("recency_decay", &ItemCFConfig::recency_decay)
      .def_readwrite("popularity_fallback", &ItemCFConfig::popularity_fallback);

  py::class_<ItemCF, SessionScorer, std::shared_ptr<ItemCF>>(m, "ItemCF")
      .def(py::init<ItemCFConfig, int64_t>(), py::arg("config"), py::arg("num_items"))
      .def("fit", &ItemCF::fit, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("offsets", [](py::object self) { return view_numpy(self.cast<const ItemCF&>().offsets(), self); })
      .def_property_readonly("indices", [](py::object self) { return view_numpy(self.cast<const ItemCF&>().indices(), self); })
      .def_property_readonly("similarities", [](py::object self) { return view_numpy(self.cast<const ItemCF&>().similarities(), self); })
      .def_property_readonly("counts", [](py::object self) { return view_numpy(self.cast<const ItemCF&>().counts(), self); })
      .def("set_state", [](ItemCF& cf, const Array<int64_t>& offsets, const Array<int32_t>& indices,
                           const Array<float>& sims, const Array<int64_t>& counts) {
        cf.set_state(to_vector(offsets, "offsets"), to_vector(indices, "indices"),
                     to_vector(sims, "similarities"), to_vector(counts, "counts"));
      });

  py::class_<CooccurrenceGraph, std::shared_ptr<CooccurrenceGraph>>(
      m, "CooccurrenceGraph",
      "The undirected ItemCF co-occurrence graph (cpp/sessrec/retrieval/cooccurrence_features.h): "
      "edge {x, y} weighs sim(x, y) + sim(y, x); rows sorted by neighbour.")
      .def(py::init([](int64_t num_items, const Array<int64_t>& offsets,
                       const Array<int32_t>& neighbours, const Array<float>& weights) {
             CooccurrenceGraph g;
             g.num_items = num_items;
             g.offsets = to_vector(offsets, "offsets");
             g.neighbours = to_vector(neighbours, "neighbours");
             g.weights = to_vector(weights, "weights");
             g.validate();
             return g;
           }),
           py::arg("num_items"), py::arg("offsets"), py::arg("neighbours"), py::arg("weights"),
           "A graph saved from offsets/neighbours/weights (validated, not symmetrised again).")
      .def_static("from_neighbours", [](int64_t num_items, const Array<int64_t>& offsets,
                                        const Array<int32_t>& indices, const Array<float>& sims) {
             auto o = to_vector(offsets, "offsets");
             auto i = to_vector(indices, "indices");
             auto s = to_vector(sims, "similarities");
             if (static_cast<int64_t>(o.size()) != num_items + 1 || o.front() != 0 ||
                 o.back() != static_cast<int64_t>(i.size()) || i.size() != s.size())
               throw InputError("CooccurrenceGraph.from_neighbours: offsets, indices and "
                                "similarities disagree in size");
             py::gil_scoped_release release;
             return symmetric_cooccurrence_graph(num_items, o.data(), i.data(), s.data());
           },
           py::arg("num_items"), py::arg("offsets"), py::arg("indices"), py::arg("similarities"),
           "The symmetrised graph of a directed neighbour CSR (ItemCF's offsets, indices, "
           "similarities).")
      .def_readonly("num_items", &CooccurrenceGraph::num_items)
      .def_property_readonly("offsets", [](py::object self) { return view_numpy(self.cast<const CooccurrenceGraph&>().offsets, self); })
      .def_property_readonly("neighbours", [](py::object self) { return view_numpy(self.cast<const CooccurrenceGraph&>().neighbours, self); })
      .def_property_readonly("weights", [](py::object self) { return view_numpy(self.cast<const CooccurrenceGraph&>().weights, self); })
      .def("edge_weight_stats", [](const CooccurrenceGraph& g, const Array<int32_t>& items,
                                   const Array<int64_t>& begin, const Array<int64_t>& end,
                                   const Array<int32_t>& candidates) {
             auto it = to_vector(items, "items");
             auto b = to_vector(begin, "begin");
             auto e = to_vector(end, "end");
             if (b.size() != e.size()) throw InputError("edge_weight_stats: begin and end differ in length");
             for (size_t r = 0; r < e.size(); ++r)
               if (b[r] < 0 || b[r] > e[r] || e[r] > static_cast<int64_t>(it.size()))
                 throw InputError("edge_weight_stats: history " + std::to_string(r) +
                                  " has an invalid begin/end range");
             const int64_t rows = static_cast<int64_t>(e.size());
             if (candidates.ndim() != 2 || candidates.shape(0) != rows)
               throw InputError("edge_weight_stats: candidates must be [histories, width]");
             const int64_t width = candidates.shape(1);
             py::array_t<float> out({rows, width, static_cast<int64_t>(kEdgeStats)});
             float* data = out.mutable_data();
             const int32_t* cand = candidates.data();
             {
               py::gil_scoped_release release;
               edge_weight_stats(g, HistoryBatch{it.data(), b.data(), e.data(), rows}, cand,
                                 width, data);
             }
             return out;
           },
           py::arg("items"), py::arg("begin"), py::arg("end"), py::arg("candidates"),
           "[histories, width, 4] float32: mean, count, max and std of weight{h, c} over the "
           "distinct history items h with an edge to candidate c (-1: empty slot; all 0 without "
           "an edge).");

  py::class_<SessionKNNConfig>(m, "SessionKNNConfig")
      .def(py::init<>())
      .def_readwrite("k", &SessionKNNConfig::k)
      .def_readwrite("sample_size", &SessionKNNConfig::sample_size)
      .def_readwrite("sampling", &SessionKNNConfig::sampling)
      .def_readwrite("similarity", &SessionKNNConfig::similarity)
      .def_readwrite("weighting", &SessionKNNConfig::weighting)
      .def_readwrite("weighting_score", &SessionKNNConfig::weighting_score)
      .def_readwrite("idf_weighting", &SessionKNNConfig::idf_weighting)
      .def_readwrite("remind", &SessionKNNConfig::remind)
      .def_readwrite("last_n_clicks", &SessionKNNConfig::last_n_clicks)
      .def_readwrite("seed", &SessionKNNConfig::seed)
      .def_readwrite("popularity_fallback", &SessionKNNConfig::popularity_fallback);

  py::class_<SessionKNN, SessionScorer, std::shared_ptr<SessionKNN>>(m, "SessionKNN")
      .def(py::init<SessionKNNConfig, int64_t>(), py::arg("config"), py::arg("num_items"))
      .def("fit", [](SessionKNN& knn, const SessionStore& train, const Array<int64_t>& times) {
        auto t = to_vector(times, "session_times");
        py::gil_scoped_release release;
        knn.fit(train, t);
      }, py::arg("train"), py::arg("session_times"));
}

}  // namespace sessrec::bindings
