#include "sessrec/models/macl_augmentation.h"

#include <algorithm>
#include <cmath>

#include "sessrec/errors.h"

namespace sessrec {

FeatureOp feature_op_from_name(const std::string& name) {
  if (name == "noise") return FeatureOp::kNoise;
  if (name == "dropout") return FeatureOp::kDropout;
  if (name == "mix") return FeatureOp::kMix;
  throw InputError("image augmentation must be noise, dropout or mix, got '" + name + "'");
}

SequenceOp sequence_op_from_name(const std::string& name) {
  if (name == "crop") return SequenceOp::kCrop;
  if (name == "mask") return SequenceOp::kMask;
  if (name == "reorder") return SequenceOp::kReorder;
  throw InputError("ID augmentation must be crop, mask or reorder, got '" + name + "'");
}

CategoryIndex::CategoryIndex(std::vector<int32_t> categories) : category(std::move(categories)) {
  int32_t top = -1;
  for (int32_t c : category) top = std::max(top, c);
  offsets.assign(top + 2, 0);
  for (int32_t c : category)
    if (c >= 0) ++offsets[c + 1];
  for (size_t c = 1; c < offsets.size(); ++c) offsets[c] += offsets[c - 1];
  items.resize(offsets.back());
  std::vector<int64_t> fill(offsets.begin(), offsets.end() - 1);
  for (size_t i = 0; i < category.size(); ++i)
    if (category[i] >= 0) items[fill[category[i]]++] = static_cast<int32_t>(i);
}

namespace {
// A standard normal from two uniforms (Box-Muller), so that views depend on the counter only.
float normal(CounterRandom& rng) {
  const double u1 = std::max(rng.uniform(), 1e-300), u2 = rng.uniform();
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}
}  // namespace

void feature_view(float* out, const float* all, int64_t item, int64_t F, FeatureOp op,
                  const FeatureViewConfig& config, const CategoryIndex& categories,
                  CounterRandom& rng) {
  const float* x = all + item * F;
  if (op == FeatureOp::kMix) {
    const int32_t c = categories.empty() ? -1 : categories.category[item];
    const int64_t size = c < 0 ? 0 : categories.offsets[c + 1] - categories.offsets[c];
    if (size > 1) {
      int32_t other = static_cast<int32_t>(item);
      while (other == item) other = categories.items[categories.offsets[c] + rng.below(size)];
      const float* y = all + int64_t(other) * F;
      const float r = config.mix_ratio;
      for (int64_t f = 0; f < F; ++f) out[f] = (1 - r) * x[f] + r * y[f];
      return;
    }
    op = FeatureOp::kNoise;
  }
  if (op == FeatureOp::kNoise) {
    double ms = 0;
    for (int64_t f = 0; f < F; ++f) ms += double(x[f]) * x[f];
    const float sigma =
        config.noise_std * static_cast<float>(std::sqrt(ms / std::max<int64_t>(F, 1)));
    for (int64_t f = 0; f < F; ++f) out[f] = x[f] + sigma * normal(rng);
    return;
  }
  const float keep = 1.0f - config.dropout;
  for (int64_t f = 0; f < F; ++f) out[f] = rng.uniform() < config.dropout ? 0.0f : x[f] / keep;
}

std::vector<int32_t> sequence_view(const int32_t* ids, int64_t n, SequenceOp op,
                                   const SequenceViewConfig& config, CounterRandom& rng) {
  std::vector<int32_t> v(ids, ids + n);
  auto span = [&](float ratio) {
    // 1e-6 keeps float ratios such as 0.6f * 5 from rounding up to the next item
    return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(double(ratio) * n - 1e-6)), 1, n);
  };
  if (op == SequenceOp::kCrop) {
    const int64_t len = span(config.crop_ratio), start = rng.below(n - len + 1);
    return std::vector<int32_t>(v.begin() + start, v.begin() + start + len);
  }
  if (op == SequenceOp::kMask) {
    const int64_t count = span(config.mask_ratio);
    for (int64_t e = 0; e < count; ++e) v[rng.below(n)] = 0;
    return v;
  }
  const int64_t len = span(config.reorder_ratio), start = rng.below(n - len + 1);
  for (int64_t i = len - 1; i > 0; --i) std::swap(v[start + i], v[start + rng.below(i + 1)]);
  return v;
}

}  // namespace sessrec
