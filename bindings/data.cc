// Bindings for cpp/sessrec/data: SessionStore, Catalog, ExampleSet, the synthetic generator and
// the list-cell parser.
#include <pybind11/stl.h>

#include "numpy_convert.h"
#include "sessrec/data/catalog.h"
#include "sessrec/data/examples.h"
#include "sessrec/data/list_column.h"
#include "sessrec/data/session_store.h"
#include "sessrec/data/synthetic.h"
#include "sessrec/data/task_labels.h"

namespace sessrec::bindings {

namespace {

SessionStore make_store(const Array<int64_t>& offsets, const Array<int32_t>& items,
                        const py::object& actions, const py::object& times, int64_t num_items) {
  SessionStore store;
  store.offsets = to_vector(offsets, "offsets");
  store.items = to_vector(items, "items");
  if (!actions.is_none()) store.actions = to_vector(actions.cast<Array<int8_t>>(), "actions");
  if (!times.is_none()) store.times = to_vector(times.cast<Array<int64_t>>(), "times");
  store.validate(num_items);
  return store;
}

TargetPositions parse_positions(const std::string& name) {
  if (name == "all") return TargetPositions::All;
  if (name == "last") return TargetPositions::Last;
  throw InputError("targets must be 'all' or 'last', got '" + name + "'");
}

}  // namespace

void bind_data(py::module_& m) {
  py::class_<SessionStore, std::shared_ptr<SessionStore>>(m, "SessionStore")
      .def(py::init(&make_store), py::arg("offsets"), py::arg("items"),
           py::arg("actions") = py::none(), py::arg("times") = py::none(), py::arg("num_items"))
      .def_property_readonly("num_sessions", &SessionStore::num_sessions)
      .def_property_readonly("num_events", &SessionStore::num_events)
      .def_property_readonly("offsets", [](py::object self) {
        return view_numpy(self.cast<const SessionStore&>().offsets, self);
      })
      .def_property_readonly("items", [](py::object self) {
        return view_numpy(self.cast<const SessionStore&>().items, self);
      })
      .def_property_readonly("actions", [](py::object self) -> py::object {
        const auto& s = self.cast<const SessionStore&>();
        return s.has_actions() ? py::object(view_numpy(s.actions, self)) : py::none();
      })
      .def_property_readonly("times", [](py::object self) -> py::object {
        const auto& s = self.cast<const SessionStore&>();
        return s.has_times() ? py::object(view_numpy(s.times, self)) : py::none();
      })
      .def("subset", [](const SessionStore& s, const Array<int64_t>& order) {
        auto v = to_vector(order, "order");
        py::gil_scoped_release release;
        return s.subset(v);
      })
      .def("drop_tail", &SessionStore::drop_tail, py::call_guard<py::gil_scoped_release>())
      .def("session_start_times",
           [](const SessionStore& s) { return to_numpy(s.session_start_times()); })
      .def("item_counts",
           [](const SessionStore& s, int64_t n) { return to_numpy(s.item_counts(n)); })
      .def("validate", &SessionStore::validate)
      .def(py::pickle(
          [](const SessionStore& s) {
            return py::make_tuple(to_numpy(std::vector<int64_t>(s.offsets)),
                                  to_numpy(std::vector<int32_t>(s.items)),
                                  to_numpy(std::vector<int8_t>(s.actions)),
                                  to_numpy(std::vector<int64_t>(s.times)));
          },
          [](py::tuple t) {
            SessionStore s;
            s.offsets = to_vector(t[0].cast<Array<int64_t>>(), "offsets");
            s.items = to_vector(t[1].cast<Array<int32_t>>(), "items");
            s.actions = to_vector(t[2].cast<Array<int8_t>>(), "actions");
            s.times = to_vector(t[3].cast<Array<int64_t>>(), "times");
            return s;
          }));

  m.def("store_from_grouped_rows", [](const Array<int64_t>& codes, const Array<int32_t>& items) {
    return store_from_grouped_rows(to_vector(codes, "session_codes"), to_vector(items, "items"));
  });

  py::class_<Catalog, std::shared_ptr<Catalog>>(m, "Catalog")
      .def(py::init([](const py::iterable& ids) { return Catalog(to_text_column(ids, "item IDs")); }),
           py::arg("ids"))
      .def("__len__", &Catalog::size)
      .def_property_readonly("size", &Catalog::size)
      .def("id", [](const Catalog& c, int32_t i) { return std::string(c.id(i)); })
      .def("ids", [](const Catalog& c) { return to_py_list(c.ids()); })
      .def("index_of", [](const Catalog& c, const std::string& id) { return c.index_of(id); })
      .def("indices_of",
           [](const Catalog& c, const py::iterable& ids) {
             return to_numpy(c.indices_of(to_text_column(ids, "item IDs")));
           })
      .def("set_text", [](Catalog& c, const std::string& field, const py::iterable& values) {
        c.set_text(field, to_text_column(values, field.c_str()));
      })
      .def("text", [](const Catalog& c, const std::string& field) { return to_py_list(c.text(field)); })
      .def("text_at", [](const Catalog& c, const std::string& field, const Array<int64_t>& rows) {
        const TextColumn& column = c.text(field);
        py::list out;
        for (int64_t r : to_vector(rows, "rows")) {
          if (r < 0 || r >= column.size())
            throw InputError("text_at: row " + std::to_string(r) + " outside the catalogue of " +
                             std::to_string(column.size()));
          out.append(py::str(std::string(column.at(r))));
        }
        return out;
      }, py::arg("field"), py::arg("rows"), "The text of the given item indices only.")
      .def("text_fields", [](const Catalog& c) {
        std::vector<std::string> names;
        for (const auto& [name, column] : c.text()) names.push_back(name);
        return names;
      })
      .def("set_numeric", [](Catalog& c, const std::string& field, const Array<float>& values) {
        c.set_numeric(field, to_vector(values, field.c_str()));
      })
      .def("numeric", [](const Catalog& c, const std::string& field) {
        auto it = c.numeric().find(field);
        if (it == c.numeric().end()) throw UnknownKeyError("Catalog: no numeric field '" + field + "'");
        return to_numpy(std::vector<float>(it->second));
      })
      .def("numeric_fields", [](const Catalog& c) {
        std::vector<std::string> names;
        for (const auto& [name, values] : c.numeric()) names.push_back(name);
        return names;
      })
      .def("set_categorical", [](Catalog& c, const std::string& field, const Array<int32_t>& codes,
                                 std::vector<std::string> vocab) {
        c.set_categorical(field, CategoricalColumn{to_vector(codes, field.c_str()), std::move(vocab)});
      })
      .def("categorical", [](const Catalog& c, const std::string& field) {
        auto it = c.categorical().find(field);
        if (it == c.categorical().end())
          throw UnknownKeyError("Catalog: no categorical field '" + field + "'");
        return py::make_tuple(to_numpy(std::vector<int32_t>(it->second.codes)), it->second.vocab);
      })
      .def("categorical_fields", [](const Catalog& c) {
        std::vector<std::string> names;
        for (const auto& [name, column] : c.categorical()) names.push_back(name);
        return names;
      });

  py::class_<ExampleSet, std::shared_ptr<ExampleSet>>(m, "ExampleSet")
      .def(py::init([](const Array<int64_t>& begin, const Array<int64_t>& end,
                       const Array<int64_t>& session) {
             ExampleSet e{to_vector(begin, "begin"), to_vector(end, "end"), to_vector(session, "session")};
             if (e.begin.size() != e.end.size() || e.end.size() != e.session.size())
               throw InputError("ExampleSet: begin, end and session differ in length");
             for (size_t r = 0; r < e.end.size(); ++r)
               if (e.begin[r] > e.end[r])
                 throw InputError("ExampleSet: example " + std::to_string(r) + " ends before it begins");
             return e;
           }),
           py::arg("begin"), py::arg("end"), py::arg("session"))
      .def("__len__", &ExampleSet::size)
      .def_property_readonly("begin", [](py::object self) { return view_numpy(self.cast<const ExampleSet&>().begin, self); })
      .def_property_readonly("end", [](py::object self) { return view_numpy(self.cast<const ExampleSet&>().end, self); })
      .def_property_readonly("session", [](py::object self) { return view_numpy(self.cast<const ExampleSet&>().session, self); });

  m.def("make_examples",
        [](const SessionStore& store, const std::string& targets, int64_t max_history) {
          auto positions = parse_positions(targets);
          py::gil_scoped_release release;
          return make_examples(store, positions, max_history);
        },
        py::arg("store"), py::arg("targets") = "all", py::arg("max_history") = 0);

  m.def("encode_strings", [](const py::iterable& strings) {
    TextColumn column = to_text_column(strings, "strings");
    std::vector<unsigned char> bytes(column.bytes.begin(), column.bytes.end());
    return py::make_tuple(to_numpy(std::move(column.offsets)), to_numpy(std::move(bytes)));
  }, py::arg("strings"), "List of str -> (offsets int64, UTF-8 bytes uint8), the CSR text layout.");
  m.def("decode_strings", [](const Array<int64_t>& offsets, const Array<uint8_t>& bytes) {
    TextColumn column;
    column.offsets = to_vector(offsets, "offsets");
    column.bytes.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (column.offsets.empty() || column.offsets.front() != 0 ||
        column.offsets.back() != static_cast<int64_t>(column.bytes.size()))
      throw InputError("decode_strings: offsets do not describe the byte array");
    for (size_t i = 1; i < column.offsets.size(); ++i)
      if (column.offsets[i] < column.offsets[i - 1]) throw InputError("decode_strings: offsets decrease");
    return to_py_list(column);
  }, py::arg("offsets"), py::arg("bytes"));

  m.def("parse_list_column",
        [](const py::iterable& cells, const std::string& source, int64_t first_line) {
          TextColumn column = to_text_column(cells, source.c_str());
          ParsedLists parsed = parse_list_column(column, source, first_line);
          return py::make_tuple(to_numpy(std::move(parsed.offsets)), to_py_list(parsed.tokens));
        },
        py::arg("cells"), py::arg("source"), py::arg("first_line") = 2);

  py::class_<SyntheticConfig>(m, "SyntheticConfig")
      .def(py::init<>())
      .def_readwrite("num_items", &SyntheticConfig::num_items)
      .def_readwrite("num_sessions", &SyntheticConfig::num_sessions)
      .def_readwrite("num_topics", &SyntheticConfig::num_topics)
      .def_readwrite("num_brands", &SyntheticConfig::num_brands)
      .def_readwrite("zipf_exponent", &SyntheticConfig::zipf_exponent)
      .def_readwrite("mean_session_length", &SyntheticConfig::mean_session_length)
      .def_readwrite("topic_drift", &SyntheticConfig::topic_drift)
      .def_readwrite("repeat_probability", &SyntheticConfig::repeat_probability)
      .def_readwrite("cold_share", &SyntheticConfig::cold_share)
      .def_readwrite("cold_period", &SyntheticConfig::cold_period)
      .def_readwrite("search_share", &SyntheticConfig::search_share)
      .def_readwrite("add_share", &SyntheticConfig::add_share)
      .def_readwrite("buy_share", &SyntheticConfig::buy_share)
      .def_readwrite("purchase_intent", &SyntheticConfig::purchase_intent)
      .def_readwrite("start_time", &SyntheticConfig::start_time)
      .def_readwrite("time_span", &SyntheticConfig::time_span)
      .def_readwrite("seed", &SyntheticConfig::seed)
      .def_readwrite("image_dim", &SyntheticConfig::image_dim)
      .def_readwrite("image_noise", &SyntheticConfig::image_noise);

  m.def("generate_synthetic", [](const SyntheticConfig& config, bool with_text_lists) {
    SyntheticData data;
    {
      py::gil_scoped_release release;
      data = generate_synthetic(config);
    }
    py::dict out;
    out["sessions"] = std::move(data.sessions);
    out["item_ids"] = to_py_list(data.item_ids);
    out["titles"] = to_py_list(data.titles);
    out["brand"] = to_numpy(std::move(data.brand));
    out["brand_names"] = to_py_list(data.brand_names);
    out["price"] = to_numpy(std::move(data.price));
    out["topic"] = to_numpy(std::move(data.topic));
    out["cold"] = to_numpy(std::move(data.cold));
    if (config.image_dim > 0) {
      const int64_t F = config.image_dim, n = static_cast<int64_t>(data.image.size()) / F;
      py::array_t<float> image({n, F});
      std::copy(data.image.begin(), data.image.end(), image.mutable_data());
      out["image"] = image;
    }
    // Per-event query text is one string per event; at scale it is returned only on request.
    if (with_text_lists) out["queries"] = to_py_list(data.queries);
    return out;
  }, py::arg("config"), py::arg("with_queries") = true);

  // Labelled PIP / RLP examples of the UBM downstream tasks (data/task_labels.h).
  auto task_examples_dict = [](TaskExamples&& examples) {
    py::dict out;
    out["session"] = to_numpy(std::move(examples.session));
    out["begin"] = to_numpy(std::move(examples.begin));
    out["end"] = to_numpy(std::move(examples.end));
    out["label"] = to_numpy(std::move(examples.label));
    return out;
  };

  py::class_<PurchaseIntentionConfig>(m, "PurchaseIntentionConfig")
      .def(py::init<>())
      .def_readwrite("max_interactions", &PurchaseIntentionConfig::max_interactions)
      .def_readwrite("min_length", &PurchaseIntentionConfig::min_length)
      .def_readwrite("oversample", &PurchaseIntentionConfig::oversample)
      .def_readwrite("seed", &PurchaseIntentionConfig::seed);

  py::class_<RemainingLengthConfig>(m, "RemainingLengthConfig")
      .def(py::init<>())
      .def_readwrite("max_interactions", &RemainingLengthConfig::max_interactions)
      .def_readwrite("min_length", &RemainingLengthConfig::min_length)
      .def_readwrite("min_remaining", &RemainingLengthConfig::min_remaining)
      .def_readwrite("seed", &RemainingLengthConfig::seed);

  m.def(
      "purchase_intention_examples",
      [task_examples_dict](const SessionStore& store, int8_t purchase_action,
                           const PurchaseIntentionConfig& config) {
        TaskExamples examples;
        {
          py::gil_scoped_release release;
          examples = purchase_intention_examples(store, purchase_action, config);
        }
        return task_examples_dict(std::move(examples));
      },
      py::arg("store"), py::arg("purchase_action"), py::arg("config"));

  m.def(
      "remaining_length_examples",
      [task_examples_dict](const SessionStore& store, const RemainingLengthConfig& config) {
        TaskExamples examples;
        {
          py::gil_scoped_release release;
          examples = remaining_length_examples(store, config);
        }
        return task_examples_dict(std::move(examples));
      },
      py::arg("store"), py::arg("config"));
}

}  // namespace sessrec::bindings
