// Objective: the training loss of a session encoder as an object that owns its state (a
// negative sampler, a mining configuration; later a memory queue). It turns the session vectors
// at the target rows into a loss, their gradients, and gradients of the item table rows it read.
// Models hold one and never branch on the loss; adding a loss means adding a class here and a
// case in make_objective (as fastText's Loss subclasses own their negative tables).
//
// Implementations: FullSoftmax (loss/full_softmax.h), SampledSoftmax
// (loss/sampled_softmax.h), MinedSoftmax (loss/mined_softmax.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sessrec/nn/parameter.h"

namespace sessrec::loss {

// One step's inputs: M target rows of session vectors, already divided by the temperature.
struct ObjectiveBatch {
  const float* H = nullptr;         // [rows, dim]
  const int32_t* target = nullptr;  // [rows] item ids (index + 1)
  int64_t rows = 0, dim = 0;
  uint64_t step = 0;  // seeds the objective's random choices (with its own seed)
  // A teacher for objectives that mine candidates (nullptr: none): its session vectors at the
  // same rows [rows, dim] and its item table [num_items + 1, dim] (row 0 padding).
  const float* teacher_H = nullptr;
  const float* teacher_items = nullptr;
};

class Objective {
 public:
  virtual ~Objective() = default;
  // The batch's loss. Accumulates dH [rows, dim] (zeroed by the caller) and the gradient of
  // every row of `items` it read, touching those rows so that row-sparse updates see them.
  virtual float forward_backward(const ObjectiveBatch& batch, nn::Parameter& items, float* dH) = 0;
  // Interaction counts in item-index order, for objectives whose sampler follows popularity.
  virtual void set_item_counts(const std::vector<int64_t>& counts) { (void)counts; }
  virtual std::string name() const = 0;
  // Seconds the last forward_backward spent choosing candidates (mining), 0 for others.
  double candidate_seconds() const { return candidate_seconds_; }

 protected:
  double candidate_seconds_ = 0;
};

// The next-item objective of a model's configuration.
struct ObjectiveConfig {
  std::string kind = "ce";          // ce (full softmax) | sampled
  int64_t num_negatives = 256;      // sampled: negatives shared by the batch
  std::string sampler = "uniform";  // sampled: uniform | popularity

  void validate() const;
};

// The one place that maps a configuration to an objective. seed keys its random streams.
std::unique_ptr<Objective> make_objective(const ObjectiveConfig& config, int64_t num_items,
                                          uint64_t seed);

}  // namespace sessrec::loss
