// MemoryQueue: a fixed-capacity FIFO of L2-normalised vectors, the extra negatives of a
// contrastive objective (MoCo's dictionary; the KDD Cup 2023 paper keeps one per space: "These
// queues store K vectors, which are encoded by the momentum encoder from the most recent
// batches. With each optimization step, the oldest vectors in the memory queues are replaced by
// the vectors from the current batch.").
//
// Storage is one [capacity, dim] matrix used as a ring: enqueue writes rows at the write
// position and wraps, overwriting the oldest. The filled rows are always the first size() rows,
// so values() is a contiguous [size(), dim] view with no copy. Its order is slot order, not
// age order: once the queue has wrapped, the oldest row sits at write_position(). Negatives do
// not care about order (a softmax over them is invariant to it).
#pragma once
#include <cstdint>
#include <vector>

namespace sessrec::loss {

class MemoryQueue {
 public:
  // Everything needed to continue exactly where a checkpoint left off.
  struct State {
    int64_t capacity = 0, dim = 0;
    std::vector<float> values;  // [capacity, dim], unfilled rows zero
    int64_t write_position = 0;
    int64_t filled = 0;
  };

  // InputError unless capacity > 0 and dim > 0.
  MemoryQueue(int64_t capacity, int64_t dim);

  // Normalises and appends rows [n, dim] (dim must match), overwriting the oldest rows. A batch
  // larger than the capacity keeps its last `capacity` rows. InputError on non-finite values.
  void enqueue(const float* rows, int64_t n, int64_t dim);

  int64_t size() const { return filled_; }
  int64_t capacity() const { return capacity_; }
  int64_t dim() const { return dim_; }
  int64_t write_position() const { return write_position_; }
  // The filled rows, [size(), dim], slot order (see above).
  const float* values() const { return values_.data(); }

  State state() const;
  // InputError unless the state has this queue's capacity and dim and a consistent position.
  void set_state(const State& state);

 private:
  int64_t capacity_, dim_;
  std::vector<float> values_;
  int64_t write_position_ = 0, filled_ = 0;
};

}  // namespace sessrec::loss
