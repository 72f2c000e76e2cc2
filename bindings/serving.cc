// Bindings for serving and catalogue-scale ranking: ItemCF's exact sparse ranking
// (cpp/sessrec/retrieval/item_cf_sparse_ranking.h) and quantised item tables with exact
// re-scoring (cpp/sessrec/retrieval/quantised_items.h).
#include <pybind11/stl.h>

#include "numpy_convert.h"
#include "sessrec/eval/ranking.h"
#include "sessrec/memory_budget.h"
#include "sessrec/retrieval/item_cf_sparse_ranking.h"
#include "sessrec/retrieval/quantised_items.h"

namespace sessrec::bindings {

namespace {

// (items, begin, end) index histories, each range inside items and every item in the catalogue.
struct Histories {
  std::vector<int32_t> items;
  std::vector<int64_t> begin, end;
  HistoryBatch batch() const {
    return HistoryBatch{items.data(), begin.data(), end.data(), static_cast<int64_t>(end.size())};
  }
};

Histories checked_histories(const Array<int32_t>& items, const Array<int64_t>& begin,
                            const Array<int64_t>& end, int64_t num_items, const char* what) {
  Histories h{to_vector(items, "items"), to_vector(begin, "begin"), to_vector(end, "end")};
  if (h.begin.size() != h.end.size())
    throw InputError(std::string(what) + ": begin and end differ in length");
  for (size_t r = 0; r < h.end.size(); ++r) {
    if (h.begin[r] < 0 || h.begin[r] > h.end[r] || h.end[r] > static_cast<int64_t>(h.items.size()))
      throw InputError(std::string(what) + ": history " + std::to_string(r) +
                       " has an invalid begin/end range");
    for (int64_t j = h.begin[r]; j < h.end[r]; ++j)
      if (h.items[j] < 0 || h.items[j] >= num_items)
        throw InputError(std::string(what) + ": history " + std::to_string(r) +
                         " holds item index " + std::to_string(h.items[j]) +
                         " outside the catalogue of " + std::to_string(num_items));
  }
  return h;
}

void check_matrix(const Array<float>& a, const char* name) {
  if (a.ndim() != 2)
    throw InputError(std::string(name) + " must be a 2-D float32 array, got " +
                     std::to_string(a.ndim()) + " dimensions");
}

void check_k(int64_t k, const char* what) {
  if (k <= 0)
    throw InputError(std::string(what) + ": k must be positive, got " + std::to_string(k));
}

}  // namespace

void bind_serving(py::module_& m) {
  py::class_<ItemCFSparseRanking, std::shared_ptr<ItemCFSparseRanking>>(
      m, "ItemCFSparseRanking",
      "Exact ItemCF top-k and target ranks from the scored items and the fixed popularity order, "
      "without a dense score row (cpp/sessrec/retrieval/item_cf_sparse_ranking.h).")
      .def(py::init([](std::shared_ptr<ItemCF> model) {
             py::gil_scoped_release release;
             return std::make_shared<ItemCFSparseRanking>(std::move(model));
           }),
           py::arg("model"))
      .def_property_readonly("num_items", &ItemCFSparseRanking::num_items)
      .def(
          "top_k",
          [](const ItemCFSparseRanking& ranking, const Array<int32_t>& items,
             const Array<int64_t>& begin, const Array<int64_t>& end, int64_t k,
             bool exclude_history) {
            check_k(k, "top_k");
            Histories h = checked_histories(items, begin, end, ranking.num_items(), "top_k");
            const int64_t rows = static_cast<int64_t>(h.end.size());
            require_within_budget(
                bytes_of({rows, k, 8}),
                "the top " + std::to_string(k) + " items of " + std::to_string(rows) + " sessions",
                "ask for a smaller k");
            py::array_t<int32_t> top({rows, k});
            py::array_t<float> scores({rows, k});
            int32_t* top_out = top.mutable_data();
            float* scores_out = scores.mutable_data();
            {
              py::gil_scoped_release release;
              ranking.top_k(h.batch(), k, exclude_history, top_out, scores_out);
            }
            return py::make_tuple(top, scores);
          },
          py::arg("items"), py::arg("begin"), py::arg("end"), py::arg("k"),
          py::arg("exclude_history") = true,
          "(items int32 [n, k], scores float32 [n, k]), as top_k_from_scores over ItemCF.score.")
      .def(
          "rank_examples",
          [](const ItemCFSparseRanking& ranking, const SessionStore& store,
             const ExampleSet& examples, const std::string& ties, bool exclude_history) {
            for (int64_t r = 0; r < examples.size(); ++r)
              if (examples.end[r] >= store.num_events() || examples.begin[r] < 0 ||
                  examples.begin[r] > examples.end[r])
                throw InputError("rank_examples: example " + std::to_string(r) +
                                 " points outside the session store");
            RankOptions options{parse_tie_policy(ties), exclude_history};
            std::vector<double> ranks;
            {
              py::gil_scoped_release release;
              ranks = ranking.rank_examples(store, examples, options);
            }
            return to_numpy(std::move(ranks));
          },
          py::arg("store"), py::arg("examples"), py::arg("ties") = "pessimistic",
          py::arg("exclude_history") = false,
          "Ranks of every example's target, as rank_examples(ItemCF, ...).");

  py::class_<QuantisedItemTable, std::shared_ptr<QuantisedItemTable>>(
      m, "QuantisedItemTable",
      "An int8 (per-row scale) or bfloat16 copy of an item table for approximate inner products "
      "(cpp/sessrec/retrieval/quantised_items.h).")
      .def(py::init([](const Array<float>& items, const std::string& kind) {
             check_matrix(items, "items");
             const ItemQuantisation q = parse_item_quantisation(kind);
             py::gil_scoped_release release;
             return std::make_shared<QuantisedItemTable>(items.data(), items.shape(0),
                                                         items.shape(1), q);
           }),
           py::arg("items"), py::arg("kind"))
      .def_property_readonly("num_items", &QuantisedItemTable::num_items)
      .def_property_readonly("dim", &QuantisedItemTable::dim)
      .def_property_readonly("nbytes", &QuantisedItemTable::bytes)
      .def_property_readonly("kind",
                             [](const QuantisedItemTable& t) {
                               return t.kind() == ItemQuantisation::Int8 ? "int8" : "bf16";
                             })
      .def(
          "approximate_scores",
          [](const QuantisedItemTable& t, const Array<float>& query) {
            if (query.ndim() != 1 || query.shape(0) != t.dim())
              throw InputError("approximate_scores: the query must be a vector of " +
                               std::to_string(t.dim()) + " values");
            py::array_t<float> out(t.num_items());
            float* data = out.mutable_data();
            {
              py::gil_scoped_release release;
              t.approximate_scores(query.data(), data);
            }
            return out;
          },
          py::arg("query"))
      .def(
          "top_candidates",
          [](const QuantisedItemTable& t, const Array<float>& queries, int64_t pool) {
            check_matrix(queries, "queries");
            if (queries.shape(1) != t.dim())
              throw InputError("top_candidates: queries have " + std::to_string(queries.shape(1)) +
                               " columns, the table " + std::to_string(t.dim()));
            if (pool <= 0) throw InputError("top_candidates: pool must be positive");
            const int64_t rows = queries.shape(0);
            py::array_t<int32_t> out({rows, pool});
            int32_t* data = out.mutable_data();
            {
              py::gil_scoped_release release;
              t.top_candidates(queries.data(), rows, pool, data);
            }
            return out;
          },
          py::arg("queries"), py::arg("pool"),
          "The pool items of highest approximate score per query, int32 [len(queries), pool].");

  m.def(
      "exact_rescore_top_k",
      [](const Array<float>& queries, const Array<float>& items, const Array<int32_t>& candidates,
         int64_t k, const py::object& exclude) {
        check_matrix(queries, "queries");
        check_matrix(items, "items");
        check_k(k, "exact_rescore_top_k");
        if (queries.shape(1) != items.shape(1))
          throw InputError("exact_rescore_top_k: queries have " + std::to_string(queries.shape(1)) +
                           " columns, the items " + std::to_string(items.shape(1)));
        if (candidates.ndim() != 2 || candidates.shape(0) != queries.shape(0))
          throw InputError("exact_rescore_top_k: candidates must be [len(queries), width]");
        const int64_t rows = queries.shape(0);
        Histories h;
        if (!exclude.is_none()) {
          auto t = exclude.cast<py::tuple>();
          if (t.size() != 3) throw InputError("exclude must be a tuple (items, begin, end)");
          h = checked_histories(t[0].cast<Array<int32_t>>(), t[1].cast<Array<int64_t>>(),
                                t[2].cast<Array<int64_t>>(), items.shape(0), "exclude");
          if (static_cast<int64_t>(h.end.size()) != rows)
            throw InputError("exclude: " + std::to_string(h.end.size()) + " histories for " +
                             std::to_string(rows) + " queries");
        }
        HistoryBatch batch = h.batch();
        py::array_t<int32_t> top({rows, k});
        py::array_t<float> scores({rows, k});
        int32_t* top_out = top.mutable_data();
        float* scores_out = scores.mutable_data();
        {
          py::gil_scoped_release release;
          exact_rescore_top_k(queries.data(), rows, items.data(), items.shape(0), items.shape(1),
                              candidates.data(), candidates.shape(1), k,
                              exclude.is_none() ? nullptr : &batch, top_out, scores_out);
        }
        return py::make_tuple(top, scores);
      },
      py::arg("queries"), py::arg("items"), py::arg("candidates"), py::arg("k"),
      py::arg("exclude") = py::none(),
      "Exact float32 inner products of each query with its candidates (-1 skipped; history items "
      "skipped with exclude=(items, begin, end)); the top k as (int32 [n, k], float32 [n, k]), "
      "padded with -1 / -inf.");
}

}  // namespace sessrec::bindings
