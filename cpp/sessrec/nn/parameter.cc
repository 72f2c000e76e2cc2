#include "sessrec/nn/parameter.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"
#include "sessrec/memory_budget.h"

namespace sessrec::nn {

void Parameter::touch_all() {
  if (!row_sparse) return;
  touched_rows.clear();
  for (int64_t r = 0; r < rows; ++r) {
    touched[r] = 1;
    touched_rows.push_back(static_cast<int32_t>(r));
  }
}

void Parameter::zero_grad() {
  if (!row_sparse || static_cast<int64_t>(touched_rows.size()) == rows) {
    std::fill(grad.begin(), grad.end(), 0.0f);
  } else {
    for (int32_t r : touched_rows)
      std::fill(grad.begin() + int64_t(r) * cols, grad.begin() + (int64_t(r) + 1) * cols, 0.0f);
  }
  if (row_sparse) {
    for (int32_t r : touched_rows) touched[r] = 0;
    touched_rows.clear();
  }
}

Parameter& ParameterSet::add(const std::string& name, int64_t rows, int64_t cols, bool row_sparse) {
  for (auto* p : params_ptrs_)
    if (p->name == name) throw InputError("ParameterSet: parameter '" + name + "' exists");
  require_within_budget(bytes_of({rows, cols, 4 * 4}),
                        "parameter '" + name + "' (" + std::to_string(rows) + " x " +
                            std::to_string(cols) +
                            " float32, with its gradient and two Adam moments)",
                        "use a smaller dim or catalogue");
  auto p = std::make_unique<Parameter>();
  p->name = name;
  p->rows = rows;
  p->cols = cols;
  p->row_sparse = row_sparse;
  p->value.assign(rows * cols, 0.0f);
  p->grad.assign(rows * cols, 0.0f);
  p->adam_m.assign(rows * cols, 0.0f);
  p->adam_v.assign(rows * cols, 0.0f);
  if (row_sparse) p->touched.assign(rows, 0);
  params_ptrs_.push_back(p.get());
  params_.push_back(std::move(p));
  return *params_ptrs_.back();
}

Parameter& ParameterSet::get(const std::string& name) {
  for (auto* p : params_ptrs_)
    if (p->name == name) return *p;
  throw UnknownKeyError("no parameter named '" + name + "'");
}

std::vector<Parameter*> ParameterSet::select(const std::string& pattern) {
  std::vector<Parameter*> out;
  for (auto* p : params_ptrs_)
    if (fnmatch(pattern.c_str(), p->name.c_str(), 0) == 0) out.push_back(p);
  if (out.empty()) {
    std::string names;
    for (auto* p : params_ptrs_) names += (names.empty() ? "" : ", ") + p->name;
    throw InputError("no parameter matches '" + pattern + "'; the parameters are: " + names);
  }
  return out;
}

int64_t ParameterSet::set_frozen(const std::string& pattern, bool frozen) {
  auto matched = select(pattern);
  for (auto* p : matched) p->frozen = frozen;
  return static_cast<int64_t>(matched.size());
}

int64_t ParameterSet::set_lr_scale(const std::string& pattern, float scale) {
  if (!(scale >= 0) || !std::isfinite(scale))
    throw InputError("learning-rate scale for '" + pattern + "' must be finite and >= 0");
  auto matched = select(pattern);
  for (auto* p : matched) p->lr_scale = scale;
  return static_cast<int64_t>(matched.size());
}

int64_t copy_values(ParameterSet& target, const ParameterSet& source,
                    const std::vector<std::pair<std::string, std::string>>& names) {
  std::vector<std::pair<std::string, std::string>> pairs = names;
  if (pairs.empty()) {
    for (const auto* t : target.all())
      for (const auto* s : source.all())
        if (s->name == t->name) pairs.emplace_back(s->name, t->name);
    if (pairs.empty()) throw InputError("copy_values: the two models share no parameter name");
  }
  // Check everything first, so that a bad pair leaves the target untouched.
  for (const auto& [from, to] : pairs) {
    const Parameter& s = source.get(from);
    const Parameter& t = static_cast<const ParameterSet&>(target).get(to);
    if (s.rows != t.rows || s.cols != t.cols)
      throw InputError("copy_values: '" + from + "' is (" + std::to_string(s.rows) + ", " +
                       std::to_string(s.cols) + ") but '" + to + "' is (" + std::to_string(t.rows) +
                       ", " + std::to_string(t.cols) + ")");
  }
  for (const auto& [from, to] : pairs) target.get(to).value = source.get(from).value;
  return static_cast<int64_t>(pairs.size());
}

const Parameter& ParameterSet::get(const std::string& name) const {
  for (auto* p : params_ptrs_)
    if (p->name == name) return *p;
  throw UnknownKeyError("no parameter named '" + name + "'");
}

void ParameterSet::zero_grad() {
  for (auto* p : params_ptrs_) p->zero_grad();
}

int64_t ParameterSet::num_values() const {
  int64_t n = 0;
  for (auto* p : params_ptrs_) n += p->size();
  return n;
}

void init_normal(Parameter& p, float std, std::mt19937_64& rng) {
  std::normal_distribution<float> dist(0.0f, std);
  for (float& v : p.value) v = dist(rng);
}

void init_uniform(Parameter& p, float bound, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-bound, bound);
  for (float& v : p.value) v = dist(rng);
}

void init_xavier_uniform(Parameter& p, std::mt19937_64& rng) {
  init_uniform(p, std::sqrt(6.0f / static_cast<float>(p.rows + p.cols)), rng);
}

void init_constant(Parameter& p, float value) { std::fill(p.value.begin(), p.value.end(), value); }

void init_embedding(Parameter& p, float std, std::mt19937_64& rng) {
  init_normal(p, std, rng);
  std::fill(p.value.begin(), p.value.begin() + p.cols, 0.0f);
}

}  // namespace sessrec::nn
