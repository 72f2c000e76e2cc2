// Bindings for MACL (cpp/sessrec/models/macl.h) and its kernels, for the Python model and the
// parity tests: the masked gated fusion and the adaptive contrastive loss on explicit arrays,
// and the token and feature augmentations.
#include "sessrec/models/macl.h"

#include <pybind11/stl.h>

#include "history_batch.h"
#include "numpy_convert.h"
#include "parameters.h"
#include "sessrec/loss/adaptive_info_nce.h"
#include "sessrec/nn/masked_gated_fusion.h"
#include "sessrec/nn/optimizer.h"

namespace sessrec::bindings {

namespace {

std::shared_ptr<const std::vector<float>> matrix(const py::handle& value, const char* what,
                                                 int64_t& cols) {
  Floats a = py::reinterpret_borrow<py::object>(value).cast<Floats>();
  if (a.ndim() != 2) throw InputError(std::string("MACL: ") + what + " must be a 2-D matrix");
  cols = a.shape(1);
  return std::make_shared<const std::vector<float>>(a.data(), a.data() + a.size());
}

std::vector<uint8_t> flags(const py::handle& value, const char* what) {
  auto v = to_vector(py::reinterpret_borrow<py::object>(value).cast<Array<uint8_t>>(), what);
  return v;
}

// MACLConfig's own fields from a dict (keys as the struct's names; the feature view and
// sequence view settings by their field names).
void apply_settings(MACLConfig& c, const py::dict& d) {
  for (auto [key, value] : d) {
    const std::string k = py::str(key);
    if (value.is_none()) continue;
    if (k == "image")
      c.image = matrix(value, "image features", c.image_dim);
    else if (k == "image_mask")
      c.image_mask = flags(value, "image_mask");
    else if (k == "text_source")
      c.text_source = value.cast<std::string>();
    else if (k == "text")
      c.text = matrix(value, "text features", c.text_dim);
    else if (k == "token_offsets")
      c.token_offsets = std::make_shared<const std::vector<int64_t>>(
          to_vector(value.cast<Array<int64_t>>(), "token_offsets"));
    else if (k == "tokens")
      c.tokens = std::make_shared<const std::vector<int32_t>>(
          to_vector(value.cast<Array<int32_t>>(), "tokens"));
    else if (k == "vocab_size")
      c.vocab_size = value.cast<int64_t>();
    else if (k == "token_dim")
      c.token_dim = value.cast<int64_t>();
    else if (k == "text_mask")
      c.text_mask = flags(value, "text_mask");
    else if (k == "categories")
      c.categories = to_vector(value.cast<Array<int32_t>>(), "categories");
    else if (k == "item_weight")
      c.item_weight = value.cast<float>();
    else if (k == "session_weight")
      c.session_weight = value.cast<float>();
    else if (k == "num_negatives")
      c.num_negatives = value.cast<int64_t>();
    else if (k == "cl_temperature")
      c.cl_temperature = value.cast<float>();
    else if (k == "adaptive")
      c.adaptive = value.cast<bool>();
    else if (k == "weight_hidden")
      c.weight_hidden = value.cast<int64_t>();
    else if (k == "augmentation")
      c.augmentation = value.cast<std::string>();
    else if (k == "max_item_sets")
      c.max_item_sets = value.cast<int64_t>();
    else if (k == "image_ops")
      c.image_ops = value.cast<std::vector<std::string>>();
    else if (k == "text_ops")
      c.text_ops = value.cast<std::vector<std::string>>();
    else if (k == "id_ops")
      c.id_ops = value.cast<std::vector<std::string>>();
    else if (k == "noise_std")
      c.feature_view.noise_std = value.cast<float>();
    else if (k == "feature_dropout")
      c.feature_view.dropout = value.cast<float>();
    else if (k == "mix_ratio")
      c.feature_view.mix_ratio = value.cast<float>();
    else if (k == "token_rate")
      c.token_rate = value.cast<float>();
    else if (k == "neighbours")
      c.neighbours = value.cast<int64_t>();
    else if (k == "crop_ratio")
      c.sequence_view.crop_ratio = value.cast<float>();
    else if (k == "mask_ratio")
      c.sequence_view.mask_ratio = value.cast<float>();
    else if (k == "reorder_ratio")
      c.sequence_view.reorder_ratio = value.cast<float>();
    else
      throw InputError("MACL: unknown setting '" + k + "'");
  }
}

py::dict step_dict(const MACLStep& r) {
  py::dict out;
  out["loss"] = r.result.loss;
  out["targets"] = r.result.targets;
  out["gradient_norm"] = r.result.gradient_norm;
  out["ce"] = r.ce;
  out["item"] = r.item;
  out["session"] = r.session;
  out["alpha_min"] = r.alpha_min;
  out["alpha_max"] = r.alpha_max;
  return out;
}

}  // namespace

void bind_macl(py::module_& m) {
  py::class_<MACL, SessionScorer, std::shared_ptr<MACL>> macl(
      m, "MACL", "MACL: SASRec over gated multi-modal items with adaptive contrastive tasks.");
  def_parameter_methods(macl);
  macl.def(py::init([](int64_t num_items, int64_t dim, int64_t layers, int64_t heads,
                       int64_t ffn_dim, bool post_ln, bool gelu, int64_t max_len, float dropout,
                       uint64_t seed, const std::string& loss, int64_t num_negatives,
                       const std::string& sampler, float temperature, const py::dict& settings) {
             MACLConfig c;
             SequenceModelConfig& b = c.sasrec.base;
             b.num_items = num_items;
             b.dim = dim;
             b.max_len = max_len;
             b.dropout = dropout;
             b.seed = seed;
             b.objective.kind = loss;
             b.objective.num_negatives = num_negatives;
             b.objective.sampler = sampler;
             b.temperature = temperature;
             c.sasrec.layers = layers;
             c.sasrec.heads = heads;
             c.sasrec.ffn_dim = ffn_dim;
             c.sasrec.post_ln = post_ln;
             c.sasrec.gelu = gelu;
             apply_settings(c, settings);
             return std::make_shared<MACL>(std::move(c));
           }),
           py::arg("num_items"), py::arg("dim") = 64, py::arg("layers") = 2, py::arg("heads") = 2,
           py::arg("ffn_dim") = 256, py::arg("post_ln") = true, py::arg("gelu") = true,
           py::arg("max_len") = 50, py::arg("dropout") = 0.2f, py::arg("seed") = 0,
           py::arg("loss") = "ce", py::arg("num_negatives") = 256, py::arg("sampler") = "uniform",
           py::arg("temperature") = 1.0f, py::arg("macl") = py::dict(),
           "The encoder's settings as SASRec's; `macl` holds MACLConfig's own fields by name.")
      .def_property_readonly("dim", [](const MACL& s) { return s.config().dim; })
      .def_property_readonly("max_len", [](const MACL& s) { return s.config().max_len; })
      .def_property_readonly("temperature", [](const MACL& s) { return s.config().temperature; })
      .def_property_readonly("has_parts", [](const MACL&) { return false; })
      .def_property("steps", &MACL::steps, &MACL::set_steps)
      .def("set_item_counts",
           [](MACL& s, const Array<int64_t>& counts) {
             s.set_item_counts(to_vector(counts, "counts"));
           })
      .def(
          "forward_backward",
          [](MACL& s, const SessionStore& store, const Array<int64_t>& begin,
             const Array<int64_t>& end, bool last_only) {
            Units u = to_units(begin, end);
            MACLStep r;
            {
              py::gil_scoped_release release;
              r = s.forward_backward(store, u.begin.data(), u.end.data(), u.begin.size(),
                                     last_only);
            }
            return step_dict(r);
          },
          py::arg("store"), py::arg("begin"), py::arg("end"), py::arg("last_only") = false,
          "The step's losses {loss, targets, gradient_norm, ce, item, session, alpha_min, "
          "alpha_max}; gradients are left in the parameters.")
      .def(
          "train_step",
          [](MACL& s, const SessionStore& store, const Array<int64_t>& begin,
             const Array<int64_t>& end, bool last_only, nn::Adam& optimizer) {
            Units u = to_units(begin, end);
            MACLStep r;
            {
              py::gil_scoped_release release;
              r = s.train_step(store, u.begin.data(), u.end.data(), u.begin.size(), last_only,
                               optimizer);
            }
            return py::make_tuple(r.result.loss, r.result.targets, r.result.gradient_norm);
          },
          py::arg("store"), py::arg("begin"), py::arg("end"), py::arg("last_only"),
          py::arg("optimizer"), "One step: (total loss, CE targets, gradient norm).")
      .def("item_table",
           [](const MACL& s) {
             std::vector<float> t = s.item_table();
             py::array_t<float> a({s.num_items() + 1, s.config().dim});
             std::copy(t.begin(), t.end(), a.mutable_data());
             return a;
           })
      .def("encode", &encode_histories<MACL>)
      .def(
          "last_views",
          [](const MACL& s) {
            const MACLViews& v = s.last_views();
            py::dict out;
            const int64_t R = static_cast<int64_t>(v.row_items.size());
            out["row_items"] = to_numpy(std::vector<int32_t>(v.row_items));
            const int64_t F = s.macl_config().image_dim;
            py::array_t<float> image({R, F});
            std::copy(v.row_image.begin(), v.row_image.end(), image.mutable_data());
            out["row_image"] = image;
            const int64_t Ft =
                s.macl_config().text_source == "features" ? s.macl_config().text_dim : 0;
            py::array_t<float> text({R, Ft});
            std::copy(v.row_text.begin(), v.row_text.end(), text.mutable_data());
            out["row_text"] = text;
            out["row_token_offsets"] = to_numpy(std::vector<int64_t>(v.row_token_offsets));
            out["row_tokens"] = to_numpy(std::vector<int32_t>(v.row_tokens));
            py::array_t<int32_t> inputs({v.rows, v.T});
            std::copy(v.inputs.begin(), v.inputs.end(), inputs.mutable_data());
            out["inputs"] = inputs;
            out["last"] = to_numpy(std::vector<int64_t>(v.last));
            const int64_t S = static_cast<int64_t>(v.item_sets.size()) / 2;
            py::array_t<int32_t> sets({S, int64_t(2)});
            std::copy(v.item_sets.begin(), v.item_sets.end(), sets.mutable_data());
            out["item_sets"] = sets;
            auto negatives = [](const std::vector<int32_t>& n, int64_t M) {
              const int64_t rows = M > 0 ? static_cast<int64_t>(n.size()) / M : 0;
              py::array_t<int32_t> a({rows, M});
              std::copy(n.begin(), n.end(), a.mutable_data());
              return a;
            };
            out["item_negatives"] = negatives(v.item_negatives, v.item_M);
            out["session_negatives"] = negatives(v.session_negatives, v.session_M);
            return out;
          },
          "What the last forward_backward drew: the augmented item rows (row_items, row_image, "
          "row_text, row_token_offsets, row_tokens; table rows N+1..), the encoder's batch "
          "(inputs [rows, T] of table ids, last), item_sets [S, 2] (item, augmented row) and "
          "both tasks' negatives.")
      .def(
          "take_loss_totals",
          [](MACL& s) {
            const MACLTotals t = s.take_totals();
            const double n = std::max<int64_t>(t.steps, 1);
            py::dict out;
            out["steps"] = t.steps;
            out["ce"] = t.ce / n;
            out["item_loss"] = t.item / n;
            out["session_loss"] = t.session / n;
            out["alpha_min"] = t.alpha_min;
            out["alpha_max"] = t.alpha_max;
            return out;
          },
          "Means over the train_step calls since the last call (ce, item_loss, session_loss per "
          "step) and the adaptive weights' range; then starts afresh.")
      .def("token_neighbours", [](const MACL& s) {
        const TokenNeighbours& n = s.token_neighbours();
        return py::make_tuple(to_numpy(std::vector<int64_t>(n.offsets)),
                              to_numpy(std::vector<int32_t>(n.tokens)));
      });

  m.def(
      "masked_gated_fusion",
      [](const Floats& a, const std::vector<Floats>& x, const std::vector<Array<uint8_t>>& mask,
         const std::vector<Floats>& W, const std::vector<Floats>& bias, const Floats& dout) {
        if (a.ndim() != 2) throw InputError("masked_gated_fusion: a must be [N, D]");
        const int64_t N = a.shape(0), D = a.shape(1), K = x.size();
        if (mask.size() != x.size() || W.size() != x.size() || bias.size() != x.size())
          throw InputError("masked_gated_fusion: x, mask, W and bias need one entry per modality");
        const int64_t U = (1 + K) * D + K;
        std::vector<const float*> xs, Ws, bs;
        std::vector<const uint8_t*> ms;
        for (int64_t k = 0; k < K; ++k) {
          if (x[k].size() != N * D || mask[k].size() != N || W[k].size() != D * U ||
              bias[k].size() != D)
            throw InputError("masked_gated_fusion: modality " + std::to_string(k) +
                             " has the wrong shapes");
          xs.push_back(x[k].data());
          ms.push_back(mask[k].data());
          Ws.push_back(W[k].data());
          bs.push_back(bias[k].data());
        }
        if (dout.size() != N * D) throw InputError("masked_gated_fusion: dout must be [N, D]");
        py::array_t<float> out({N, D}), da({N, D});
        std::vector<float> u(N * U), g(std::max<int64_t>(K, 1) * N * D);
        nn::masked_gated_fusion_forward(out.mutable_data(), u.data(), g.data(), a.data(), xs, ms,
                                        Ws, bs, N, D);
        std::fill_n(da.mutable_data(), N * D, 0.0f);
        py::list dx, dW, db;
        std::vector<py::array_t<float>> dxa, dWa, dba;
        std::vector<float*> dxp, dWp, dbp;
        for (int64_t k = 0; k < K; ++k) {
          dxa.emplace_back(std::vector<int64_t>{N, D});
          dWa.emplace_back(std::vector<int64_t>{D, U});
          dba.emplace_back(std::vector<int64_t>{D});
          std::fill_n(dxa.back().mutable_data(), N * D, 0.0f);
          std::fill_n(dWa.back().mutable_data(), D * U, 0.0f);
          std::fill_n(dba.back().mutable_data(), D, 0.0f);
        }
        for (int64_t k = 0; k < K; ++k) {
          dxp.push_back(dxa[k].mutable_data());
          dWp.push_back(dWa[k].mutable_data());
          dbp.push_back(dba[k].mutable_data());
          dx.append(dxa[k]);
          dW.append(dWa[k]);
          db.append(dba[k]);
        }
        nn::masked_gated_fusion_backward(da.mutable_data(), dxp, dWp, dbp, dout.data(), u.data(),
                                         g.data(), xs, ms, Ws, N, D);
        return py::make_tuple(out, da, dx, dW, db);
      },
      py::arg("a"), py::arg("x"), py::arg("mask"), py::arg("W"), py::arg("bias"), py::arg("dout"),
      "(out, da, dx, dW, dbias) of nn/masked_gated_fusion.h for explicit arrays.");

  m.def(
      "adaptive_info_nce",
      [](const Floats& a, const Floats& p, const Array<int32_t>& neg, float temperature,
         const py::object& mlp) {
        if (a.ndim() != 2 || p.ndim() != 2 || a.shape(0) != p.shape(0) || a.shape(1) != p.shape(1))
          throw InputError("adaptive_info_nce: a and p must both be [B, D]");
        const int64_t B = a.shape(0), D = a.shape(1);
        if (neg.ndim() != 2 || neg.shape(0) != B)
          throw InputError("adaptive_info_nce: neg must be [B, M]");
        const int64_t M = neg.shape(1);
        py::array_t<float> da({B, D}), dp({B, D}), alpha(B), losses(B);
        std::fill_n(da.mutable_data(), B * D, 0.0f);
        std::fill_n(dp.mutable_data(), B * D, 0.0f);
        loss::SignalWeightMLP<float> w;
        Floats W1, b1, W2, b2;
        py::dict grads;
        py::array_t<float> dW1, db1, dW2, db2;
        if (!mlp.is_none()) {
          py::dict d = mlp.cast<py::dict>();
          W1 = d["W1"].cast<Floats>();
          b1 = d["b1"].cast<Floats>();
          W2 = d["W2"].cast<Floats>();
          b2 = d["b2"].cast<Floats>();
          const int64_t H = W1.shape(0);
          if (W1.ndim() != 2 || W1.shape(1) != 3 * D || b1.size() != H || W2.size() != H ||
              b2.size() != 1)
            throw InputError(
                "adaptive_info_nce: the MLP must be W1 [H, 3D], b1 [H], W2 [1, H], "
                "b2 [1]");
          dW1 = py::array_t<float>({H, 3 * D});
          db1 = py::array_t<float>(H);
          dW2 = py::array_t<float>({int64_t(1), H});
          db2 = py::array_t<float>(1);
          for (auto* arr : {&dW1, &db1, &dW2, &db2})
            std::fill_n(arr->mutable_data(), arr->size(), 0.0f);
          w = {W1.data(),          b1.data(),          W2.data(),
               b2.data(),          dW1.mutable_data(), db1.mutable_data(),
               dW2.mutable_data(), db2.mutable_data(), H};
          grads["W1"] = dW1;
          grads["b1"] = db1;
          grads["W2"] = dW2;
          grads["b2"] = db2;
        }
        const float value = loss::adaptive_info_nce(
            alpha.mutable_data(), losses.mutable_data(), da.mutable_data(), dp.mutable_data(),
            a.data(), p.data(), neg.data(), B, M, D, temperature, mlp.is_none() ? nullptr : &w);
        return py::make_tuple(value, alpha, losses, da, dp, grads);
      },
      py::arg("a"), py::arg("p"), py::arg("neg"), py::arg("temperature"),
      py::arg("mlp") = py::none(),
      "(loss, alpha, per-set losses, da, dp, MLP gradients) of loss/adaptive_info_nce.h; mlp "
      "None gives equal weights.");

  m.def(
      "augment_tokens",
      [](const Array<int64_t>& offsets, const Array<int32_t>& tokens, int64_t vocab_size,
         const std::string& op, double rate, int64_t neighbours, uint64_t seed) {
        auto off = to_vector(offsets, "offsets");
        auto tok = to_vector(tokens, "tokens");
        if (off.empty() || off.front() != 0 || off.back() != static_cast<int64_t>(tok.size()))
          throw InputError("augment_tokens: offsets must run from 0 to len(tokens)");
        const int64_t rows = static_cast<int64_t>(off.size()) - 1;
        TokenNeighbours nb =
            token_cooccurrence_neighbours(off.data(), tok.data(), rows, vocab_size, neighbours);
        const TokenOp which = token_op_from_name(op);
        std::vector<int64_t> out_off{0};
        std::vector<int32_t> out;
        for (int64_t r = 0; r < rows; ++r) {
          CounterRandom rng{mix64(seed ^ mix64(r))};
          augment_tokens(out, tok.data() + off[r], off[r + 1] - off[r], which, rate, nb, rng);
          out_off.push_back(static_cast<int64_t>(out.size()));
        }
        return py::make_tuple(to_numpy(std::move(out_off)), to_numpy(std::move(out)),
                              to_numpy(std::move(nb.offsets)), to_numpy(std::move(nb.tokens)));
      },
      py::arg("offsets"), py::arg("tokens"), py::arg("vocab_size"), py::arg("op"),
      py::arg("rate") = 0.2, py::arg("neighbours") = 5, py::arg("seed") = 0,
      "Each row's tokens through one token op (swap, delete, substitute, insert): (offsets, "
      "tokens, neighbour offsets, neighbour tokens).");
}

}  // namespace sessrec::bindings
