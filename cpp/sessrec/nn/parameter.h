// Parameters: values, gradients and optimizer state in contiguous float32 buffers.
// A row-sparse parameter (an embedding table) records which rows a batch touched, so zeroing
// and optimizer updates cost O(touched rows), not O(table).
// Parameter groups are selected by name with shell-style patterns ("tower.*", "block0.*", an
// exact name): a group can be frozen or given its own learning rate (as a multiple of the
// optimizer's), and values move between sets by name (stage hand-over, warm starts).
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sessrec/nn/tensor.h"
#include "sessrec/random.h"

namespace sessrec::nn {

struct Parameter {
  std::string name;
  int64_t rows = 0, cols = 0;
  bool row_sparse = false;
  FloatBuffer value, grad, adam_m, adam_v;
  std::vector<uint8_t> touched;       // per row, row-sparse only
  std::vector<int32_t> touched_rows;  // in first-touch order
  // A frozen parameter keeps its value: the optimizer skips it (moments and weight decay too)
  // and it adds nothing to the gradient norm. Backward passes still compute its gradient.
  bool frozen = false;
  float lr_scale = 1.0f;  // the optimizer's learning rate times this, for this parameter

  int64_t size() const { return rows * cols; }
  float* data() { return value.data(); }
  const float* data() const { return value.data(); }
  float* gradient() { return grad.data(); }

  void touch_row(int32_t row) {
    if (!touched[row]) {
      touched[row] = 1;
      touched_rows.push_back(row);
    }
  }
  void touch_all();
  void zero_grad();
};

class ParameterSet {
 public:
  Parameter& add(const std::string& name, int64_t rows, int64_t cols, bool row_sparse = false);
  Parameter& get(const std::string& name);
  const Parameter& get(const std::string& name) const;
  std::vector<Parameter*>& all() { return params_ptrs_; }
  const std::vector<Parameter*>& all() const { return params_ptrs_; }
  void zero_grad();
  int64_t num_values() const;
  // The parameters whose names match `pattern` (fnmatch: *, ?, [...]), in order. A pattern that
  // matches nothing is an InputError that lists the names there are.
  std::vector<Parameter*> select(const std::string& pattern);
  // Freeze or unfreeze, or scale the learning rate of, every match; returns how many matched.
  int64_t set_frozen(const std::string& pattern, bool frozen);
  int64_t set_lr_scale(const std::string& pattern, float scale);

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
  std::vector<Parameter*> params_ptrs_;
};

// Copies values from `source` into `target` by name and returns how many parameters moved.
// names: (source name, target name) pairs; empty: every parameter the two share by name, and at
// least one must. A missing name or a shape that differs is an InputError naming it. Optimizer
// state and gradients of the target are left as they are.
int64_t copy_values(ParameterSet& target, const ParameterSet& source,
                    const std::vector<std::pair<std::string, std::string>>& names = {});

// Initialisers (seeded): normal(0, std), uniform(-a, a), Xavier-uniform for [fan_out, fan_in]
// matrices, constants. Row 0 of an embedding table (padding) is zeroed by init_embedding.
void init_normal(Parameter& p, float std, std::mt19937_64& rng);
void init_uniform(Parameter& p, float bound, std::mt19937_64& rng);
void init_xavier_uniform(Parameter& p, std::mt19937_64& rng);
void init_constant(Parameter& p, float value);
void init_embedding(Parameter& p, float std, std::mt19937_64& rng);

}  // namespace sessrec::nn
