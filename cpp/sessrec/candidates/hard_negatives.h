// Candidate lists for a softmax over [target, extra positives, negatives], per target row:
// AlterRec's hard negatives are items ranked k1..k2-1 (0-based, best first, ties by index) by a
// teacher's scores, drawn without replacement; random negatives are uniform over the catalogue;
// augmentation adds the teacher's top-ranked items (the target excluded) as positives of weight
// aug_weight. Without teacher scores every negative is random. Negatives equal to the target are
// dropped (id -1). Selection is partial (nth_element), never a full sort of the catalogue.
// A window that does not fit the catalogue (k2 > num_items) is an error when a teacher ranks:
// callers decide how to fit it (AlterRec's `fit_window`) and say so.
#pragma once
#include <cstdint>
#include <vector>

namespace sessrec {

struct MiningConfig {
  int64_t k1 = 50, k2 = 5000;
  int64_t num_hard = 2475, num_random = 2475;
  int64_t num_aug = 0;
  float aug_weight = 0.1f;
  // The loss over the mined list: false, one softmax shared by the target and the extra
  // positives; true, each positive its own log-softmax term against the same negatives
  // (Eq. 10-11 of the AlterRec paper). See loss/candidate_softmax.h.
  bool separate_positives = false;

  void validate() const;
};

// Columns of a candidate row: 1 + augmented + hard + random (hard slots become random without a
// teacher). With a teacher, k2 must not exceed num_items (InputError).
struct MiningLayout {
  int64_t k1, k2, aug, hard, random;
  int64_t columns() const { return 1 + aug + hard + random; }
};
MiningLayout mining_layout(const MiningConfig& config, int64_t num_items, bool with_teacher);

// Rows [0, rows) of scores [rows, num_items] (nullptr: random only); target[r] is row r's target
// id (item index + 1). Writes cand/label [rows, layout.columns()] (ids are index + 1). Row r's
// random stream is keyed by (key, row_offset + r): reproducible and independent of threads.
void mine_candidates(const float* scores, int64_t rows, int64_t num_items, const int32_t* target,
                     const MiningLayout& layout, float aug_weight, uint64_t key, int64_t row_offset,
                     int32_t* cand, float* label);

}  // namespace sessrec
