// Parameters: values, gradients and optimizer state in contiguous float32 buffers.
// A row-sparse parameter (an embedding table) records which rows a batch touched, so zeroing
// and optimizer updates cost O(touched rows), not O(table).
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
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

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
  std::vector<Parameter*> params_ptrs_;
};

// Initialisers (seeded): normal(0, std), uniform(-a, a), Xavier-uniform for [fan_out, fan_in]
// matrices, constants. Row 0 of an embedding table (padding) is zeroed by init_embedding.
void init_normal(Parameter& p, float std, std::mt19937_64& rng);
void init_uniform(Parameter& p, float bound, std::mt19937_64& rng);
void init_xavier_uniform(Parameter& p, std::mt19937_64& rng);
void init_constant(Parameter& p, float value);
void init_embedding(Parameter& p, float std, std::mt19937_64& rng);

}  // namespace sessrec::nn
