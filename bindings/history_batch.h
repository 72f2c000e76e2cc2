// What the bindings of several session encoders share: a (begin, end) batch of histories read
// from NumPy, and encode() of such a batch into an [histories, dim] array.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "numpy_convert.h"
#include "sessrec/session_scorer.h"

namespace sessrec::bindings {

struct Units {
  std::vector<int64_t> begin, end;
};

// begin/end of a training or scoring batch: equal lengths, not empty.
inline Units to_units(const Array<int64_t>& begin, const Array<int64_t>& end) {
  Units u{to_vector(begin, "begin"), to_vector(end, "end")};
  if (u.begin.size() != u.end.size()) throw InputError("begin and end differ in length");
  if (u.begin.empty()) throw InputError("empty batch");
  return u;
}

// model.encode() of the histories items[begin[r]:end[r]] (checked) into float32 [rows, dim],
// the GIL released while the model runs. Model: encode(HistoryBatch, float*), num_items(),
// config().dim.
template <typename Model>
py::array_t<float> encode_histories(const Model& model, const Array<int32_t>& items,
                                    const Array<int64_t>& begin, const Array<int64_t>& end) {
  auto it = to_vector(items, "items");
  auto b = to_vector(begin, "begin");
  auto e = to_vector(end, "end");
  if (b.size() != e.size()) throw InputError("encode: begin and end differ in length");
  for (size_t r = 0; r < e.size(); ++r)
    if (b[r] < 0 || b[r] > e[r] || e[r] > static_cast<int64_t>(it.size()))
      throw InputError("encode: history " + std::to_string(r) + " has an invalid range");
  for (int32_t x : it)
    if (x < 0 || x >= model.num_items()) throw InputError("encode: item index out of range");
  py::array_t<float> out({static_cast<int64_t>(e.size()), model.config().dim});
  float* data = out.mutable_data();
  {
    py::gil_scoped_release release;
    model.encode(HistoryBatch{it.data(), b.data(), e.data(), static_cast<int64_t>(e.size())},
                 data);
  }
  return out;
}

}  // namespace sessrec::bindings
