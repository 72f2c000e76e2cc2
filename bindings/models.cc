// Bindings for cpp/sessrec/nn and the neural models of cpp/sessrec/models.
#include <pybind11/stl.h>

#include "history_batch.h"
#include "numpy_convert.h"
#include "parameters.h"
#include "sessrec/loss/candidate_softmax.h"
#include "sessrec/models/blend.h"
#include "sessrec/models/gru4rec.h"
#include "sessrec/models/mean_pool.h"
#include "sessrec/models/sasrec.h"
#include "sessrec/models/side_info_gru.h"
#include "sessrec/models/text_contrastive.h"
#include "sessrec/models/text_encoder.h"
#include "sessrec/nn/optimizer.h"
#include "sessrec/nn/profile.h"

namespace sessrec::bindings {

namespace {

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

  py::class_<SequenceModel, SessionScorer, std::shared_ptr<SequenceModel>> sequence_model(
      m, "SequenceModel");
  def_parameter_methods(sequence_model);
  sequence_model.def_property_readonly("dim", [](const SequenceModel& s) { return s.config().dim; })
      .def_property_readonly("max_len", [](const SequenceModel& s) { return s.config().max_len; })
      .def_property("steps", &SequenceModel::steps, &SequenceModel::set_steps)
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
      .def("encode", &encode_histories<SequenceModel>);

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

  // SideInfoGRU: item_codes is [num_items, F] int32 flattened row-major (each item's row in each
  // side table, 0 = missing); field_names and field_sizes (rows per table) of the F side fields.
  py::class_<SideInfoGRU, SequenceModel, std::shared_ptr<SideInfoGRU>>(m, "SideInfoGRU")
      .def(py::init([](int64_t num_items, const std::vector<std::string>& field_names,
                       const std::vector<int64_t>& field_sizes, const Array<int32_t>& item_codes,
                       int64_t dim, int64_t hidden, bool residual, int64_t max_len, float dropout,
                       uint64_t seed, const std::string& loss, int64_t num_negatives,
                       const std::string& sampler, float temperature, const py::object& tower) {
             SideInfoGRUConfig c{base_config(num_items, dim, max_len, dropout, seed, loss,
                                             num_negatives, sampler, temperature, tower),
                                 hidden, residual, field_names, field_sizes,
                                 to_vector(item_codes, "item_codes")};
             if (c.base.tower.kind != "id")
               throw InputError("SideInfoGRU: items are free ID embeddings; no item tower");
             return std::make_shared<SideInfoGRU>(std::move(c));
           }),
           py::arg("num_items"), py::arg("field_names"), py::arg("field_sizes"),
           py::arg("item_codes"), py::arg("dim") = 64, py::arg("hidden") = 64,
           py::arg("residual") = true, py::arg("max_len") = 50, py::arg("dropout") = 0.2f,
           py::arg("seed") = 0, py::arg("loss") = "ce", py::arg("num_negatives") = 256,
           py::arg("sampler") = "uniform", py::arg("temperature") = 1.0f,
           py::arg("tower") = py::none())
      .def_property_readonly("num_fields", &SideInfoGRU::num_fields)
      .def_property_readonly("residual", &SideInfoGRU::residual);

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
  py::class_<TextEncoder, std::shared_ptr<TextEncoder>> text_encoder(
      m, "TextEncoder",
      "A bidirectional transformer over token lists (cpp/sessrec/models/text_encoder.h).");
  def_parameter_methods(text_encoder);
  text_encoder
      .def(py::init([](int64_t vocab_size, int64_t dim, int64_t layers, int64_t heads,
                       int64_t ffn_dim, int64_t max_tokens, bool post_ln, bool gelu, float dropout,
                       float ln_eps, const std::string& positions, const std::string& pooling,
                       int64_t pool_layer, bool normalize, bool mlm_head, uint64_t seed) {
             TextEncoderConfig c;
             c.vocab_size = vocab_size;
             c.max_tokens = max_tokens;
             c.blocks = nn::TransformerConfig{layers, dim,   heads,   ffn_dim, post_ln,
                                              gelu,   false, dropout, ln_eps};
             c.positions = positions;
             c.pooling = pooling;
             c.pool_layer = pool_layer;
             c.normalize = normalize;
             c.mlm_head = mlm_head;
             c.seed = seed;
             return std::make_shared<TextEncoder>(c);
           }),
           py::kw_only(), py::arg("vocab_size"), py::arg("dim"), py::arg("layers"),
           py::arg("heads"), py::arg("ffn_dim"), py::arg("max_tokens"), py::arg("post_ln"),
           py::arg("gelu"), py::arg("dropout"), py::arg("ln_eps"), py::arg("positions"),
           py::arg("pooling"), py::arg("pool_layer"), py::arg("normalize"), py::arg("mlm_head"),
           py::arg("seed"))
      .def_property_readonly("dim", [](const TextEncoder& e) { return e.config().blocks.dim; })
      .def_property_readonly("vocab_size",
                             [](const TextEncoder& e) { return e.config().vocab_size; })
      .def_property_readonly("max_tokens",
                             [](const TextEncoder& e) { return e.config().max_tokens; })
      .def(
          "forward",
          [](TextEncoder& e, const Array<int64_t>& offsets, const Array<int32_t>& ids,
             bool training, uint64_t step) {
            const int64_t B = offsets.size() - 1;
            if (offsets.ndim() != 1 || B < 1)
              throw InputError("TextEncoder.forward: offsets must be 1-D with B + 1 entries");
            if (offsets.at(0) != 0 || offsets.at(B) != ids.size())
              throw InputError(
                  "TextEncoder.forward: offsets must start at 0 and end at len(ids) = " +
                  std::to_string(ids.size()));
            py::array_t<float> out({B, e.config().blocks.dim});
            {
              py::gil_scoped_release release;
              e.forward(offsets.data(), ids.data(), B, training, step, out.mutable_data());
            }
            return out;
          },
          py::arg("offsets"), py::arg("ids"), py::arg("training") = false, py::arg("step") = 0,
          "[B, dim] vectors of the B token lists ids[offsets[b]:offsets[b+1]].")
      .def(
          "backward",
          [](TextEncoder& e, const Floats& dout, const py::object& dtokens) {
            const int64_t D = e.config().blocks.dim, N = e.num_tokens();
            if (N == 0)
              throw InputError("TextEncoder.backward: no forward pass to go back through");
            const int64_t B = static_cast<int64_t>(e.token_offsets().size()) - 1;
            if (dout.ndim() != 2 || dout.shape(0) != B || dout.shape(1) != D)
              throw InputError("TextEncoder.backward: dout must be [" + std::to_string(B) + ", " +
                               std::to_string(D) + "], the shape of the last forward's output");
            Floats dt;
            if (!dtokens.is_none()) {
              dt = dtokens.cast<Floats>();
              if (dt.ndim() != 2 || dt.shape(0) != N || dt.shape(1) != D)
                throw InputError("TextEncoder.backward: dtokens must be [num_tokens, dim]");
            }
            py::gil_scoped_release release;
            e.backward(dout.data(), dtokens.is_none() ? nullptr : dt.data());
          },
          py::arg("dout"), py::arg("dtokens") = py::none())
      .def_property_readonly("has_mlm_head", &TextEncoder::has_mlm_head)
      .def(
          "masked_token_loss",
          [](TextEncoder& e, const Array<int64_t>& rows, const Array<int32_t>& labels,
             bool backward) -> py::object {
            if (rows.size() != labels.size())
              throw InputError("masked_token_loss: rows and labels differ in length");
            const int64_t N = e.num_tokens(), D = e.config().blocks.dim;
            py::array_t<float> dtokens({N, D});
            float loss;
            {
              py::gil_scoped_release release;
              loss = e.masked_token_loss(rows.data(), labels.data(), rows.size(),
                                         backward ? dtokens.mutable_data() : nullptr);
            }
            if (!backward) return py::float_(loss);
            return py::make_tuple(loss, dtokens);
          },
          py::arg("rows"), py::arg("labels"), py::arg("backward") = true,
          "Masked-token loss on the last forward's token outputs: (loss, dtokens) for backward, "
          "or the loss alone.")
      .def("token_outputs",
           [](const TextEncoder& e) {
             const int64_t N = e.num_tokens(), D = e.config().blocks.dim;
             py::array_t<float> out({N, D});
             if (N > 0) std::copy_n(e.token_outputs(), N * D, out.mutable_data());
             return out;
           })
      .def("token_offsets",
           [](const TextEncoder& e) { return to_numpy(std::vector<int64_t>(e.token_offsets())); })
      .def("token_ids",
           [](const TextEncoder& e) { return to_numpy(std::vector<int32_t>(e.token_ids())); })
      .def(
          "apply_gradients",
          [](TextEncoder& e, nn::Adam& optimizer) {
            py::gil_scoped_release release;
            const float norm = optimizer.step(e.params());
            e.params().zero_grad();
            return norm;
          },
          py::arg("optimizer"),
          "One optimizer step on the accumulated gradients, then zeroes them.");
  py::class_<TextContrastiveModel, SessionScorer, std::shared_ptr<TextContrastiveModel>>(
      m, "TextContrastiveModel",
      "A text encoder trained on (session text, next item text) pairs with a contrastive "
      "objective (cpp/sessrec/models/text_contrastive.h).")
      .def(py::init([](std::shared_ptr<TextEncoder> encoder,
                       const loss::ContrastiveConfig& objective, float momentum, int32_t cls_id,
                       int32_t sep_id, const Array<int64_t>& item_offsets,
                       const Array<int32_t>& item_ids) {
             TextContrastiveConfig c;
             c.objective = objective;
             c.momentum = momentum;
             c.cls_id = cls_id;
             c.sep_id = sep_id;
             return std::make_shared<TextContrastiveModel>(std::move(encoder), c,
                                                           to_vector(item_offsets, "item_offsets"),
                                                           to_vector(item_ids, "item_ids"));
           }),
           py::kw_only(), py::arg("encoder"), py::arg("objective"), py::arg("momentum"),
           py::arg("cls_id"), py::arg("sep_id"), py::arg("item_offsets"), py::arg("item_ids"))
      .def_property("steps", &TextContrastiveModel::steps, &TextContrastiveModel::set_steps)
      .def_property_readonly("encoder", &TextContrastiveModel::encoder)
      .def_property_readonly("momentum_encoder", &TextContrastiveModel::momentum_encoder)
      .def_property_readonly("objective", &TextContrastiveModel::objective,
                             py::return_value_policy::reference_internal)
      .def("parameters_changed", &TextContrastiveModel::parameters_changed)
      .def(
          "train_step",
          [](TextContrastiveModel& s, const SessionStore& store, const Array<int64_t>& begin,
             const Array<int64_t>& end, nn::Adam& optimizer) {
            Units u = to_units(begin, end);
            TextContrastiveModel::Step r;
            {
              py::gil_scoped_release release;
              r = s.train_step(store, u.begin.data(), u.end.data(), u.begin.size(), optimizer);
            }
            return py::make_tuple(r.loss, r.pairs, r.gradient_norm);
          },
          py::arg("store"), py::arg("begin"), py::arg("end"), py::arg("optimizer"),
          "One contrastive step on the units [begin, end): (loss, pairs, gradient norm).")
      .def(
          "encode_sessions",
          [](const TextContrastiveModel& s, const Array<int32_t>& items,
             const Array<int64_t>& begin, const Array<int64_t>& end) {
            Units u = to_units(begin, end);
            const int64_t B = u.begin.size();
            py::array_t<float> out({B, s.config().encoder.blocks.dim});
            HistoryBatch h{items.data(), u.begin.data(), u.end.data(), B};
            py::gil_scoped_release release;
            s.encode_sessions(h, out.mutable_data());
            return out;
          },
          py::arg("items"), py::arg("begin"), py::arg("end"))
      .def(
          "encode_items",
          [](const TextContrastiveModel& s, const Array<int32_t>& indices) {
            const int64_t B = indices.size();
            py::array_t<float> out({B, s.config().encoder.blocks.dim});
            py::gil_scoped_release release;
            s.encode_items(indices.data(), B, out.mutable_data());
            return out;
          },
          py::arg("indices"));
}

}  // namespace sessrec::bindings
