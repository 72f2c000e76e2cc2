#include "sessrec/loss/memory_queue.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/l2_normalize.h"

namespace sessrec::loss {

MemoryQueue::MemoryQueue(int64_t capacity, int64_t dim) : capacity_(capacity), dim_(dim) {
  if (capacity <= 0 || dim <= 0)
    throw InputError("memory queue: capacity and dim must be > 0, got capacity " +
                     std::to_string(capacity) + ", dim " + std::to_string(dim));
  values_.assign(capacity * dim, 0.0f);
}

void MemoryQueue::enqueue(const float* rows, int64_t n, int64_t dim) {
  if (dim != dim_)
    throw InputError("memory queue: rows have dim " + std::to_string(dim) + ", the queue holds " +
                     std::to_string(dim_));
  if (n < 0) throw InputError("memory queue: negative row count");
  for (int64_t i = 0; i < n * dim; ++i)
    if (!std::isfinite(rows[i]))
      throw InputError("memory queue: row " + std::to_string(i / dim) + " is not finite");
  // The same slots as writing the rows one by one: rows that a later row of the batch would
  // overwrite are skipped, the rest fill at most two contiguous ranges of slots (before and
  // after the wrap), normalised in place.
  const int64_t skip = std::max<int64_t>(0, n - capacity_);
  const int64_t kept = n - skip;
  const int64_t start = (write_position_ + skip) % capacity_;
  const int64_t first = std::min(kept, capacity_ - start);
  const float* source = rows + skip * dim_;
  std::vector<float> norms(kept);
  auto fill = [&](int64_t slot, int64_t from, int64_t count) {
    float* dst = values_.data() + slot * dim_;
    std::copy(source + from * dim_, source + (from + count) * dim_, dst);
    nn::l2_normalize_rows_forward(dst, norms.data(), dst, count, dim_);
  };
  fill(start, 0, first);
  fill(0, first, kept - first);
  write_position_ = (start + kept) % capacity_;
  filled_ = std::min(capacity_, filled_ + kept);
}

MemoryQueue::State MemoryQueue::state() const {
  return State{capacity_, dim_, values_, write_position_, filled_};
}

void MemoryQueue::set_state(const State& state) {
  if (state.capacity != capacity_ || state.dim != dim_ ||
      static_cast<int64_t>(state.values.size()) != capacity_ * dim_)
    throw InputError("memory queue: the state holds " + std::to_string(state.capacity) + " x " +
                     std::to_string(state.dim) + " (" + std::to_string(state.values.size()) +
                     " values), the queue " + std::to_string(capacity_) + " x " +
                     std::to_string(dim_));
  const bool position_ok = state.filled >= 0 && state.filled <= capacity_ &&
                           state.write_position >= 0 && state.write_position < capacity_ &&
                           (state.filled == capacity_ || state.write_position == state.filled);
  if (!position_ok)
    throw InputError("memory queue: inconsistent state (write position " +
                     std::to_string(state.write_position) + ", filled " +
                     std::to_string(state.filled) + ", capacity " + std::to_string(capacity_) +
                     ")");
  values_ = state.values;
  write_position_ = state.write_position;
  filled_ = state.filled;
}

}  // namespace sessrec::loss
