#include "sessrec/nn/optimizer.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/nn/profile.h"

namespace sessrec::nn {

void AdamConfig::validate() const {
  if (!(lr > 0)) throw InputError("Adam: learning rate must be positive");
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw InputError("Adam: betas must be in [0, 1)");
  if (!(eps > 0)) throw InputError("Adam: eps must be positive");
  if (weight_decay < 0) throw InputError("Adam: weight_decay must be >= 0");
  if (clip_norm < 0) throw InputError("Adam: clip_norm must be >= 0");
}

void LRSchedule::validate() const {
  if (kind != "constant" && kind != "linear" && kind != "step")
    throw InputError("LR schedule must be constant, linear or step, got '" + kind + "'");
  if (warmup_steps < 0) throw InputError("LR schedule: warmup_steps must be >= 0");
  if (kind == "linear" && total_steps <= warmup_steps)
    throw InputError("LR schedule: linear decay needs total_steps > warmup_steps");
  if (kind == "step" && step_size <= 0) throw InputError("LR schedule: step needs step_size > 0");
}

float LRSchedule::factor(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) return float(step + 1) / float(warmup_steps);
  if (kind == "linear")
    return std::max(0.0f, float(total_steps - step) / float(total_steps - warmup_steps));
  if (kind == "step") return std::pow(gamma, float((step - warmup_steps) / step_size));
  return 1.0f;
}

Adam::Adam(AdamConfig config, LRSchedule schedule) : config_(config), schedule_(schedule) {
  config_.validate();
  schedule_.validate();
}

namespace {

template <typename Fn>
void for_each_active_row(Parameter& p, Fn fn) {
  if (!p.row_sparse) {
    fn(0, p.size());
    return;
  }
  for (int32_t r : p.touched_rows) fn(int64_t(r) * p.cols, int64_t(r + 1) * p.cols);
}

}  // namespace

float gradient_norm(const ParameterSet& params) {
  double sum = 0;
  for (const Parameter* cp : params.all()) {
    if (cp->frozen) continue;
    auto& p = const_cast<Parameter&>(*cp);
    for_each_active_row(p, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) sum += double(p.grad[i]) * p.grad[i];
    });
  }
  return static_cast<float>(std::sqrt(sum));
}

float Adam::step(ParameterSet& params) {
  KernelTimer timer(Kernel::Optimizer);
  const float norm = gradient_norm(params);
  const float clip =
      (config_.clip_norm > 0 && norm > config_.clip_norm) ? config_.clip_norm / norm : 1.0f;
  const float base_lr = current_lr();
  ++t_;
  const float bc1 = 1.0f - std::pow(config_.beta1, float(t_));
  const float bc2 = 1.0f - std::pow(config_.beta2, float(t_));
  const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.eps, wd = config_.weight_decay;
  const bool decoupled = config_.decoupled_weight_decay;
  for (Parameter* p : params.all()) {
    if (p->frozen) continue;
    const float lr = base_lr * p->lr_scale;
    for_each_active_row(*p, [&](int64_t a, int64_t b) {
#pragma omp parallel for schedule(static) if (b - a > 65536)
      for (int64_t i = a; i < b; ++i) {
        float g = p->grad[i] * clip;
        if (wd > 0 && !decoupled) g += wd * p->value[i];
        p->adam_m[i] = b1 * p->adam_m[i] + (1 - b1) * g;
        p->adam_v[i] = b2 * p->adam_v[i] + (1 - b2) * g * g;
        const float update = (p->adam_m[i] / bc1) / (std::sqrt(p->adam_v[i] / bc2) + eps);
        if (wd > 0 && decoupled) p->value[i] -= lr * wd * p->value[i];
        p->value[i] -= lr * update;
      }
    });
  }
  return norm;
}

void ema_update(ParameterSet& target, const ParameterSet& source, float momentum) {
  if (!(momentum >= 0 && momentum <= 1)) throw InputError("ema_update: momentum must be in [0, 1]");
  for (Parameter* t : target.all()) {
    const Parameter& s = source.get(t->name);
    if (s.rows != t->rows || s.cols != t->cols)
      throw InputError("ema_update: parameter '" + t->name + "' differs in shape");
#pragma omp parallel for schedule(static) if (t->size() > 65536)
    for (int64_t i = 0; i < t->size(); ++i)
      t->value[i] = momentum * t->value[i] + (1 - momentum) * s.value[i];
  }
}

}  // namespace sessrec::nn
