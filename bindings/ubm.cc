// Bindings for cpp/sessrec/models/ubm.h: the two-level UBM, its pre-training steps, the views
// and losses of one step (for parity tests), and session encoding.
#include "sessrec/models/ubm.h"

#include <pybind11/stl.h>

#include "numpy_convert.h"
#include "parameters.h"

namespace sessrec::bindings {

namespace {

// A view of Python's two-level CSR arrays; the arrays must outlive it.
InteractionSessionsView sessions_view(const Array<int64_t>& session_offsets,
                                      const Array<int64_t>& token_offsets,
                                      const Array<int32_t>& ids) {
  if (session_offsets.ndim() != 1 || token_offsets.ndim() != 1 || session_offsets.size() < 1 ||
      token_offsets.size() < 1)
    throw InputError("UBM: session_offsets and token_offsets must be 1-D with a leading 0");
  InteractionSessionsView v{session_offsets.data(), session_offsets.size() - 1,
                            token_offsets.data(), token_offsets.size() - 1, ids.data()};
  if (token_offsets.at(0) != 0 || token_offsets.at(v.interactions) != ids.size())
    throw InputError("UBM: token_offsets must start at 0 and end at len(ids) = " +
                     std::to_string(ids.size()));
  for (int64_t i = 0; i < v.interactions; ++i)
    if (v.token_offsets[i + 1] < v.token_offsets[i])
      throw InputError("UBM: token_offsets decrease at interaction " + std::to_string(i));
  for (int64_t s = 0; s < v.sessions; ++s)
    if (v.session_offsets[s + 1] < v.session_offsets[s])
      throw InputError("UBM: session_offsets decrease at session " + std::to_string(s));
  return v;
}

InteractionSessions owned_sessions(const Array<int64_t>& session_offsets,
                                   const Array<int64_t>& token_offsets, const Array<int32_t>& ids) {
  sessions_view(session_offsets, token_offsets, ids);  // checks
  return InteractionSessions{to_vector(session_offsets, "session_offsets"),
                             to_vector(token_offsets, "token_offsets"), to_vector(ids, "ids")};
}

py::tuple losses_tuple(const UBMModel::Losses& r) {
  return py::make_tuple(r.loss, py::make_tuple(r.parts[0], r.parts[1], r.parts[2], r.parts[3]),
                        r.examples, r.gradient_norm, r.tokens);
}

}  // namespace

void bind_ubm(py::module_& m) {
  py::class_<UBMModel, std::shared_ptr<UBMModel>> ubm(
      m, "UBMModel",
      "UBM's two-level encoder and its two contrastive pre-training stages "
      "(cpp/sessrec/models/ubm.h).");
  ubm.def(
         py::init([](int64_t vocab_size, int64_t dim, int64_t heads, int64_t ffn_dim,
                     int64_t interaction_layers, int64_t session_layers, int64_t max_tokens,
                     int64_t max_interactions, bool post_ln, bool gelu, float dropout, float ln_eps,
                     const std::string& positions, float temperature, bool positive_in_denominator,
                     std::vector<bool> losses, float mask_rate, float replace_mask,
                     float replace_random, int32_t mask_id, std::vector<int32_t> protected_ids,
                     std::vector<int32_t> action_ids, uint64_t seed) {
           UBMConfig c;
           c.interaction.vocab_size = vocab_size;
           c.interaction.max_tokens = max_tokens;
           c.interaction.blocks = nn::TransformerConfig{
               interaction_layers, dim, heads, ffn_dim, post_ln, gelu, false, dropout, ln_eps};
           c.interaction.positions = positions;
           c.interaction.pooling = "cls";
           c.interaction.seed = seed;
           c.session = c.interaction.blocks;
           c.session.layers = session_layers;
           c.max_interactions = max_interactions;
           c.temperature = temperature;
           c.positive_in_denominator = positive_in_denominator;
           if (losses.size() != 4) throw InputError("UBM: losses must hold 4 flags (l1..l4)");
           for (int k = 0; k < 4; ++k) c.losses[k] = losses[k];
           c.masking.rate = mask_rate;
           c.masking.replace_mask = replace_mask;
           c.masking.replace_random = replace_random;
           c.masking.mask_id = mask_id;
           c.masking.protected_ids = std::move(protected_ids);
           c.action_ids = std::move(action_ids);
           c.seed = seed;
           return std::make_shared<UBMModel>(std::move(c));
         }),
         py::kw_only(), py::arg("vocab_size"), py::arg("dim"), py::arg("heads"), py::arg("ffn_dim"),
         py::arg("interaction_layers"), py::arg("session_layers"), py::arg("max_tokens"),
         py::arg("max_interactions"), py::arg("post_ln"), py::arg("gelu"), py::arg("dropout"),
         py::arg("ln_eps"), py::arg("positions"), py::arg("temperature"),
         py::arg("positive_in_denominator"), py::arg("losses"), py::arg("mask_rate"),
         py::arg("replace_mask"), py::arg("replace_random"), py::arg("mask_id"),
         py::arg("protected_ids"), py::arg("action_ids"), py::arg("seed"))
      .def_property_readonly("dim", [](const UBMModel& u) { return u.config().session.dim; })
      .def_property("steps", &UBMModel::steps, &UBMModel::set_steps)
      .def_property_readonly("interaction_encoder", &UBMModel::interaction_encoder)
      .def("reset_optimizer_state", &UBMModel::reset_optimizer_state,
           "Zero Adam's moments of every parameter (a stage starts a new optimizer).")
      .def(
          "train_stage1",
          [](UBMModel& u, const Array<int64_t>& session_offsets,
             const Array<int64_t>& token_offsets, const Array<int32_t>& ids,
             const Array<int64_t>& first, const Array<int64_t>& second, nn::Adam& optimizer) {
            const InteractionSessionsView v = sessions_view(session_offsets, token_offsets, ids);
            if (first.size() != second.size())
              throw InputError("train_stage1: first and second differ in length");
            UBMModel::Losses r;
            {
              py::gil_scoped_release release;
              r = u.train_stage1(v, first.data(), second.data(), first.size(), optimizer);
            }
            return losses_tuple(r);
          },
          py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"), py::arg("first"),
          py::arg("second"), py::arg("optimizer"),
          "One stage-1 step on the interaction pairs (first[k], second[k]): (loss, (l1, l2, l3, "
          "l4), pairs, gradient norm, tokens encoded).")
      .def(
          "train_stage2",
          [](UBMModel& u, const Array<int64_t>& session_offsets,
             const Array<int64_t>& token_offsets, const Array<int32_t>& ids,
             const Array<int64_t>& rows, nn::Adam& optimizer) {
            const InteractionSessionsView v = sessions_view(session_offsets, token_offsets, ids);
            UBMModel::Losses r;
            {
              py::gil_scoped_release release;
              r = u.train_stage2(v, rows.data(), rows.size(), optimizer);
            }
            return losses_tuple(r);
          },
          py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"), py::arg("rows"),
          py::arg("optimizer"),
          "One stage-2 step on the sessions `rows`: (loss, (l1, l2, l3, l4), sessions, gradient "
          "norm, tokens encoded).")
      .def(
          "stage1_views",
          [](const UBMModel& u, const Array<int64_t>& session_offsets,
             const Array<int64_t>& token_offsets, const Array<int32_t>& ids,
             const Array<int64_t>& first, const Array<int64_t>& second, uint64_t step) {
            const InteractionSessionsView v = sessions_view(session_offsets, token_offsets, ids);
            if (first.size() != second.size())
              throw InputError("stage1_views: first and second differ in length");
            TokenLists views = u.stage1_views(v, first.data(), second.data(), first.size(), step);
            return py::make_tuple(to_numpy(std::move(views.offsets)),
                                  to_numpy(std::move(views.ids)));
          },
          py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"), py::arg("first"),
          py::arg("second"), py::arg("step"),
          "(offsets, ids) of step `step`'s stage-1 token lists: the 2N interactions, then their "
          "masked copies when l1 is on.")
      .def(
          "stage1_loss",
          [](UBMModel& u, const Array<int64_t>& offsets, const Array<int32_t>& ids, int64_t pairs,
             bool training, uint64_t step, bool backward) {
            TokenLists views{to_vector(offsets, "offsets"), to_vector(ids, "ids")};
            if (views.offsets.empty() || views.offsets.front() != 0 ||
                views.offsets.back() != static_cast<int64_t>(views.ids.size()))
              throw InputError("stage1_loss: offsets must start at 0 and end at len(ids)");
            UBMModel::Losses r;
            {
              py::gil_scoped_release release;
              r = u.stage1_loss(views, pairs, training, step, backward);
            }
            return losses_tuple(r);
          },
          py::arg("offsets"), py::arg("ids"), py::arg("pairs"), py::arg("training") = false,
          py::arg("step") = 0, py::arg("backward") = true,
          "l1 + l2 of stage1_views' lists; with backward the gradients accumulate.")
      .def(
          "stage2_views",
          [](const UBMModel& u, const Array<int64_t>& session_offsets,
             const Array<int64_t>& token_offsets, const Array<int32_t>& ids,
             const Array<int64_t>& rows, uint64_t step) {
            const InteractionSessionsView v = sessions_view(session_offsets, token_offsets, ids);
            InteractionSessions views = u.stage2_views(v, rows.data(), rows.size(), step);
            return py::make_tuple(to_numpy(std::move(views.session_offsets)),
                                  to_numpy(std::move(views.token_offsets)),
                                  to_numpy(std::move(views.ids)));
          },
          py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"), py::arg("rows"),
          py::arg("step"),
          "(session_offsets, token_offsets, ids) of step `step`'s stage-2 sessions: the N "
          "sessions, their reordered copies (l3 on), their masked copies (l4 on).")
      .def(
          "stage2_loss",
          [](UBMModel& u, const Array<int64_t>& session_offsets,
             const Array<int64_t>& token_offsets, const Array<int32_t>& ids, int64_t sessions,
             bool training, uint64_t step, bool backward) {
            const InteractionSessions views = owned_sessions(session_offsets, token_offsets, ids);
            UBMModel::Losses r;
            {
              py::gil_scoped_release release;
              r = u.stage2_loss(views, sessions, training, step, backward);
            }
            return losses_tuple(r);
          },
          py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"), py::arg("sessions"),
          py::arg("training") = false, py::arg("step") = 0, py::arg("backward") = true,
          "l3 + l4 of stage2_views' sessions; with backward the gradients accumulate.")
      .def(
          "encode_sessions",
          [](UBMModel& u, const Array<int64_t>& session_offsets,
             const Array<int64_t>& token_offsets, const Array<int32_t>& ids,
             const Array<int64_t>& rows) {
            const InteractionSessionsView v = sessions_view(session_offsets, token_offsets, ids);
            const int64_t S = rows.size();
            py::array_t<float> out({S, u.config().session.dim});
            if (S == 0) return out;
            py::gil_scoped_release release;
            u.encode_sessions(v, rows.data(), S, out.mutable_data());
            return out;
          },
          py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"), py::arg("rows"),
          "Session vectors h' [len(rows), dim] (evaluation mode: no dropout).");
  def_parameter_methods(ubm);
}

}  // namespace sessrec::bindings
