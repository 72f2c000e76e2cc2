#include "sessrec/loss/objective.h"

#include "sessrec/errors.h"
#include "sessrec/loss/full_softmax.h"
#include "sessrec/loss/sampled_softmax.h"

namespace sessrec::loss {

void ObjectiveConfig::validate() const {
  if (kind != "ce" && kind != "sampled")
    throw InputError("model: loss must be 'ce' or 'sampled', got '" + kind + "'");
  if (kind == "sampled" && num_negatives <= 0)
    throw InputError("model: sampled loss needs num_negatives > 0");
  if (sampler != "uniform" && sampler != "popularity")
    throw InputError("model: sampler must be 'uniform' or 'popularity', got '" + sampler + "'");
}

std::unique_ptr<Objective> make_objective(const ObjectiveConfig& config, int64_t num_items,
                                          uint64_t seed) {
  config.validate();
  if (config.kind == "sampled")
    return std::make_unique<SampledSoftmax>(config.num_negatives,
                                            NegativeSampler(config.sampler, num_items), seed);
  return std::make_unique<FullSoftmax>();
}

}  // namespace sessrec::loss
