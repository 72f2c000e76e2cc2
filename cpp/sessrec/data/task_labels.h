// Labelled examples for two UBM downstream tasks (Li et al. 2024), cut from a SessionStore:
// purchase intention prediction (PIP) and remaining length prediction (RLP).
//
// An example is a contiguous run of events [begin, end) of one session (CSR-style ranges into
// the store, so an encoder reads the interactions straight from the store) and an integer label.
// Examples come out ordered by session, then position (oversampled copies last). Both builders
// are deterministic for a seed, whatever the thread count: each random draw comes from a
// splitmix64 stream keyed by the seed and the session (random.h), never from a shared state.
//
// What the paper says (§4.1.1) and what it leaves open:
// - Back-trace: "for each purchase in a session, we back-trace up to 32 interactions until a
//   previous purchase encountered or no more interactions found in the session" (said of the
//   pre-training data). A PIP positive is that back-trace: the interactions before a purchase,
//   at most max_interactions of them, starting after the previous purchase of the session (or at
//   the session start). Silent on whether the purchase itself is included: it is not (its
//   [BUY] action would give the label away), and neither is the previous purchase.
// - Negatives: "we randomly sample from all session data including both 'sessions with
//   purchase' and 'sessions without purchase'". Silent on which interactions of a session
//   without purchase form the input: here its last max_interactions interactions (a back-trace
//   from the session end, the same construction as a positive's). Sessions with a purchase
//   give positives only.
// - "For PIP, as the data is imbalanced, over-sampling is done on those with purchase." Silent
//   on the ratio: `oversample` repeats positives until they equal the negatives (1:1); off by
//   default, since only training data should be oversampled.
// - "For RLP, we randomly cut the session at a position before the 32nd interaction and prepare
//   the label correspondingly": the input is the first c interactions with
//   c <= max_interactions - 1 (the max_interactions-th interaction is never in the input), the
//   label the number of interactions left, L - c. Silent on the distribution of the cut (here
//   uniform over the allowed c) and on whether nothing may be left (here at least
//   min_remaining = 1 interaction is left).
// - "In both PIP and RLP, we ignored the input sessions shorter than 5": an example whose input
//   has fewer than min_length interactions is skipped (for RLP, c >= min_length).
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/session_store.h"

namespace sessrec {

struct TaskExamples {
  std::vector<int64_t> session;  // the session each example is cut from
  std::vector<int64_t> begin;    // first event (index into the store's events)
  std::vector<int64_t> end;      // one past the last event of the input
  std::vector<int64_t> label;    // PIP: 1 purchase follows, 0 not; RLP: interactions left
  int64_t size() const { return static_cast<int64_t>(label.size()); }
};

struct PurchaseIntentionConfig {
  int64_t max_interactions = 32;  // the back-trace limit
  int64_t min_length = 5;         // inputs shorter than this are skipped
  bool oversample = false;        // repeat positives until they match the negatives
  uint64_t seed = 0;              // picks the positives of an incomplete oversampling round
  void validate() const;
};

// PIP examples: positives (label 1) for every purchase whose back-trace holds at least
// min_length interactions, negatives (label 0) from sessions without any purchase. Events
// whose action code equals `purchase_action` are purchases. With `oversample`, after every
// original example come copies of positives: whole rounds of all positives in order, then a
// seeded sample without replacement for the remainder, until positives equal negatives
// (nothing is added when positives already match or outnumber the negatives, or there are none).
// Throws InputError when the store has no actions or the config is invalid.
TaskExamples purchase_intention_examples(const SessionStore& store, int8_t purchase_action,
                                         const PurchaseIntentionConfig& config);

struct RemainingLengthConfig {
  int64_t max_interactions = 32;  // the cut falls before this interaction
  int64_t min_length = 5;         // the input keeps at least this many interactions
  int64_t min_remaining = 1;      // and at least this many are left after the cut
  uint64_t seed = 0;
  void validate() const;
};

// RLP examples: one per session of length L that admits a cut c with
// min_length <= c <= min(max_interactions - 1, L - min_remaining), c drawn uniformly; the
// input is the session's first c events and the label L - c. Needs no actions.
TaskExamples remaining_length_examples(const SessionStore& store,
                                       const RemainingLengthConfig& config);

}  // namespace sessrec
