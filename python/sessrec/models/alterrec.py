"""AlterRec (Li et al., "Enhancing ID and Text Fusion via Alternative Training in Session-based
Recommendation"): an ID network and a text network, trained in turn, each learning from the
other's hard negatives.

Both networks are SASRec encoders. The ID network represents items by LayerNorm'd ID
embeddings, the text network by an MLP over the items' text features followed by LayerNorm (see
``sessrec.models.neural``). Training follows Algorithm 1:

1. ``m_random`` epochs of the ID network, then ``m_random`` epochs of the text network, each with
   random negatives;
2. then the two alternate every ``m_gap`` epochs until ``m_max`` epochs in all. The network in
   training draws ``num_hard`` negatives per target from ranks k1..k2-1 of the other, frozen
   network's scores (mined in C++: blocked scoring plus partial selection, no full sort), plus
   ``num_random`` uniform negatives, in a softmax over [target, negatives];
3. AlterRec_aug (``p > 0``) also adds the other network's top-``p`` items (the target excluded)
   as positives of weight ``beta``;
4. inference blends y = alpha * y_ID + (1 - alpha) * y_text, except for items that never occur
   in the training part: those are scored by the text network alone. Their ID embeddings were
   never trained as positives, only pushed down as negatives, so any alpha > 0 would bury them
   and the blend could never recommend a cold item (bench/RESULTS.md, "AlterRec findings").

``negatives="random"`` gives AlterRec_random: the same schedule with random negatives only.

Defaults follow the authors' released configuration where this library has the same knob (k1 50,
k2 5000, half the k2 - k1 negatives hard and half random, p 4 with beta 0.1 when augmenting,
alternation every 2 epochs, 20 epochs, lr 1e-3). Three differ:

- m_random is 2 for each network (the released code trains the ID network 2 epochs with random
  negatives and the text network never);
- temperatures: both item tables end in LayerNorm, so by default both networks divide their
  logits by sqrt(dim) (``NeuralRecommender.temperature``; the released code divides text logits
  by 0.07). With 1.0 the softmax saturates from the first step: on online_retail the text
  network's first epoch destroyed its content prior and AlterRec lost to the ID-only model
  (bench/RESULTS.md, "AlterRec findings");
- alpha: "valid" (default) picks the blend weight from ALPHA_GRID (0, 0.1, ..., 1) on the
  validation part after every epoch, and the epoch kept is the one with the best blend at its
  best alpha. The paper tunes alpha per dataset; the released default is 0.5, which is what a
  fit without a validation part uses. A number fixes alpha.

For a catalogue smaller than 4 * k2, k2 is capped at a quarter of the catalogue and k1 at a
twentieth of k2 (at least p + 1), and the negative counts follow the capped window: on
online_retail's 3,634 items that gives k1 45, k2 908 and 431 hard + 432 random negatives. The
logits of each network are divided by its temperature (``temperature_id``,
``temperature_text``; None: sqrt(dim)) in training, scoring and the blend.
"""

from __future__ import annotations

import warnings
from typing import Optional, Union

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import SessionSet
from .base import Recommender, ScorerView
from .neural import BestEpoch, SASRec

NETWORKS = ("id", "text")
# Blend weights compared on the validation part when alpha="valid"; 1.0 is the ID network
# alone, 0.0 the text network alone.
ALPHA_GRID = tuple(round(0.1 * i, 1) for i in range(11))
# Validation rows scored per block by the alpha search (two blocks of rows x items floats).
_GRID_ROWS = 512


class AlterRec(Recommender):
    """Alternating ID/text training with hard negatives; see the module docstring.

    Architecture (both networks): ``dim``, ``layers``, ``heads``, ``ffn_dim``, ``max_len``,
    ``dropout``. Text: ``text`` ("lsa", "subword" or a feature matrix), ``text_field``,
    ``text_dim``, ``text_hidden``, ``text_dropout``, ``vocab_size``, ``token_dim``.
    Alternation: ``m_random``, ``m_gap``, ``m_max``, ``negatives`` ("hard" or "random"), ``k1``,
    ``k2``, ``num_hard``, ``num_random`` (None: half of k2 - k1 each), ``p``, ``beta``,
    ``alpha`` (a number, or "valid": chosen on the validation part; the one in use is
    ``alpha_``), ``temperature_id``, ``temperature_text`` (None: sqrt(dim)). Training: ``batch_size``, ``lr``,
    ``lr_text`` (None: ``lr``), ``metric`` (validation metric of the blend used to keep the
    best epoch), ``patience`` (epochs without improvement before stopping; None: run to
    ``m_max``), ``seed``, ``threads``.
    """

    name = "alterrec"

    def __init__(
        self,
        dim: int = 64,
        layers: int = 2,
        heads: int = 2,
        ffn_dim: int = 256,
        max_len: int = 50,
        dropout: float = 0.2,
        text="lsa",
        text_field: str = "text",
        text_dim: int = 64,
        text_hidden=(256,),
        text_dropout: float = 0.1,
        vocab_size: int = 8000,
        token_dim: int = 64,
        m_random: int = 2,
        m_gap: int = 2,
        m_max: int = 20,
        negatives: str = "hard",
        k1: int = 50,
        k2: int = 5000,
        num_hard: Optional[int] = None,
        num_random: Optional[int] = None,
        p: int = 0,
        beta: float = 0.1,
        alpha: Union[float, str] = "valid",
        temperature_id: Optional[float] = None,
        temperature_text: Optional[float] = None,
        batch_size: int = 256,
        lr: float = 1e-3,
        lr_text: Optional[float] = None,
        metric: str = "NDCG@20",
        patience: Optional[int] = None,
        seed: int = 0,
        threads: Optional[int] = None,
    ):
        params = dict(locals())
        for key in ("self", "__class__"):
            params.pop(key, None)
        user_matrix = None
        if not isinstance(text, str):
            user_matrix, params["text"] = text, "matrix"
        params["text_hidden"] = [int(h) for h in text_hidden]
        super().__init__(**params)
        if negatives not in ("hard", "random"):
            raise ValueError(f"negatives must be 'hard' or 'random', got {negatives!r}")
        if m_random < 0 or m_gap < 1 or m_max < 1:
            raise ValueError("need m_random >= 0, m_gap >= 1 and m_max >= 1")
        if not 0 <= k1 < k2:
            raise ValueError(f"need 0 <= k1 < k2, got k1={k1}, k2={k2}")
        if p < 0 or beta < 0:
            raise ValueError("need p >= 0 and beta >= 0")
        if alpha != "valid" and not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
            raise ValueError(f"alpha must be in [0, 1] or 'valid', got {alpha!r}")
        if any(t is not None and t <= 0 for t in (temperature_id, temperature_text)):
            raise ValueError("temperatures must be positive")
        common = dict(
            dim=dim, layers=layers, heads=heads, ffn_dim=ffn_dim, max_len=max_len,
            dropout=dropout, batch_size=batch_size, metric=metric, seed=seed, threads=threads,
            epochs=m_max,
        )
        self.networks = {
            "id": SASRec(items="id_ln", temperature=temperature_id, lr=lr, **common),
            "text": SASRec(
                items="text", temperature=temperature_text, lr=lr_text or lr,
                text=user_matrix if user_matrix is not None else text, text_field=text_field,
                text_dim=text_dim, text_hidden=text_hidden, text_dropout=text_dropout,
                vocab_size=vocab_size, token_dim=token_dim, **common,
            ),
        }
        self.epochs_done = 0
        self.history_: Optional[pd.DataFrame] = None
        # The blend weight in use: the fixed alpha, or the one chosen on validation.
        self.alpha_: float = 0.5 if alpha == "valid" else float(alpha)
        # 1 for items absent from the training part: the blend scores them by text alone.
        self.text_only_items_: Optional[np.ndarray] = None
        self._blend = None  # (id core, text core, alpha, BlendScorer), rebuilt when one changes

    # -------------------------------------------------------------------------- schedule
    def mining_window(self, num_items: int) -> dict:
        """k1, k2 and the per-target counts actually used for a catalogue of ``num_items``."""
        p = self.params
        k1, k2 = p["k1"], p["k2"]
        if num_items < 4 * k2:
            k2 = max(2, num_items // 4)
            k1 = min(k1, max(p["p"] + 1, k2 // 20))
        window = k2 - k1
        num_hard = window // 2 if p["num_hard"] is None else p["num_hard"]
        num_random = window - window // 2 if p["num_random"] is None else p["num_random"]
        return dict(k1=k1, k2=k2, num_hard=num_hard, num_random=num_random, num_aug=p["p"],
                    aug_weight=p["beta"])

    def schedule(self, epoch: int) -> tuple[str, bool]:
        """(network trained, hard negatives?) at 0-based ``epoch`` (Algorithm 1)."""
        m_random, m_gap = self.params["m_random"], self.params["m_gap"]
        if epoch < m_random:
            return "id", False
        if epoch < 2 * m_random:
            return "text", False
        block = (epoch - 2 * m_random) // m_gap
        return ("id" if block % 2 == 0 else "text"), self.params["negatives"] == "hard"

    # --------------------------------------------------------------------------- training
    def fit(
        self,
        train: SessionSet,
        valid: Optional[SessionSet] = None,
        epochs: Optional[int] = None,
        progress: bool = True,
    ) -> "AlterRec":
        """Run the schedule up to ``m_max`` epochs in all (or ``epochs`` more). With ``valid``,
        after every epoch the validation ``metric`` of the ID network, the text network and the
        blend is recorded in ``history_``; the weights of the epoch with the best blend are kept
        (and training stops after ``patience`` epochs without improvement, if set)."""
        if not isinstance(train, SessionSet):
            raise TypeError(f"fit() expects a SessionSet from Dataset.split, got {type(train)}")
        if train.sessions.num_events == 0:
            raise ValueError(f"{train.dataset_name}: the training part has no events")
        p = self.params
        if valid is None and p["alpha"] == "valid":
            warnings.warn("AlterRec: alpha='valid' needs a validation part; blending with "
                          f"alpha={self.alpha_}", stacklevel=2)
        units = {name: net._start_training(train) for name, net in self.networks.items()}
        self.catalog = train.catalog
        self.text_only_items_ = (np.asarray(train.train_counts) == 0).astype(np.uint8)
        mining = self.mining_window(train.num_items)
        history = [] if self.history_ is None else self.history_.to_dict("records")
        best = BestEpoch(p["patience"])

        def snapshot():
            return {"alpha": self.alpha_,
                    **{n: m._core.get_parameters() for n, m in self.networks.items()}}

        n_epochs = p["m_max"] - self.epochs_done if epochs is None else epochs
        for _ in range(max(0, n_epochs)):
            trained, hard = self.schedule(self.epochs_done)
            net = self.networks[trained]
            other = self.networks["text" if trained == "id" else "id"]
            step_mining = dict(mining)
            if not hard:  # random negatives only, as many as in the hard phases
                step_mining.update(num_aug=0)
            row = net._train_epoch(
                train, *units[trained], progress, mining=step_mining,
                teacher=other._core if hard else None,
                desc=f"alterrec epoch {self.epochs_done + 1} ({trained}, "
                     f"{'hard' if hard else 'random'})",
            )
            self.epochs_done += 1
            row.update(epoch=self.epochs_done, network=trained,
                       negatives="hard" if hard else "random")
            stop = False
            if valid is not None:
                metric = net.metric_column
                by_alpha = self.validation_by_alpha(valid)
                if p["alpha"] == "valid":  # the best weight; ties go to the one nearest 0.5
                    self.alpha_ = max(by_alpha, key=lambda a: (by_alpha[a], -abs(a - 0.5)))
                row[f"valid_id_{metric}"] = by_alpha[1.0]
                row[f"valid_text_{metric}"] = by_alpha[0.0]
                row[f"valid_fused_{metric}"] = by_alpha[self.alpha_]
                row["alpha"] = self.alpha_
                stop = best.update(row[f"valid_fused_{metric}"], snapshot)
            history.append(row)
            self.history_ = pd.DataFrame(history)
            if stop:
                break
        if best.weights is not None:
            self.alpha_ = best.weights["alpha"]
            for name in NETWORKS:
                self.networks[name]._core.set_parameters(best.weights[name])
        return self

    def validation_by_alpha(self, valid: SessionSet) -> dict[float, float]:
        """The validation ``metric`` of the blend for every alpha of ALPHA_GRID (and the fixed
        alpha, if one is set). Each network scores the validation examples once; the blends are
        ranked from those scores (pessimistic ties, as ``sr.evaluate``): alpha 1.0 is the ID
        network alone (the text network for items absent from training), 0.0 the text network
        alone."""
        self._check_catalog(valid)
        name, _, k = self.params["metric"].partition("@")
        ex = valid.examples()
        begin, end = np.asarray(ex.begin), np.asarray(ex.end)
        items = np.asarray(valid.sessions.items)
        alphas = sorted(set(ALPHA_GRID) | {self.alpha_})
        ranks = {a: np.empty(len(begin)) for a in alphas}
        ids, text = (self.networks[n]._core for n in NETWORKS)
        text_only = self.text_only_items_.astype(bool)
        for first in range(0, len(begin), _GRID_ROWS):
            b, e = begin[first:first + _GRID_ROWS], end[first:first + _GRID_ROWS]
            y_id, y_text = ids.score(items, b, e), text.score(items, b, e)
            for a in alphas:
                w = np.float32(a)  # as the C++ blend: float32 weights alpha and 1 - alpha
                blend = np.where(text_only, y_text, w * y_id + (np.float32(1) - w) * y_text)
                ranks[a][first:first + len(b)] = _core.ranks_from_scores(
                    blend, items[e], (items, b, e), "pessimistic", False)
        return {a: float(_core.rank_metric_values(name.lower(), r, int(k)).mean())
                for a, r in ranks.items()}

    def _fit(self, train):  # fit() is overridden; kept for the base-class contract
        self.fit(train)

    # ---------------------------------------------------------------------------- scoring
    def _scorer(self):
        # Kept while the two cores (which load() replaces) and alpha stay the same: copying the
        # per-item flags into C++ costs O(items) per build.
        ids, text = (self.networks[n]._core for n in NETWORKS)
        if self._blend is None or self._blend[:3] != (ids, text, self.alpha_):
            flags = [] if self.text_only_items_ is None else self.text_only_items_.tolist()
            self._blend = (ids, text, self.alpha_,
                           _core.BlendScorer(ids, text, float(self.alpha_), flags))
        return self._blend[3]

    def network(self, which: str) -> Recommender:
        """"id" or "text": that network alone ("ID in AlterRec", "text in AlterRec"); "fused":
        the blend, i.e. this model."""
        self._require_fitted()
        if which == "fused":
            return self
        if which not in NETWORKS:
            raise ValueError(f"network must be 'id', 'text' or 'fused', got {which!r}")
        net = self.networks[which]
        return ScorerView(net._core, self.catalog, f"{which} in alterrec")

    # ------------------------------------------------------------------------- save/load
    def _state(self):
        arrays = {}
        for name, net in self.networks.items():
            arrays.update({f"{name}/{k}": v for k, v in net._state().items()})
        arrays["epochs_done"] = np.array([self.epochs_done], dtype=np.int64)
        arrays["alpha"] = np.array([self.alpha_], dtype=np.float64)
        arrays["text_only_items"] = self.text_only_items_
        return arrays

    def _set_state(self, arrays):
        for name, net in self.networks.items():
            prefix = f"{name}/"
            part = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            if not part:
                raise KeyError(f"'{prefix}' (the {name} network)")
            net.catalog = self.catalog
            net._set_state(part)
        self.epochs_done = int(arrays["epochs_done"][0])
        self.alpha_ = float(arrays["alpha"][0])
        self.text_only_items_ = np.asarray(arrays["text_only_items"], dtype=np.uint8)
