"""Random search whose draws do not depend on the order trials run in.

Optuna's RandomSampler draws from one generator, so two processes (or Dask workers) running
trials side by side draw other values than one process running them in turn. This sampler
seeds a generator per draw from (seed, trial number, parameter name): trial k gets the same
parameters whether the study runs sequentially, in ``jobs`` processes or on a Dask cluster, so
the same seed finds the same best configuration wherever a model trains deterministically
(POP, ItemCF and session-kNN at any thread count; neural models at the same thread count).
"""

from __future__ import annotations

import zlib

import numpy as np
import optuna


class TrialSeededRandomSampler(optuna.samplers.RandomSampler):
    def __init__(self, seed: int = 0):
        super().__init__(seed=seed)
        self._base_seed = int(seed)

    def sample_independent(self, study, trial, param_name, param_distribution):
        self._rng = np.random.RandomState(
            [self._base_seed, trial.number, zlib.crc32(param_name.encode())])
        return super().sample_independent(study, trial, param_name, param_distribution)
