"""UBM fine-tuned for next item prediction (NIP), as a :class:`~sessrec.models.Recommender`: the
full-ranking evaluation of every other model (``sr.evaluate``, ``sr.compare``) applies to it.
Training steps in C++ (``cpp/sessrec/models/ubm_tasks.h``).

The paper, quoted (§3.4.3, §4.1.1, §4.2.2):

    "For the m products in the candidate pool, we generate the items' embeddings using the
    pre-trained UBM by treating each product as a session with no action tokens and with length
    l = 1 [...] We use the candidate pool of items' embeddings V = {v_1, v_2, ..., v_m} to
    multiply with a session embedding h' to get the predicted score [...] A Softmax layer is
    then applied [...] The Cross Entropy Loss is used"
    "For NIP, we follow most existing works [24, 40] by ignoring items appeared less than 5
    times and removed the item from validation/test set if it does not appear in the training
    set. Given a session s = [b_1, b_2, ..., b_l], we generate sequence and label pairs as
    ([b_1], b_2), ([b_1, b_2], b_3), etc."
    "batch size set to 32. We used 3e-5 as the learning rate. All tasks are trained for 30
    epochs. The whole structure including UBM and task-specific layers are fine-tuned together.
    And we use the model checkpoint with minimum loss on validation data"

Where the paper is silent, and what sessrec does:

- The candidates are the catalogue items seen at least ``min_count`` times in the training part
  (5; ``min_count=0`` makes every catalogue item a candidate, unseen ones included, which UBM
  can score from their text). Training examples whose target is not a candidate are dropped.
  Ranking stays over the whole catalogue (sessrec's evaluation contract): items that are not
  candidates score below every candidate. To remove non-candidate targets from valid/test as
  the paper does, evaluate on :func:`nip_examples` of the part.
- Every training step encodes the batch's histories and all candidates in one forward and
  back-propagates the full softmax through both (the candidate pool is part of "the whole
  structure"); the validation loss and scoring use the candidates encoded once, in evaluation
  mode. A history keeps its interactions' actions and queries (the most recent
  ``max_interactions``); :meth:`score` and :meth:`recommend`, given item indices alone, read
  every interaction as a [VIEW] (so :meth:`rank` agrees with :meth:`score_examples`, and with
  :meth:`score` on parts without actions). Queries come from the Dataset the UBM's tokenizer
  was fitted on; a loaded model has none until ``dataset`` is set.
- Adam at a constant rate with fresh moments; fine-tuning works on a copy of the UBM.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from .. import _core
from ..dataset import Dataset, SessionSet
from ..models.base import Recommender
from ..models.ubm import UBM
from ..progress import show_progress
from ..thread_scope import with_model_threads
from .finetune import (check_settings, copy_ubm, csr_arrays, train_epochs, ubm_from_bytes,
                       ubm_to_bytes)

# Score of an item outside the candidate pool: below every candidate, finite for the ranking.
_NOT_A_CANDIDATE = float(np.finfo(np.float32).min)


def nip_examples(part: SessionSet, min_count: int = 5) -> SessionSet:
    """``part`` with only the examples whose target was seen at least ``min_count`` times in
    training (the NIP candidates): the paper's filtered valid/test sets (§4.1.1)."""
    if not isinstance(part, SessionSet):
        raise TypeError(f"expected a SessionSet from Dataset.split, got {type(part).__name__}")
    ex = part.examples()
    keep = np.asarray(part.train_counts)[part.target_items()] >= int(min_count)
    kept = _core.ExampleSet(np.asarray(ex.begin)[keep], np.asarray(ex.end)[keep],
                            np.asarray(ex.session)[keep])
    return dataclasses.replace(part, _examples=kept)


class NextItemUBM(Recommender):
    """UBM fine-tuned for NIP (see the module docstring). ``ubm``: a pre-trained (or never
    trained: the paper's UBM_wo) :class:`~sessrec.models.UBM`, copied by :meth:`fit`;
    ``dataset``: the Dataset its tokenizer was fitted on, when the parts come from another
    object of it (for queries and action names). Training: ``epochs`` (30), ``batch_size`` (32),
    ``lr`` (3e-5), ``min_count`` (5), ``patience`` (None: every epoch), ``seed``, ``threads``,
    ``progress``. ``candidate_updates``: "step" (every step encodes all candidates and
    back-propagates through them, the paper's whole structure, cost ~ catalogue per step) or
    "epoch" (candidates encoded once per epoch in evaluation mode and held fixed: the same full
    softmax, the gradient through the histories only; for large catalogues). Measured once
    (synthetic, 200 items, 1500 sessions, dim 32, 3 epochs at lr 1e-3, 1 thread, test targets
    seen 5+ times): Hits@10 0.632 with "step", 0.414 with "epoch", 0.443 for POP. ``fit(train, valid)`` keeps the epoch with the lowest validation loss."""

    name = "UBM-NIP"

    def __init__(self, ubm: Optional[UBM] = None, epochs: int = 30, batch_size: int = 32,
                 lr: float = 3e-5, min_count: int = 5, candidate_updates: str = "step",
                 patience: Optional[int] = None, seed: int = 0, threads: Optional[int] = None,
                 progress: Optional[bool] = None, dataset: Optional[Dataset] = None):
        check_settings(epochs, batch_size, lr, patience)
        if candidate_updates not in ("step", "epoch"):
            raise ValueError("candidate_updates must be 'step' or 'epoch', got "
                             f"{candidate_updates!r}")
        if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) \
                or min_count < 0:
            raise ValueError(f"min_count must be a non-negative integer, got {min_count!r}")
        if ubm is not None and not isinstance(ubm, UBM):
            raise TypeError(f"ubm must be a sessrec.models.UBM, got {type(ubm).__name__}")
        super().__init__(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr),
                         min_count=int(min_count), candidate_updates=candidate_updates,
                         patience=patience, seed=int(seed),
                         threads=threads,
                         progress=None if progress is None else bool(progress))
        self.ubm = ubm
        self.dataset = dataset
        self.candidates: Optional[np.ndarray] = None  # catalogue indices, int32
        self.history_ = None
        self.best_epoch = 0
        self._vectors: Optional[np.ndarray] = None  # the candidates' vectors [m, dim]

    # ------------------------------------------------------------------------------ fitting
    @with_model_threads
    def fit(self, train: SessionSet, valid: Optional[SessionSet] = None,
            progress: Optional[bool] = None) -> "NextItemUBM":
        """Fine-tune on ``train``'s examples; with ``valid``, restore the epoch of lowest
        validation loss (its examples whose target is a candidate), else keep the last.
        ``progress`` overrides the constructor's for this call."""
        if not isinstance(train, SessionSet):
            raise TypeError(f"fit() expects a SessionSet from Dataset.split, got {type(train)}")
        if valid is not None and not isinstance(valid, SessionSet):
            raise TypeError(f"valid must be a SessionSet, got {type(valid)}")
        if self.ubm is None:
            raise ValueError("NextItemUBM needs a UBM (ubm=...) to fine-tune")
        p = dict(self.params)
        p["progress"] = show_progress(p["progress"] if progress is None else progress)
        if p["threads"]:
            _core.set_num_threads(int(p["threads"]))
        model = copy_ubm(self.ubm, self.dataset)
        # The pre-trained model's tokenizer knows the Dataset it was fitted on (its queries).
        tokenizer = self.ubm.tokenizer
        if tokenizer.num_items != len(train.catalog):
            raise ValueError(f"the UBM's tokenizer knows {tokenizer.num_items} items, the "
                             f"training part's catalogue has {len(train.catalog)}")
        counts = np.asarray(train.train_counts)
        candidates = np.flatnonzero(counts >= p["min_count"]).astype(np.int32)
        if len(candidates) == 0:
            raise ValueError(f"NIP: no item occurs min_count={p['min_count']} times in training")
        position = np.full(len(train.catalog), -1, dtype=np.int32)
        position[candidates] = np.arange(len(candidates), dtype=np.int32)
        candidate_csr = csr_arrays(tokenizer.items(candidates))

        def examples_of(part):
            ex = part.examples()
            begin, end = np.asarray(ex.begin), np.asarray(ex.end)
            target = position[np.asarray(part.sessions.items)[end]]
            keep = target >= 0
            csr = csr_arrays(tokenizer.prefixes(part, begin[keep], end[keep], self.dataset))
            return csr, target[keep]

        train_csr, train_targets = examples_of(train)
        if len(train_targets) == 0:
            raise ValueError("NIP: no training example has a candidate as its target")
        if valid is not None:
            valid_csr, valid_targets = examples_of(valid)
            if len(valid_targets) == 0:
                raise ValueError("NIP: no validation example has a candidate as its target")
        core = model.core
        core.reset_optimizer_state()
        optimizer = _core.Adam(lr=p["lr"])

        steps_per_epoch = -(-len(train_targets) // p["batch_size"])
        fixed = {}

        def step(rows, counter):
            if p["candidate_updates"] == "step":
                loss, count, _ = _core.ubm_next_item_train_step(
                    core, *train_csr, rows, train_targets[rows], *candidate_csr, counter,
                    optimizer)
                return loss, count
            if counter % steps_per_epoch == 0:  # an epoch starts: encode the candidates
                fixed["vectors"] = core.encode_sessions(
                    *candidate_csr, np.arange(len(candidates), dtype=np.int64))
            loss, count, _ = _core.ubm_next_item_train_step_fixed(
                core, *train_csr, rows, train_targets[rows], fixed["vectors"], counter, optimizer)
            return loss, count

        def valid_loss():
            if valid is None:
                return 0.0  # every epoch ties: the last one is kept
            vectors = core.encode_sessions(*candidate_csr,
                                           np.arange(len(candidates), dtype=np.int64))
            return _core.ubm_next_item_loss(core, *valid_csr,
                                            np.arange(len(valid_targets), dtype=np.int64),
                                            valid_targets, vectors)

        def set_weights(weights):
            core.set_parameters(weights)

        self.history_, self.best_epoch = train_epochs(
            "UBM NIP", len(train_targets), p["epochs"], p["batch_size"], p["seed"],
            p["patience"] if valid is not None else None, p["progress"], step, valid_loss,
            core.get_parameters, set_weights)
        if valid is None:
            self.best_epoch = len(self.history_)
            self.history_["valid_loss"] = np.nan
        self.catalog = train.catalog
        self.ubm_ = model
        self.tokenizer_ = tokenizer
        self.candidates = candidates
        self._encode_candidates()
        return self

    def _encode_candidates(self) -> None:
        csr = csr_arrays(self.tokenizer_.items(self.candidates))
        self._vectors = self.ubm_.core.encode_sessions(
            *csr, np.arange(len(self.candidates), dtype=np.int64))

    # ------------------------------------------------------------------------------ scoring
    def _scores(self, histories: np.ndarray) -> np.ndarray:
        """Scores [rows, catalogue] of encoded histories [rows, dim]."""
        scores = np.full((len(histories), self.num_items), _NOT_A_CANDIDATE, dtype=np.float32)
        scores[:, self.candidates] = histories @ self._vectors.T
        return scores

    def _encode(self, part: SessionSet, begin: np.ndarray, end: np.ndarray,
                dataset: Optional[Dataset]) -> np.ndarray:
        tokens = self.tokenizer_.prefixes(part, begin, end, dataset)
        return self.ubm_.core.encode_sessions(*csr_arrays(tokens),
                                              np.arange(len(begin), dtype=np.int64))

    def _score_arrays(self, items, begin, end) -> np.ndarray:
        # Index histories carry no actions or queries: a store of them alone, every event a view.
        items, begin, end = (np.asarray(items), np.asarray(begin, dtype=np.int64),
                             np.asarray(end, dtype=np.int64))
        lengths = end - begin
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        gather = np.repeat(begin - offsets[:-1], lengths) + np.arange(offsets[-1])
        store = _core.SessionStore(offsets, items[gather].astype(np.int32), None, None,
                                   self.num_items)
        part = SessionSet(sessions=store, catalog=self.catalog, role="score",
                          train_counts=np.zeros(self.num_items, dtype=np.int64))
        return self._scores(self._encode(part, offsets[:-1], offsets[1:], None))

    def score_examples(self, sset: SessionSet) -> np.ndarray:
        """Scores [examples, catalogue] of ``sset``'s example histories as :meth:`rank` reads
        them (with their actions and queries; :meth:`score` sees item indices only)."""
        self._check_catalog(sset)
        ex = sset.examples()
        if len(ex) == 0:
            return np.zeros((0, self.num_items), dtype=np.float32)
        return self._scores(self._encode(sset, np.asarray(ex.begin), np.asarray(ex.end),
                                         self.dataset))

    @with_model_threads
    def rank(self, sset: SessionSet, ties: str = "pessimistic", exclude_history: bool = False,
             progress: Optional[bool] = None, block_bytes: int = 32 << 20) -> np.ndarray:
        """1-based rank of every example's target over the whole catalogue (see
        :meth:`Recommender.rank`); histories keep their actions and queries."""
        from tqdm.auto import tqdm

        self._check_catalog(sset)
        ex = sset.examples()
        n = len(ex)
        if n == 0:
            return np.zeros(0)
        begin, end = np.asarray(ex.begin), np.asarray(ex.end)
        items = np.asarray(sset.sessions.items)
        histories = self._encode(sset, begin, end, self.dataset)
        rows = max(1, block_bytes // (4 * self.num_items))
        ranks = np.empty(n)
        for b in tqdm(range(0, n, rows), desc=f"rank {self.name}", unit="block",
                      disable=not show_progress(progress), leave=False):
            e = min(n, b + rows)
            ranks[b:e] = _core.ranks_from_scores(self._scores(histories[b:e]), items[end[b:e]],
                                                 (items, begin[b:e], end[b:e]), ties,
                                                 exclude_history)
        return ranks

    # ---------------------------------------------------------------------------- save/load
    def _state(self) -> dict:
        return {"ubm": np.frombuffer(ubm_to_bytes(self.ubm_), dtype=np.uint8).copy(),
                "candidates": self.candidates}

    def _set_state(self, arrays: dict) -> None:
        self.ubm_ = ubm_from_bytes(arrays["ubm"].tobytes())
        # A loaded tokenizer has no Dataset: set ``dataset`` to read queries again.
        self.tokenizer_ = self.ubm_.tokenizer
        self.candidates = np.asarray(arrays["candidates"], dtype=np.int32)
        self._encode_candidates()
