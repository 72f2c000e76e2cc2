// Bindings for cpp/sessrec/nn and the neural models of cpp/sessrec/models.
#include <pybind11/stl.h>

#include "numpy_convert.h"
#include "sessrec/loss/candidate_softmax.h"
#include "sessrec/models/blend.h"
#include "sessrec/models/gru4rec.h"
#include "sessrec/models/mean_pool.h"
#include "sessrec/models/sasrec.h"
#include "sessrec/nn/optimizer.h"
#include "sessrec/nn/profile.h"

namespace sessrec::bindings {

namespace {

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::array_t<float> matrix_copy(const nn::FloatBuffer& v, int64_t rows, int64_t cols) {
  py::array_t<float> a({rows, cols});
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::dict collect(const nn::ParameterSet& params, nn::FloatBuffer nn::Parameter::*field) {
  py::dict out;
  for (const nn::Parameter* p : params.all())
    out[py::str(p->name)] = matrix_copy(p->*field, p->rows, p->cols);
  return out;
}

void assign(nn::ParameterSet& params, const py::dict& values, nn::FloatBuffer nn::Parameter::*field,
            bool require_all) {
  for (nn::Parameter* p : params.all()) {
    if (!values.contains(p->name)) {
      if (require_all) throw InputError("missing parameter '" + p->name + "'");
      continue;
    }
    Floats a = values[py::str(p->name)].cast<Floats>();
    if (a.size() != p->size() ||
        (a.ndim() == 2 && (a.shape(0) != p->rows || a.shape(1) != p->cols)))
      throw InputError("parameter '" + p->name + "' has shape (" + std::to_string(p->rows) + ", " +
                       std::to_string(p->cols) + "); got an array of " + std::to_string(a.size()) +
                       " values");
    std::copy(a.data(), a.data() + a.size(), (p->*field).begin());
  }
  for (auto [key, value] : values) {
    bool known = false;
    for (nn::Parameter* p : params.all()) known |= p->name == std::string(py::str(key));
    if (!known) throw InputError("unknown parameter '" + std::string(py::str(key)) + "'");
  }
}

struct Units {
  std::vector<int64_t> begin, end;
};

Units to_units(const Array<int64_t>& begin, const Array<int64_t>& end) {
  Units u{to_vector(begin, "begin"), to_vector(end, "end")};
  if (u.begin.size() != u.end.size()) throw InputError("begin and end differ in length");
  if (u.begin.empty()) throw InputError("empty batch");
  return u;
}

// The item tower from a Python dict (None: a free ID embedding). Keys: kind, text_source,
// hidden, gelu, text_layernorm, id_layernorm, dropout, features [num_items, F] float32,
// token_offsets, tokens, vocab_size, token_dim.
ItemTowerConfig tower_config(const py::object& spec) {
  ItemTowerConfig t;
  if (spec.is_none()) return t;
  py::dict d = spec.cast<py::dict>();
  for (auto [key, value] : d) {
    const std::string k = py::str(key);
    if (k == "kind")
      t.kind = value.cast<std::string>();
    else if (k == "text_source")
      t.text_source = value.cast<std::string>();
    else if (k == "hidden")
      t.hidden = value.cast<std::vector<int64_t>>();
    else if (k == "gelu")
      t.gelu = value.cast<bool>();
    else if (k == "text_layernorm")
      t.text_layernorm = value.cast<bool>();
    else if (k == "id_layernorm")
      t.id_layernorm = value.cast<bool>();
    else if (k == "dropout")
      t.dropout = value.cast<float>();
    else if (k == "vocab_size")
      t.vocab_size = value.cast<int64_t>();
    else if (k == "token_dim")
      t.token_dim = value.cast<int64_t>();
    else if (k == "features") {
      Floats a = value.cast<Floats>();
      if (a.ndim() != 2) throw InputError("item tower: features must be a 2-D matrix");
      t.feature_dim = a.shape(1);
      t.features = std::make_shared<const std::vector<float>>(a.data(), a.data() + a.size());
    } else if (k == "token_offsets") {
      t.token_offsets = std::make_shared<const std::vector<int64_t>>(
          to_vector(value.cast<Array<int64_t>>(), "token_offsets"));
    } else if (k == "tokens") {
      t.tokens = std::make_shared<const std::vector<int32_t>>(
          to_vector(value.cast<Array<int32_t>>(), "tokens"));
    } else {
      throw InputError("item tower: unknown setting '" + k + "'");
    }
  }
  return t;
}

SequenceModelConfig base_config(int64_t num_items, int64_t dim, int64_t max_len, float dropout,
                                uint64_t seed, const std::string& loss, int64_t num_negatives,
                                const std::string& sampler, float temperature,
                                const py::object& tower) {
  SequenceModelConfig c;
  c.num_items = num_items;
  c.dim = dim;
  c.max_len = max_len;
  c.dropout = dropout;
  c.seed = seed;
  c.objective.kind = loss;
  c.objective.num_negatives = num_negatives;
  c.objective.sampler = sampler;
  c.temperature = temperature;
  c.tower = tower_config(tower);
  return c;
}

}  // namespace

void bind_models(py::module_& m) {
  m.def(
      "profile_enable", [](bool on) { nn::KernelProfile::instance().enabled = on; },
      py::arg("on") = true, "Start (or stop) timing nn kernels by family.");
  m.def("profile_reset", []() { nn::KernelProfile::instance().reset(); });
  m.def(
      "profile_report",
      []() {
        py::dict out;
        auto& p = nn::KernelProfile::instance();
        for (int k = 0; k < static_cast<int>(nn::Kernel::Count); ++k)
          out[py::str(nn::KernelProfile::name(static_cast<nn::Kernel>(k)))] =
              py::make_tuple(p.nanoseconds[k].load() * 1e-9, p.calls[k].load());
        return out;
      },
      "{kernel family: (seconds, calls)} since the last reset.");

  py::class_<nn::Adam>(m, "Adam")
      .def(py::init([](float lr, float beta1, float beta2, float eps, float weight_decay,
                       bool decoupled, float clip_norm, const std::string& schedule,
                       int64_t warmup_steps, int64_t total_steps, int64_t step_size, float gamma) {
             nn::AdamConfig c{lr, beta1, beta2, eps, weight_decay, decoupled, clip_norm};
             nn::LRSchedule s{schedule, warmup_steps, total_steps, step_size, gamma};
             return nn::Adam(c, s);
           }),
           py::arg("lr") = 1e-3f, py::arg("beta1") = 0.9f, py::arg("beta2") = 0.999f,
           py::arg("eps") = 1e-8f, py::arg("weight_decay") = 0.0f, py::arg("decoupled") = false,
           py::arg("clip_norm") = 0.0f, py::arg("schedule") = "constant",
           py::arg("warmup_steps") = 0, py::arg("total_steps") = 0, py::arg("step_size") = 0,
           py::arg("gamma") = 0.1f)
      .def_property("steps_taken", &nn::Adam::steps_taken, &nn::Adam::set_steps_taken)
      .def_property_readonly("current_lr", &nn::Adam::current_lr);

  m.def(
      "candidate_softmax",
      [](const Floats& H, const Floats& E, const Array<int32_t>& cand, const Floats& label,
         bool separate_positives, bool dense) {
        if (H.ndim() != 2 || E.ndim() != 2 || H.shape(1) != E.shape(1))
          throw InputError("candidate_softmax: H [B, D] and E [V, D] must share D");
        const int64_t B = H.shape(0), D = H.shape(1), V = E.shape(0);
        if (cand.ndim() != 2 || label.ndim() != 2 || cand.shape(0) != B || label.shape(0) != B ||
            label.shape(1) != cand.shape(1))
          throw InputError("candidate_softmax: cand and label must both be [B, M]");
        const std::vector<int32_t> c(cand.data(), cand.data() + cand.size());
        const int64_t M = static_cast<int64_t>(c.size()) / B;
        for (int32_t id : c)
          if (id >= V) throw InputError("candidate_softmax: candidate id outside E");
        py::array_t<float> dH({B, D}), dE({V, D});
        std::fill_n(dH.mutable_data(), B * D, 0.0f);
        std::fill_n(dE.mutable_data(), V * D, 0.0f);
        const float* no_logq = nullptr;
        const float loss =
            dense ? loss::candidate_softmax_dense(dH.mutable_data(), dE.mutable_data(), H.data(),
                                                  E.data(), c.data(), label.data(), no_logq, B, M,
                                                  D, V, separate_positives)
                  : loss::candidate_softmax(dH.mutable_data(), dE.mutable_data(), H.data(),
                                            E.data(), c.data(), label.data(), no_logq, B, M, D,
                                            separate_positives);
        return py::make_tuple(loss, dH, dE);
      },
      py::arg("H"), py::arg("E"), py::arg("cand"), py::arg("label"),
      py::arg("separate_positives") = false, py::arg("dense") = false,
      "The mined-candidate softmax of train_step_mined on explicit rows: (loss, dH, dE); cand "
      "[B, M] indexes rows of E (-1: unused), label the positive weights (0: negative).");

  m.def(
      "make_training_windows",
      [](const SessionStore& store, int64_t max_len, bool prefix) {
        TrainingWindows w = make_training_windows(store, max_len, prefix);
        return py::make_tuple(to_numpy(std::move(w.begin)), to_numpy(std::move(w.end)));
      },
      py::arg("store"), py::arg("max_len"), py::arg("prefix") = false);

  py::class_<SequenceModel, SessionScorer, std::shared_ptr<SequenceModel>>(m, "SequenceModel")
      .def_property_readonly("dim", [](const SequenceModel& s) { return s.config().dim; })
      .def_property_readonly("max_len", [](const SequenceModel& s) { return s.config().max_len; })
      .def_property("steps", &SequenceModel::steps, &SequenceModel::set_steps)
      .def("parameter_names",
           [](const SequenceModel& s) {
             std::vector<std::string> names;
             for (const auto* p : s.params().all()) names.push_back(p->name);
             return names;
           })
      .def("get_parameters",
           [](const SequenceModel& s) { return collect(s.params(), &nn::Parameter::value); })
      .def(
          "set_parameters",
          [](SequenceModel& s, const py::dict& d, bool require_all) {
            assign(s.params(), d, &nn::Parameter::value, require_all);
            s.parameters_changed();
          },
          py::arg("values"), py::arg("require_all") = true)
      .def("get_gradients",
           [](const SequenceModel& s) { return collect(s.params(), &nn::Parameter::grad); })
      .def("get_optimizer_state",
           [](const SequenceModel& s) {
             return py::make_tuple(collect(s.params(), &nn::Parameter::adam_m),
                                   collect(s.params(), &nn::Parameter::adam_v));
           })
      .def("set_optimizer_state",
           [](SequenceModel& s, const py::dict& m1, const py::dict& m2) {
             assign(s.params(), m1, &nn::Parameter::adam_m, true);
             assign(s.params(), m2, &nn::Parameter::adam_v, true);
           })
      .def("zero_grad", [](SequenceModel& s) { s.params().zero_grad(); })
      .def("num_parameters", [](const SequenceModel& s) { return s.params().num_values(); })
      .def(
          "set_frozen",
          [](SequenceModel& s, const std::string& pattern, bool frozen) {
            return s.params().set_frozen(pattern, frozen);
          },
          py::arg("pattern"), py::arg("frozen") = true,
          "Freeze (or unfreeze) every parameter whose name matches the shell-style pattern; "
          "returns how many matched (none: ValueError listing the names).")
      .def(
          "set_lr_scale",
          [](SequenceModel& s, const std::string& pattern, float scale) {
            return s.params().set_lr_scale(pattern, scale);
          },
          py::arg("pattern"), py::arg("scale"),
          "Learning rate of the matching parameters = the optimizer's rate times scale.")
      .def("parameter_groups",
           [](const SequenceModel& s) {
             py::dict out;
             for (const auto* p : s.params().all())
               out[py::str(p->name)] = py::dict(py::arg("shape") = py::make_tuple(p->rows, p->cols),
                                               py::arg("frozen") = p->frozen,
                                               py::arg("lr_scale") = p->lr_scale);
             return out;
           })
      .def(
          "copy_parameters_from",
          [](SequenceModel& s, const SequenceModel& source, const py::object& names) {
            std::vector<std::pair<std::string, std::string>> pairs;
            if (!names.is_none())
              for (auto item : names.cast<py::dict>())
                pairs.emplace_back(py::str(item.first), py::str(item.second));
            const int64_t moved = nn::copy_values(s.params(), source.params(), pairs);
            s.parameters_changed();
            return moved;
          },
          py::arg("source"), py::arg("names") = py::none(),
          "Copy parameter values by name from another network (names: {source name: this "
          "network's name}; None: every name the two share). Returns how many moved.")
      .def("set_item_counts",
           [](SequenceModel& s, const Array<int64_t>& counts) {
             s.set_item_counts(to_vector(counts, "counts"));
           })
      .def(
          "forward_backward",
          [](SequenceModel& s, const SessionStore& store, const Array<int64_t>& begin,
             const Array<int64_t>& end, bool last_only) {
            Units u = to_units(begin, end);
            StepResult r;
            {
              py::gil_scoped_release release;
              r = s.forward_backward(store, u.begin.data(), u.end.data(), u.begin.size(),
                                     last_only);
            }
            return py::make_tuple(r.loss, r.targets, r.gradient_norm);
          },
          py::arg("store"), py::arg("begin"), py::arg("end"), py::arg("last_only") = false)
      .def(
          "train_step",
          [](SequenceModel& s, const SessionStore& store, const Array<int64_t>& begin,
             const Array<int64_t>& end, bool last_only, nn::Adam& optimizer) {
            Units u = to_units(begin, end);
            StepResult r;
            {
              py::gil_scoped_release release;
              r = s.train_step(store, u.begin.data(), u.end.data(), u.begin.size(), last_only,
                               optimizer);
            }
            return py::make_tuple(r.loss, r.targets, r.gradient_norm);
          },
          py::arg("store"), py::arg("begin"), py::arg("end"), py::arg("last_only"),
          py::arg("optimizer"))
      .def(
          "train_step_mined",
          [](SequenceModel& s, const SessionStore& store, const Array<int64_t>& begin,
             const Array<int64_t>& end, bool last_only, nn::Adam& optimizer, int64_t k1, int64_t k2,
             int64_t num_hard, int64_t num_random, int64_t num_aug, float aug_weight,
             std::shared_ptr<SequenceModel> teacher, bool separate_positives) {
            Units u = to_units(begin, end);
            MiningConfig mining{k1,      k2,         num_hard,          num_random,
                                num_aug, aug_weight, separate_positives};
            StepResult r;
            {
              py::gil_scoped_release release;
              r = s.train_step_mined(store, u.begin.data(), u.end.data(), u.begin.size(), last_only,
                                     optimizer, mining, teacher.get());
            }
            return py::make_tuple(r.loss, r.targets, r.gradient_norm, r.mining_seconds);
          },
          py::arg("store"), py::arg("begin"), py::arg("end"), py::arg("last_only"),
          py::arg("optimizer"), py::arg("k1"), py::arg("k2"), py::arg("num_hard"),
          py::arg("num_random"), py::arg("num_aug") = 0, py::arg("aug_weight") = 0.1f,
          py::arg("teacher") = nullptr, py::arg("separate_positives") = false,
          "One step with a softmax over [target, extra positives, hard negatives from the "
          "teacher's "
          "ranks k1..k2-1, random negatives] (separate_positives: each positive its own softmax "
          "against the negatives); returns (loss, targets, gradient norm, mining seconds).")
      .def(
          "item_table",
          [](const SequenceModel& s) {
            const float* t = s.item_table();
            py::array_t<float> a({s.num_items() + 1, s.config().dim});
            std::copy(t, t + (s.num_items() + 1) * s.config().dim, a.mutable_data());
            return a;
          },
          "The item table [num_items + 1, dim] in evaluation mode (row 0 is padding).")
      .def_property_readonly("has_parts", &SequenceModel::has_parts)
      .def_property_readonly("temperature",
                             [](const SequenceModel& s) { return s.config().temperature; })
      .def("encode", [](const SequenceModel& s, const Array<int32_t>& items,
                        const Array<int64_t>& begin, const Array<int64_t>& end) {
        auto it = to_vector(items, "items");
        auto b = to_vector(begin, "begin");
        auto e = to_vector(end, "end");
        if (b.size() != e.size()) throw InputError("encode: begin and end differ in length");
        for (size_t r = 0; r < e.size(); ++r)
          if (b[r] < 0 || b[r] > e[r] || e[r] > static_cast<int64_t>(it.size()))
            throw InputError("encode: history " + std::to_string(r) + " has an invalid range");
        for (int32_t x : it)
          if (x < 0 || x >= s.num_items()) throw InputError("encode: item index out of range");
        py::array_t<float> out({static_cast<int64_t>(e.size()), s.config().dim});
        float* data = out.mutable_data();
        {
          py::gil_scoped_release release;
          s.encode(HistoryBatch{it.data(), b.data(), e.data(), static_cast<int64_t>(e.size())},
                   data);
        }
        return out;
      });

  py::class_<GRU4Rec, SequenceModel, std::shared_ptr<GRU4Rec>>(m, "GRU4Rec")
      .def(py::init([](int64_t num_items, int64_t dim, int64_t hidden, int64_t max_len,
                       float dropout, uint64_t seed, const std::string& loss, int64_t num_negatives,
                       const std::string& sampler, float temperature, const py::object& tower) {
             return std::make_shared<GRU4Rec>(
                 GRU4RecConfig{base_config(num_items, dim, max_len, dropout, seed, loss,
                                           num_negatives, sampler, temperature, tower),
                               hidden});
           }),
           py::arg("num_items"), py::arg("dim") = 64, py::arg("hidden") = 64,
           py::arg("max_len") = 50, py::arg("dropout") = 0.2f, py::arg("seed") = 0,
           py::arg("loss") = "ce", py::arg("num_negatives") = 256, py::arg("sampler") = "uniform",
           py::arg("temperature") = 1.0f, py::arg("tower") = py::none());

  py::class_<SASRec, SequenceModel, std::shared_ptr<SASRec>>(m, "SASRec")
      .def(py::init([](int64_t num_items, int64_t dim, int64_t layers, int64_t heads,
                       int64_t ffn_dim, bool post_ln, bool gelu, int64_t max_len, float dropout,
                       uint64_t seed, const std::string& loss, int64_t num_negatives,
                       const std::string& sampler, float temperature, const py::object& tower) {
             return std::make_shared<SASRec>(
                 SASRecConfig{base_config(num_items, dim, max_len, dropout, seed, loss,
                                          num_negatives, sampler, temperature, tower),
                              layers, heads, ffn_dim, post_ln, gelu});
           }),
           py::arg("num_items"), py::arg("dim") = 64, py::arg("layers") = 2, py::arg("heads") = 2,
           py::arg("ffn_dim") = 256, py::arg("post_ln") = true, py::arg("gelu") = true,
           py::arg("max_len") = 50, py::arg("dropout") = 0.2f, py::arg("seed") = 0,
           py::arg("loss") = "ce", py::arg("num_negatives") = 256, py::arg("sampler") = "uniform",
           py::arg("temperature") = 1.0f, py::arg("tower") = py::none());

  py::class_<MeanPool, SequenceModel, std::shared_ptr<MeanPool>>(m, "MeanPool")
      .def(
          py::init([](int64_t num_items, int64_t dim, int64_t max_len, float dropout, uint64_t seed,
                      const std::string& loss, int64_t num_negatives, const std::string& sampler,
                      float temperature, const py::object& tower, bool linear) {
            return std::make_shared<MeanPool>(
                MeanPoolConfig{base_config(num_items, dim, max_len, dropout, seed, loss,
                                           num_negatives, sampler, temperature, tower),
                               linear});
          }),
          py::arg("num_items"), py::arg("dim") = 64, py::arg("max_len") = 50,
          py::arg("dropout") = 0.2f, py::arg("seed") = 0, py::arg("loss") = "ce",
          py::arg("num_negatives") = 256, py::arg("sampler") = "uniform",
          py::arg("temperature") = 1.0f, py::arg("tower") = py::none(), py::arg("linear") = true,
          "Mean of the item embeddings so far; linear=False is the plain mean (g_mean).")
      .def_property_readonly("linear", &MeanPool::linear);

  py::class_<BlendScorer, SessionScorer, std::shared_ptr<BlendScorer>>(m, "BlendScorer")
      .def(py::init<std::shared_ptr<const SessionScorer>, std::shared_ptr<const SessionScorer>,
                    float, std::vector<uint8_t>>(),
           py::arg("a"), py::arg("b"), py::arg("alpha"), py::arg("b_only") = std::vector<uint8_t>{},
           "alpha * a + (1 - alpha) * b; b alone for the items flagged in b_only (one flag per "
           "item, or empty)")
      .def_property_readonly("alpha", &BlendScorer::alpha);
  py::class_<PartScorer, SessionScorer, std::shared_ptr<PartScorer>>(m, "PartScorer")
      .def(py::init<std::shared_ptr<const SequenceModel>, int>(), py::arg("model"),
           py::arg("which"),
           "Scores against one part of a sum/concat item tower: 0 = ID, 1 = text.");
}

}  // namespace sessrec::bindings
