// Bindings for cpp/sessrec/eval: ranks from scores or from a scorer, top-K, rank metrics.
#include <pybind11/stl.h>

#include "numpy_convert.h"
#include "sessrec/eval/metrics.h"
#include "sessrec/eval/ranking.h"
#include "sessrec/eval/representation.h"
#include "sessrec/eval/task_metrics.h"
#include "sessrec/memory_budget.h"

namespace sessrec::bindings {

namespace {

// Histories given from Python as (items, begin, end) arrays, checked against the score rows.
struct PyHistories {
  std::vector<int32_t> items;
  std::vector<int64_t> begin, end;
  HistoryBatch batch() const {
    return HistoryBatch{items.data(), begin.data(), end.data(), static_cast<int64_t>(end.size())};
  }
};

PyHistories to_histories(const py::object& histories, int64_t rows) {
  auto t = histories.cast<py::tuple>();
  if (t.size() != 3) throw InputError("histories must be a tuple (items, begin, end)");
  PyHistories h{to_vector(t[0].cast<Array<int32_t>>(), "history items"),
                to_vector(t[1].cast<Array<int64_t>>(), "history begin"),
                to_vector(t[2].cast<Array<int64_t>>(), "history end")};
  if (static_cast<int64_t>(h.begin.size()) != rows || static_cast<int64_t>(h.end.size()) != rows)
    throw InputError("histories: begin/end have " + std::to_string(h.end.size()) + " rows, scores have " +
                     std::to_string(rows));
  for (int64_t r = 0; r < rows; ++r)
    if (h.begin[r] < 0 || h.begin[r] > h.end[r] || h.end[r] > static_cast<int64_t>(h.items.size()))
      throw InputError("histories: row " + std::to_string(r) + " has an invalid begin/end range");
  return h;
}

using Scores = py::array_t<float, py::array::c_style | py::array::forcecast>;

void check_scores(const Scores& scores) {
  if (scores.ndim() != 2)
    throw InputError("scores must be a 2-D array (sessions x items), got " +
                     std::to_string(scores.ndim()) + " dimensions");
}

}  // namespace

void bind_eval(py::module_& m) {
  m.def("ranks_from_scores",
        [](const Scores& scores, const Array<int32_t>& targets, const py::object& histories,
           const std::string& ties, bool exclude_history) {
          check_scores(scores);
          const int64_t rows = scores.shape(0), n = scores.shape(1);
          auto t = to_vector(targets, "targets");
          if (static_cast<int64_t>(t.size()) != rows)
            throw InputError("ranks_from_scores: " + std::to_string(t.size()) + " targets for " +
                             std::to_string(rows) + " score rows");
          PyHistories h;
          if (!histories.is_none()) h = to_histories(histories, rows);
          HistoryBatch batch = h.batch();
          RankOptions options{parse_tie_policy(ties), exclude_history};
          std::vector<double> ranks(rows);
          {
            py::gil_scoped_release release;
            ranks_from_scores(scores.data(), rows, n, t.data(), histories.is_none() ? nullptr : &batch,
                              options, ranks.data());
          }
          return to_numpy(std::move(ranks));
        },
        py::arg("scores"), py::arg("targets"), py::arg("histories") = py::none(),
        py::arg("ties") = "pessimistic", py::arg("exclude_history") = false);

  m.def("rank_examples",
        [](const SessionScorer& scorer, const SessionStore& store, const ExampleSet& examples,
           const std::string& ties, bool exclude_history, int64_t block_bytes) {
          for (int64_t r = 0; r < examples.size(); ++r)
            if (examples.end[r] >= store.num_events() || examples.begin[r] < 0)
              throw InputError("rank_examples: example " + std::to_string(r) +
                               " points outside the session store");
          RankOptions options{parse_tie_policy(ties), exclude_history, block_bytes};
          std::vector<double> ranks;
          {
            py::gil_scoped_release release;
            ranks = rank_examples(scorer, store, examples, options);
          }
          return to_numpy(std::move(ranks));
        },
        py::arg("scorer"), py::arg("store"), py::arg("examples"), py::arg("ties") = "pessimistic",
        py::arg("exclude_history") = false, py::arg("block_bytes") = int64_t{32} << 20);

  m.def("rank_block_rows", &rank_block_rows, py::arg("scorer"), py::arg("block_bytes"),
        "Rows rank_examples scores per block for this scorer and block budget.");

  m.def("top_k_from_scores",
        [](const Scores& scores, int64_t k, const py::object& exclude) {
          check_scores(scores);
          const int64_t rows = scores.shape(0), n = scores.shape(1);
          PyHistories h;
          if (!exclude.is_none()) h = to_histories(exclude, rows);
          HistoryBatch batch = h.batch();
          require_within_budget(bytes_of({rows, k, 8}),
                                "the top " + std::to_string(k) + " items of " +
                                    std::to_string(rows) + " rows",
                                "ask for a smaller k");
          py::array_t<int32_t> items({rows, k});
          py::array_t<float> top({rows, k});
          int32_t* items_out = items.mutable_data();
          float* top_out = top.mutable_data();
          {
            py::gil_scoped_release release;
            top_k_from_scores(scores.data(), rows, n, k, exclude.is_none() ? nullptr : &batch,
                              items_out, top_out);
          }
          return py::make_tuple(items, top);
        },
        py::arg("scores"), py::arg("k"), py::arg("exclude") = py::none());

  m.def("rank_metric_values",
        [](const std::string& metric, const Array<double>& ranks, int64_t k) {
          return to_numpy(rank_metric_values(parse_rank_metric(metric), to_vector(ranks, "ranks"), k));
        },
        py::arg("metric"), py::arg("ranks"), py::arg("k"));

  // Classification and regression metrics of the UBM downstream tasks (eval/task_metrics.h).
  m.def("classification_metrics",
        [](const Array<double>& y_true, const Array<double>& y_score, double threshold) {
          auto t = to_vector(y_true, "y_true"), s = to_vector(y_score, "y_score");
          ClassificationMetrics r = classification_metrics(t, s, threshold);
          py::dict out;
          out["accuracy"] = r.accuracy;
          out["auroc"] = r.auroc;
          out["f1"] = r.f1;
          out["cohen_kappa"] = r.cohen_kappa;
          out["true_positives"] = r.confusion.true_positives;
          out["false_positives"] = r.confusion.false_positives;
          out["true_negatives"] = r.confusion.true_negatives;
          out["false_negatives"] = r.confusion.false_negatives;
          return out;
        },
        py::arg("y_true"), py::arg("y_score"), py::arg("threshold"));

  m.def("regression_metrics",
        [](const Array<double>& y_true, const Array<double>& y_pred) {
          RegressionMetrics r =
              regression_metrics(to_vector(y_true, "y_true"), to_vector(y_pred, "y_pred"));
          py::dict out;
          out["mae"] = r.mae;
          out["mse"] = r.mse;
          out["msle"] = r.msle;
          out["r2"] = r.r2;
          return out;
        },
        py::arg("y_true"), py::arg("y_pred"));

  // Alignment and uniformity of representations (eval/representation.h).
  m.def("alignment_uniformity",
        [](const Array<double>& x, const Array<double>& y, double alpha, double t) {
          if (x.ndim() != 2 || y.ndim() != 2)
            throw InputError("alignment_uniformity: x and y must be 2-D [n, d] arrays, got " +
                             std::to_string(x.ndim()) + " and " + std::to_string(y.ndim()) +
                             " dimensions");
          if (x.shape(0) != y.shape(0) || x.shape(1) != y.shape(1))
            throw InputError("alignment_uniformity: x is [" + std::to_string(x.shape(0)) + ", " +
                             std::to_string(x.shape(1)) + "] but y is [" +
                             std::to_string(y.shape(0)) + ", " + std::to_string(y.shape(1)) +
                             "]; rows of x and y must be positive pairs of the same width");
          AlignmentUniformity r;
          {
            py::gil_scoped_release release;
            r = alignment_uniformity(x.data(), y.data(), x.shape(0), x.shape(1), alpha, t);
          }
          py::dict out;
          out["alignment"] = r.alignment;
          out["uniformity"] = r.uniformity;
          out["uniformity_x"] = r.uniformity_x;
          out["uniformity_y"] = r.uniformity_y;
          return out;
        },
        py::arg("x"), py::arg("y"), py::arg("alpha"), py::arg("t"));
}

}  // namespace sessrec::bindings
