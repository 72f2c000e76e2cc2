// Adam and AdamW with lazy row-sparse updates (only the rows a batch touched move, with the
// global step's bias correction, as TensorFlow's LazyAdam), global-norm gradient clipping and
// warmup + linear-decay or step learning-rate schedules.
#pragma once
#include <cstdint>
#include <string>

#include "sessrec/nn/parameter.h"

namespace sessrec::nn {

struct AdamConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled_weight_decay = false;  // true: AdamW
  float clip_norm = 0.0f;               // 0: no clipping

  void validate() const;
};

struct LRSchedule {
  std::string kind = "constant";  // constant | linear | step
  int64_t warmup_steps = 0;       // linear warmup from 0 to the base rate
  int64_t total_steps = 0;        // linear: decay to 0 at total_steps
  int64_t step_size = 0;          // step: multiply by gamma every step_size steps
  float gamma = 0.1f;

  void validate() const;
  float factor(int64_t step) const;  // multiplier of the base rate at 0-based step
};

class Adam {
 public:
  explicit Adam(AdamConfig config = {}, LRSchedule schedule = {});
  // One update of every parameter that is not frozen, each at the learning rate times its
  // lr_scale; returns the gradient norm (of the parameters it updates) before clipping.
  float step(ParameterSet& params);
  int64_t steps_taken() const { return t_; }
  void set_steps_taken(int64_t t) { t_ = t; }
  const AdamConfig& config() const { return config_; }
  const LRSchedule& schedule() const { return schedule_; }
  float current_lr() const { return config_.lr * schedule_.factor(t_); }

 private:
  AdamConfig config_;
  LRSchedule schedule_;
  int64_t t_ = 0;
};

// Global L2 norm of every gradient (dense, and the touched rows of row-sparse parameters) of the
// parameters that are not frozen.
float gradient_norm(const ParameterSet& params);

// target <- momentum * target + (1 - momentum) * source, parameter by parameter (same names
// and shapes): the EMA copy behind momentum encoders.
void ema_update(ParameterSet& target, const ParameterSet& source, float momentum);

}  // namespace sessrec::nn
