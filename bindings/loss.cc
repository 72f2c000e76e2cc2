// Bindings for the contrastive objectives of cpp/sessrec/loss: the ops info_nce and arccon on
// NumPy arrays, MemoryQueue, ContrastiveConfig and ContrastiveObjective. Defaults live in the
// C++ ContrastiveConfig; the ops take every hyperparameter explicitly.
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "numpy_convert.h"
#include "sessrec/loss/contrastive.h"
#include "sessrec/loss/contrastive_objective.h"
#include "sessrec/loss/memory_queue.h"

namespace sessrec::bindings {

namespace {

using Floats = Array<float>;
using OptionalFloats = std::optional<Floats>;

// Rows of a 2-D array whose width must be D (D < 0: any width, taken from the array).
int64_t rows_of(const Floats& x, const char* name, int64_t D) {
  if (x.ndim() != 2)
    throw InputError(std::string(name) + " must be a 2-D array, got " + std::to_string(x.ndim()) +
                     " dimensions");
  if (D >= 0 && x.shape(1) != D)
    throw InputError(std::string(name) + " must have width " + std::to_string(D) + ", got " +
                     std::to_string(x.shape(1)));
  return x.shape(0);
}

// Rows B of anchors a and positives p [B, D], weights [B] or None.
int64_t check_pairs(const Floats& a, const Floats& p, const OptionalFloats& weights, int64_t D) {
  const int64_t B = rows_of(a, "a", D);
  if (rows_of(p, "p", D) != B) throw InputError("p must have as many rows as a");
  if (weights && (weights->ndim() != 1 || weights->shape(0) != B))
    throw InputError("weights must be a 1-D array of one weight per row of a");
  return B;
}

py::array_t<float> zeros(int64_t rows, int64_t cols) {
  py::array_t<float> out({rows, cols});
  std::fill_n(out.mutable_data(), rows * cols, 0.0f);
  return out;
}

// (loss, example_losses [B], da [B, D], dp [B, D]) of the op on (a, p).
py::tuple pair_loss(const Floats& a, const Floats& p, const OptionalFloats& weights,
                    const OptionalFloats& anchor_queue, const OptionalFloats& positive_queue,
                    float scale, float margin, bool symmetric, bool same_space) {
  const int64_t D = a.ndim() == 2 ? a.shape(1) : -1;
  const int64_t B = check_pairs(a, p, weights, D);
  loss::QueueNegatives<float> queues;
  if (anchor_queue) {
    queues.anchor_rows = rows_of(*anchor_queue, "anchor_queue", D);
    queues.anchor_space = anchor_queue->data();
  }
  if (positive_queue) {
    queues.positive_rows = rows_of(*positive_queue, "positive_queue", D);
    queues.positive_space = positive_queue->data();
  }
  py::array_t<float> example(B), da = zeros(B, D), dp = zeros(B, D);
  float* out[] = {example.mutable_data(), da.mutable_data(), dp.mutable_data()};
  const float* w = weights ? weights->data() : nullptr;
  float value;
  {
    py::gil_scoped_release release;
    value = loss::pair_contrastive(out[0], out[1], out[2], a.data(), p.data(), w, B, D, queues,
                                   scale, margin, {symmetric, same_space});
  }
  return py::make_tuple(value, example, da, dp);
}

py::tuple queue_state(const loss::MemoryQueue& q) {
  loss::MemoryQueue::State s = q.state();
  py::array_t<float> values({s.capacity, s.dim});
  std::copy(s.values.begin(), s.values.end(), values.mutable_data());
  return py::make_tuple(values, s.write_position, s.filled);
}

void set_queue_state(loss::MemoryQueue& q, const py::tuple& t) {
  if (t.size() != 3)
    throw InputError("memory queue state must be (values, write_position, filled)");
  const Floats values = t[0].cast<Floats>();
  rows_of(values, "memory queue state values", q.dim());
  q.set_state({values.shape(0), q.dim(),
               std::vector<float>(values.data(), values.data() + values.size()),
               t[1].cast<int64_t>(), t[2].cast<int64_t>()});
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def(
      "info_nce",
      [](const Floats& a, const Floats& p, float temperature, const OptionalFloats& weights,
         const OptionalFloats& anchor_queue, const OptionalFloats& positive_queue, bool symmetric,
         bool same_space) {
        if (!(temperature > 0)) throw InputError("info_nce: temperature must be > 0");
        return pair_loss(a, p, weights, anchor_queue, positive_queue, 1.0f / temperature, 0.0f,
                         symmetric, same_space);
      },
      py::arg("a"), py::arg("p"), py::arg("temperature"), py::arg("weights") = py::none(),
      py::arg("anchor_queue") = py::none(), py::arg("positive_queue") = py::none(),
      py::arg("symmetric") = false, py::arg("same_space") = false,
      "InfoNCE on cosine similarity (logits cos / temperature) of anchors a [B, D] against "
      "positives p [B, D], in-batch negatives plus queue rows (no gradient) of the negatives' "
      "space. Returns (loss, example_losses [B], da, dp); loss = sum w_b l_b / sum w_b.");
  m.def(
      "arccon",
      [](const Floats& a, const Floats& p, float scale, float margin, const OptionalFloats& weights,
         const OptionalFloats& anchor_queue, const OptionalFloats& positive_queue, bool symmetric,
         bool same_space) {
        return pair_loss(a, p, weights, anchor_queue, positive_queue, scale, margin, symmetric,
                         same_space);
      },
      py::arg("a"), py::arg("p"), py::arg("scale"), py::arg("margin"),
      py::arg("weights") = py::none(), py::arg("anchor_queue") = py::none(),
      py::arg("positive_queue") = py::none(), py::arg("symmetric") = false,
      py::arg("same_space") = false,
      "ArcCon (KDD Cup 2023 Eq. 5): the positive's logit s cos(theta + m), negatives "
      "s cos(theta); otherwise as info_nce. margin in radians, [0, pi).");

  py::class_<loss::MemoryQueue>(m, "MemoryQueue")
      .def(py::init<int64_t, int64_t>(), py::arg("capacity"), py::arg("dim"))
      .def(
          "enqueue",
          [](loss::MemoryQueue& q, const Floats& rows) {
            const int64_t n = rows_of(rows, "rows", q.dim());
            py::gil_scoped_release release;
            q.enqueue(rows.data(), n, q.dim());
          },
          py::arg("rows"), "Normalise and append rows [n, dim], overwriting the oldest.")
      .def("size", &loss::MemoryQueue::size)
      .def("__len__", &loss::MemoryQueue::size)
      .def_property_readonly("capacity", &loss::MemoryQueue::capacity)
      .def_property_readonly("dim", &loss::MemoryQueue::dim)
      .def_property_readonly("write_position", &loss::MemoryQueue::write_position)
      .def(
          "values",
          [](const loss::MemoryQueue& q) {
            py::array_t<float> out({q.size(), q.dim()});
            std::copy_n(q.values(), q.size() * q.dim(), out.mutable_data());
            return out;
          },
          "A copy of the filled rows [size, dim] in slot order (the oldest at write_position "
          "once full).")
      .def("get_state", &queue_state, "(values [capacity, dim], write_position, filled)")
      .def("set_state", &set_queue_state, py::arg("state"))
      .def(py::pickle(
          [](const loss::MemoryQueue& q) {
            return py::make_tuple(q.capacity(), q.dim(), queue_state(q));
          },
          [](const py::tuple& t) {
            loss::MemoryQueue q(t[0].cast<int64_t>(), t[1].cast<int64_t>());
            set_queue_state(q, t[2].cast<py::tuple>());
            return q;
          }));

  py::class_<loss::ContrastiveConfig>(m, "ContrastiveConfig")
      .def(py::init([](const py::kwargs& options) {
             py::object config = py::cast(loss::ContrastiveConfig{});
             for (auto [name, value] : options) {
               if (!py::hasattr(config, name))
                 throw InputError("ContrastiveConfig has no option '" + name.cast<std::string>() +
                                  "'");
               py::setattr(config, name, value);
             }
             return config.cast<loss::ContrastiveConfig>();
           }),
           "Options as keywords (kind, temperature, scale, margin, symmetric, same_space, "
           "queue_capacity, decoupled); the others keep the C++ defaults.")
      .def("validate", &loss::ContrastiveConfig::validate,
           "ValueError naming the first option out of range.")
      .def_readwrite("kind", &loss::ContrastiveConfig::kind)
      .def_readwrite("temperature", &loss::ContrastiveConfig::temperature)
      .def_readwrite("scale", &loss::ContrastiveConfig::scale)
      .def_readwrite("margin", &loss::ContrastiveConfig::margin)
      .def_readwrite("symmetric", &loss::ContrastiveConfig::symmetric)
      .def_readwrite("same_space", &loss::ContrastiveConfig::same_space)
      .def_readwrite("queue_capacity", &loss::ContrastiveConfig::queue_capacity)
      .def_readwrite("decoupled", &loss::ContrastiveConfig::decoupled,
                     "[] or the four weights lambda1..lambda4 of the KDD Cup 2023 decoupled "
                     "loss (Eq. 6): L(a, p), L(p, a), L(a, p; same space), L(p, a; same space).");

  py::class_<loss::ContrastiveObjective>(m, "ContrastiveObjective")
      .def(py::init<const loss::ContrastiveConfig&, int64_t>(), py::arg("config"), py::arg("dim"))
      .def_property_readonly("name", &loss::ContrastiveObjective::name)
      .def_property_readonly("config", &loss::ContrastiveObjective::config)
      .def("set_margin", &loss::ContrastiveObjective::set_margin, py::arg("margin"),
           "The ArcCon margin (radians, [0, pi)) from the next step on: a margin schedule.")
      .def(
          "forward_backward",
          [](loss::ContrastiveObjective& o, const Floats& a, const Floats& p,
             const OptionalFloats& weights) {
            const int64_t D = o.dim(), B = check_pairs(a, p, weights, D);
            py::array_t<float> da = zeros(B, D), dp = zeros(B, D);
            float* out[] = {da.mutable_data(), dp.mutable_data()};
            const float* w = weights ? weights->data() : nullptr;
            float value;
            {
              py::gil_scoped_release release;
              value = o.forward_backward(a.data(), p.data(), B, D, w, out[0], out[1]);
            }
            return py::make_tuple(value, da, dp);
          },
          py::arg("a"), py::arg("p"), py::arg("weights") = py::none(),
          "(loss, da, dp) of the batch against in-batch and queue negatives.")
      .def_property_readonly("example_losses",
                             [](const loss::ContrastiveObjective& o) {
                               return to_numpy(std::vector<float>(o.example_losses()));
                             })
      .def(
          "enqueue",
          [](loss::ContrastiveObjective& o, const OptionalFloats& anchor_keys,
             const OptionalFloats& positive_keys) {
            int64_t B = -1;
            for (const auto& [keys, name] : {std::pair{&anchor_keys, "anchor_keys"},
                                             std::pair{&positive_keys, "positive_keys"}})
              if (*keys) {
                const int64_t rows = rows_of(**keys, name, o.dim());
                if (B >= 0 && rows != B)
                  throw InputError("anchor_keys and positive_keys must have the same rows");
                B = rows;
              }
            if (B < 0) B = 0;
            py::gil_scoped_release release;
            o.enqueue(anchor_keys ? anchor_keys->data() : nullptr,
                      positive_keys ? positive_keys->data() : nullptr, B, o.dim());
          },
          py::arg("anchor_keys") = py::none(), py::arg("positive_keys") = py::none(),
          "Store the momentum encoder's keys of this step ([B, D] per space) in the queues "
          "this objective keeps.")
      .def_property_readonly(
          "anchor_queue", [](loss::ContrastiveObjective& o) { return o.anchor_queue(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly(
          "positive_queue", [](loss::ContrastiveObjective& o) { return o.positive_queue(); },
          py::return_value_policy::reference_internal)
      .def(
          "get_state",
          [](loss::ContrastiveObjective& o) {
            py::dict state;
            if (o.anchor_queue()) state["anchor_queue"] = queue_state(*o.anchor_queue());
            if (o.positive_queue()) state["positive_queue"] = queue_state(*o.positive_queue());
            return state;
          },
          "The queues' states by name (a checkpoint; empty without queues).")
      .def(
          "set_state",
          [](loss::ContrastiveObjective& o, const py::dict& state) {
            for (auto [name, queue] : {std::pair{"anchor_queue", o.anchor_queue()},
                                       std::pair{"positive_queue", o.positive_queue()}}) {
              if ((queue != nullptr) != state.contains(name))
                throw InputError(std::string("objective state: '") + name + "' is " +
                                 (queue ? "missing" : "not kept by this objective"));
              if (queue) set_queue_state(*queue, state[name].cast<py::tuple>());
            }
          },
          py::arg("state"));
}

}  // namespace sessrec::bindings
