// MACL's augmentations other than the token edits (text/token_augmentation.h).
//
// Feature views. Items' images arrive here as feature vectors (from a CNN run elsewhere, or the
// synthetic generator), so the paper's image operations (horizontal flip, Gaussian blur, ...)
// cannot be applied to pixels. Their stand-ins act on the vector and, like a flip or a blur,
// leave what the item is unchanged while moving its representation:
//   noise    x + N(0, noise_std^2) per entry, noise_std in units of the row's RMS value;
//   dropout  each entry zeroed with probability p, the rest scaled by 1 / (1 - p);
//   mix      (1 - ratio) x + ratio x_j, x_j another item of the same category (without a
//            category, or alone in it, the row gets the noise view instead).
// The same ops serve frozen text vectors (LSA or user-supplied), which have no tokens to edit.
//
// ID-level views of a session (MACL-com, the paper's baseline augmentations, as CL4SRec):
//   crop     a random contiguous ceil(crop_ratio * n) items;
//   mask     ceil(mask_ratio * n) random positions replaced by id 0 (the zero padding row stands
//            in for a mask embedding);
//   reorder  a random contiguous ceil(reorder_ratio * n) items shuffled.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sessrec/random.h"

namespace sessrec {

enum class FeatureOp { kNoise, kDropout, kMix };
FeatureOp feature_op_from_name(const std::string& name);  // noise | dropout | mix

struct FeatureViewConfig {
  float noise_std = 0.1f;
  float dropout = 0.2f;
  float mix_ratio = 0.2f;
};

// Items grouped by category, for mixing: members of category c are
// items[offsets[c] .. offsets[c + 1]); category[i] < 0: none.
struct CategoryIndex {
  std::vector<int32_t> category;
  std::vector<int64_t> offsets;
  std::vector<int32_t> items;
  explicit CategoryIndex(std::vector<int32_t> categories = {});
  bool empty() const { return category.empty(); }
};

// out [F] = the op's view of item `item`'s row x [F] of the matrix `all` [num_items, F].
void feature_view(float* out, const float* all, int64_t item, int64_t F, FeatureOp op,
                  const FeatureViewConfig& config, const CategoryIndex& categories,
                  CounterRandom& rng);

enum class SequenceOp { kCrop, kMask, kReorder };
SequenceOp sequence_op_from_name(const std::string& name);  // crop | mask | reorder

struct SequenceViewConfig {
  float crop_ratio = 0.6f;
  float mask_ratio = 0.3f;
  float reorder_ratio = 0.6f;
};

// The op's view of ids[0..n) (n >= 1): never empty.
std::vector<int32_t> sequence_view(const int32_t* ids, int64_t n, SequenceOp op,
                                   const SequenceViewConfig& config, CounterRandom& rng);

}  // namespace sessrec
