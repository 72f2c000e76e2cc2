#include "sessrec/data/examples.h"

#include <algorithm>

#include "sessrec/errors.h"

namespace sessrec {

ExampleSet make_examples(const SessionStore& store, TargetPositions positions,
                         int64_t max_history) {
  if (max_history < 0) throw InputError("make_examples: max_history must be >= 0");
  const int64_t n = store.num_sessions();
  std::vector<int64_t> first(n + 1, 0);  // first example index of each session
  for (int64_t s = 0; s < n; ++s) {
    const int64_t len = store.length(s);
    const int64_t count = len < 2 ? 0 : (positions == TargetPositions::All ? len - 1 : 1);
    first[s + 1] = first[s] + count;
  }
  ExampleSet out;
  out.begin.resize(first[n]);
  out.end.resize(first[n]);
  out.session.resize(first[n]);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < n; ++s) {
    const int64_t start = store.offsets[s], stop = store.offsets[s + 1];
    int64_t k = first[s];
    const int64_t lowest_end = positions == TargetPositions::All ? start + 1 : stop - 1;
    for (int64_t e = lowest_end; e < stop && k < first[s + 1]; ++e, ++k) {
      out.end[k] = e;
      out.begin[k] = max_history > 0 ? std::max(start, e - max_history) : start;
      out.session[k] = s;
    }
  }
  return out;
}

}  // namespace sessrec
