// Bindings for cpp/sessrec/models/ubm_tasks.h: the PIP/RLP heads and one fine-tuning step (or
// one evaluation pass) per call for PIP, RLP and NIP, on a UBMModel bound in bindings/ubm.cc.
#include "sessrec/models/ubm_tasks.h"

#include <pybind11/stl.h>

#include "numpy_convert.h"
#include "parameters.h"

namespace sessrec::bindings {

namespace {

// A checked view of Python's two-level CSR arrays; the arrays must outlive it.
InteractionSessionsView checked_view(const Array<int64_t>& session_offsets,
                                     const Array<int64_t>& token_offsets, const Array<int32_t>& ids,
                                     const char* what) {
  const std::string name(what);
  if (session_offsets.ndim() != 1 || token_offsets.ndim() != 1 || session_offsets.size() < 1 ||
      token_offsets.size() < 1)
    throw InputError(name + ": session_offsets and token_offsets must be 1-D with a leading 0");
  InteractionSessionsView v{session_offsets.data(), session_offsets.size() - 1,
                            token_offsets.data(), token_offsets.size() - 1, ids.data()};
  if (v.session_offsets[0] != 0 || v.session_offsets[v.sessions] != v.interactions)
    throw InputError(name + ": session_offsets must run from 0 to the number of interactions");
  if (v.token_offsets[0] != 0 || v.token_offsets[v.interactions] != ids.size())
    throw InputError(name +
                     ": token_offsets must run from 0 to len(ids) = " + std::to_string(ids.size()));
  for (int64_t i = 0; i < v.interactions; ++i)
    if (v.token_offsets[i + 1] < v.token_offsets[i])
      throw InputError(name + ": token_offsets decrease at interaction " + std::to_string(i));
  for (int64_t s = 0; s < v.sessions; ++s)
    if (v.session_offsets[s + 1] < v.session_offsets[s])
      throw InputError(name + ": session_offsets decrease at session " + std::to_string(s));
  return v;
}

template <typename T>
void check_length(const Array<T>& a, int64_t n, const char* what) {
  if (a.ndim() != 1 || a.size() != n)
    throw InputError(std::string(what) + " must be 1-D with one value per row (" +
                     std::to_string(n) + "), got " + std::to_string(a.size()));
}

py::tuple step_tuple(const UBMTaskStep& r) {
  return py::make_tuple(r.loss, r.examples, r.gradient_norm);
}

}  // namespace

void bind_ubm_tasks(py::module_& m) {
  py::class_<UBMTaskHead, std::shared_ptr<UBMTaskHead>> head(
      m, "UBMTaskHead",
      "A UBM downstream head on the session vector (cpp/sessrec/models/ubm_tasks.h): 'pip' "
      "(two feed-forward layers, a linear layer, a sigmoid) or 'rlp' (two feed-forward layers).");
  head.def(py::init([](const std::string& task, int64_t dim, int64_t hidden, uint64_t seed) {
             return std::make_shared<UBMTaskHead>(parse_ubm_task(task), dim, hidden, seed);
           }),
           py::arg("task"), py::arg("dim"), py::arg("hidden"), py::arg("seed") = 0)
      .def_property_readonly("dims", &UBMTaskHead::dims)
      .def_property_readonly("task", [](const UBMTaskHead& h) {
        return h.task() == UBMTask::PurchaseIntention ? "pip" : "rlp";
      });
  def_parameter_methods(head);

  m.def(
      "ubm_task_train_step",
      [](UBMModel& model, UBMTaskHead& head, const Array<int64_t>& session_offsets,
         const Array<int64_t>& token_offsets, const Array<int32_t>& ids, const Array<int64_t>& rows,
         const Array<float>& labels, uint64_t step, nn::Adam& model_optimizer,
         nn::Adam& head_optimizer) {
        const InteractionSessionsView v =
            checked_view(session_offsets, token_offsets, ids, "ubm_task_train_step");
        check_length(labels, rows.size(), "labels");
        UBMTaskStep r;
        {
          py::gil_scoped_release release;
          r = ubm_task_train_step(model, head, v, rows.data(), labels.data(), rows.size(), step,
                                  model_optimizer, head_optimizer);
        }
        return step_tuple(r);
      },
      py::arg("model"), py::arg("head"), py::arg("session_offsets"), py::arg("token_offsets"),
      py::arg("ids"), py::arg("rows"), py::arg("labels"), py::arg("step"),
      py::arg("model_optimizer"), py::arg("head_optimizer"),
      "One PIP/RLP fine-tuning step on sessions `rows`: (loss, examples, gradient norm).");
  m.def(
      "ubm_task_predict",
      [](UBMModel& model, UBMTaskHead& head, const Array<int64_t>& session_offsets,
         const Array<int64_t>& token_offsets, const Array<int32_t>& ids, const Array<int64_t>& rows,
         const py::object& labels) {
        const InteractionSessionsView v =
            checked_view(session_offsets, token_offsets, ids, "ubm_task_predict");
        const int64_t N = rows.size();
        py::array_t<float> predictions(N);
        Array<float> label_array;
        if (!labels.is_none()) {
          label_array = labels.cast<Array<float>>();
          check_length(label_array, N, "labels");
        }
        float loss = 0;
        if (N > 0) {
          py::gil_scoped_release release;
          loss = ubm_task_predict(model, head, v, rows.data(),
                                  labels.is_none() ? nullptr : label_array.data(), N,
                                  predictions.mutable_data());
        }
        return py::make_tuple(predictions, loss);
      },
      py::arg("model"), py::arg("head"), py::arg("session_offsets"), py::arg("token_offsets"),
      py::arg("ids"), py::arg("rows"), py::arg("labels") = py::none(),
      "(predictions, mean loss) of sessions `rows` in evaluation mode: probabilities (PIP) or "
      "lengths (RLP); the loss is 0 without labels.");
  m.def(
      "ubm_next_item_train_step",
      [](UBMModel& model, const Array<int64_t>& session_offsets,
         const Array<int64_t>& token_offsets, const Array<int32_t>& ids, const Array<int64_t>& rows,
         const Array<int32_t>& targets, const Array<int64_t>& candidate_session_offsets,
         const Array<int64_t>& candidate_token_offsets, const Array<int32_t>& candidate_ids,
         uint64_t step, nn::Adam& optimizer) {
        const InteractionSessionsView v =
            checked_view(session_offsets, token_offsets, ids, "NIP histories");
        const InteractionSessionsView c = checked_view(
            candidate_session_offsets, candidate_token_offsets, candidate_ids, "NIP candidates");
        check_length(targets, rows.size(), "targets");
        UBMTaskStep r;
        {
          py::gil_scoped_release release;
          r = ubm_next_item_train_step(model, v, rows.data(), targets.data(), rows.size(), c, step,
                                       optimizer);
        }
        return step_tuple(r);
      },
      py::arg("model"), py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"),
      py::arg("rows"), py::arg("targets"), py::arg("candidate_session_offsets"),
      py::arg("candidate_token_offsets"), py::arg("candidate_ids"), py::arg("step"),
      py::arg("optimizer"),
      "One NIP fine-tuning step (full softmax over the candidates, gradients through histories "
      "and candidates): (loss, examples, gradient norm).");
  m.def(
      "ubm_next_item_train_step_fixed",
      [](UBMModel& model, const Array<int64_t>& session_offsets,
         const Array<int64_t>& token_offsets, const Array<int32_t>& ids, const Array<int64_t>& rows,
         const Array<int32_t>& targets, const Array<float>& candidate_vectors, uint64_t step,
         nn::Adam& optimizer) {
        const InteractionSessionsView v =
            checked_view(session_offsets, token_offsets, ids, "NIP histories");
        check_length(targets, rows.size(), "targets");
        if (candidate_vectors.ndim() != 2 ||
            candidate_vectors.shape(1) != model.config().session.dim)
          throw InputError("NIP: candidate_vectors must be [m, dim]");
        UBMTaskStep r;
        {
          py::gil_scoped_release release;
          r = ubm_next_item_train_step_fixed(model, v, rows.data(), targets.data(), rows.size(),
                                             candidate_vectors.data(), candidate_vectors.shape(0),
                                             step, optimizer);
        }
        return step_tuple(r);
      },
      py::arg("model"), py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"),
      py::arg("rows"), py::arg("targets"), py::arg("candidate_vectors"), py::arg("step"),
      py::arg("optimizer"),
      "One NIP fine-tuning step against fixed candidate vectors (full softmax, gradients through "
      "the histories): (loss, examples, gradient norm).");
  m.def(
      "ubm_next_item_loss",
      [](UBMModel& model, const Array<int64_t>& session_offsets,
         const Array<int64_t>& token_offsets, const Array<int32_t>& ids, const Array<int64_t>& rows,
         const Array<int32_t>& targets, const Array<float>& candidate_vectors) {
        const InteractionSessionsView v =
            checked_view(session_offsets, token_offsets, ids, "NIP histories");
        check_length(targets, rows.size(), "targets");
        if (candidate_vectors.ndim() != 2 ||
            candidate_vectors.shape(1) != model.config().session.dim)
          throw InputError("NIP: candidate_vectors must be [m, dim]");
        if (rows.size() == 0) return 0.0f;
        py::gil_scoped_release release;
        return ubm_next_item_loss(model, v, rows.data(), targets.data(), rows.size(),
                                  candidate_vectors.data(), candidate_vectors.shape(0));
      },
      py::arg("model"), py::arg("session_offsets"), py::arg("token_offsets"), py::arg("ids"),
      py::arg("rows"), py::arg("targets"), py::arg("candidate_vectors"),
      "Mean NIP loss (evaluation mode) of histories `rows` against fixed candidate vectors.");
}

}  // namespace sessrec::bindings
