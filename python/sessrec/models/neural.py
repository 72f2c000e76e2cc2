"""Neural session encoders trained by the C++ core: GRU4Rec, SASRec and mean pooling.

Python runs the epochs: it shuffles the training units, calls one C++ ``train_step`` per batch
(batching, forward, loss, backward and the Adam step, with the GIL released), validates after
each epoch, early-stops on a chosen metric and keeps the best weights.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import SessionSet
from .base import Recommender


METRIC_NAMES = {"hits": "Hits", "ndcg": "NDCG", "mrr": "MRR", "precision": "Precision",
                "recall": "Recall"}


class NeuralRecommender(Recommender):
    """Shared training loop. Subclasses add architecture parameters and build the C++ core.

    Training parameters: ``epochs``, ``batch_size`` (training units per step), ``lr``,
    ``weight_decay`` (with ``decoupled_weight_decay=True`` for AdamW), ``clip_norm``,
    ``schedule`` ("constant", "linear" with ``warmup_steps``, "step" with ``step_size`` and
    ``gamma``), ``patience`` and ``metric`` (e.g. "NDCG@20") for early stopping on the
    validation part, ``training`` ("causal": every position of a session in one pass;
    "prefix": one unit per prefix example, as in the papers), ``loss`` ("ce": full softmax over
    the catalogue, chunked; "sampled": ``num_negatives`` shared negatives from ``sampler``
    "uniform" or "popularity", with logQ correction), ``seed`` and ``threads``.
    """

    def __init__(
        self,
        dim: int = 64,
        max_len: int = 50,
        dropout: float = 0.2,
        loss: str = "ce",
        num_negatives: int = 256,
        sampler: str = "uniform",
        epochs: int = 30,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        clip_norm: float = 0.0,
        schedule: str = "constant",
        warmup_steps: int = 0,
        step_size: int = 0,
        gamma: float = 0.1,
        patience: int = 3,
        metric: str = "NDCG@20",
        training: str = "causal",
        seed: int = 0,
        threads: Optional[int] = None,
        **architecture,
    ):
        params = dict(locals())
        for key in ("self", "__class__", "architecture"):
            params.pop(key, None)
        params.update(architecture)
        super().__init__(**params)
        if training not in ("causal", "prefix"):
            raise ValueError(f"training must be 'causal' or 'prefix', got {training!r}")
        if epochs < 0 or batch_size < 1 or patience < 0:
            raise ValueError("epochs and patience must be >= 0 and batch_size >= 1")
        name, _, k = metric.partition("@")
        if name.lower() not in METRIC_NAMES or not k.isdigit():
            raise ValueError(f"metric must look like 'NDCG@20', got {metric!r}")
        self._core = None
        self._optimizer = None
        self._counts = None
        self._adam_steps_to_restore = 0
        self.history_: Optional[pd.DataFrame] = None
        self.epochs_done = 0

    # ------------------------------------------------------------------ architecture hooks
    def _build_core(self, num_items: int):
        raise NotImplementedError

    def _common(self) -> dict:
        p = self.params
        return dict(
            dim=p["dim"], max_len=p["max_len"], dropout=p["dropout"], seed=p["seed"],
            loss=p["loss"], num_negatives=p["num_negatives"], sampler=p["sampler"],
        )

    def _make_optimizer(self, steps_per_epoch: int):
        p = self.params
        total = max(1, steps_per_epoch * max(1, p["epochs"]))
        return _core.Adam(
            lr=p["lr"], weight_decay=p["weight_decay"], decoupled=p["decoupled_weight_decay"],
            clip_norm=p["clip_norm"], schedule=p["schedule"], warmup_steps=p["warmup_steps"],
            total_steps=max(total, p["warmup_steps"] + 1), step_size=p["step_size"],
            gamma=p["gamma"],
        )

    def _ensure_core(self, train: SessionSet):
        if self._core is None:
            self.catalog = train.catalog
            self._core = self._build_core(train.num_items)
            self._counts = np.asarray(train.train_counts, dtype=np.int64)
            self._core.set_item_counts(self._counts)
        elif len(train.catalog) != self.num_items:
            raise ValueError(
                f"this model was built for {self.num_items} items; the training part has "
                f"{len(train.catalog)}"
            )

    # ------------------------------------------------------------------------ training
    def fit(
        self,
        train: SessionSet,
        valid: Optional[SessionSet] = None,
        epochs: Optional[int] = None,
        progress: bool = True,
        checkpoint: Optional[str] = None,
    ) -> "NeuralRecommender":
        """Train for ``epochs`` more epochs (default: the constructor's). With ``valid``, stop
        after ``patience`` epochs without improvement of ``metric`` and keep the best weights.
        ``checkpoint`` writes the model (weights, optimizer state, counters) after every epoch;
        ``sr.load(checkpoint).fit(train, ...)`` then resumes exactly where it stopped."""
        from tqdm.auto import tqdm

        from ..evaluation import evaluate

        if not isinstance(train, SessionSet):
            raise TypeError(f"fit() expects a SessionSet from Dataset.split, got {type(train)}")
        p = self.params
        if p["threads"]:
            _core.set_num_threads(int(p["threads"]))
        self._ensure_core(train)
        begin, end = _core.make_training_windows(
            train.sessions, p["max_len"], p["training"] == "prefix"
        )
        if len(begin) == 0:
            raise ValueError(f"{train.dataset_name}: no training session has two or more events")
        last_only = p["training"] == "prefix"
        batch = p["batch_size"]
        steps_per_epoch = -(-len(begin) // batch)
        if self._optimizer is None:
            self._optimizer = self._make_optimizer(steps_per_epoch)
            self._optimizer.steps_taken = self._adam_steps_to_restore
        metric_name, _, metric_k = p["metric"].partition("@")
        metric_column = f"{METRIC_NAMES[metric_name.lower()]}@{metric_k}"
        history = [] if self.history_ is None else self.history_.to_dict("records")
        best, best_params, waited = -np.inf, None, 0
        n_epochs = p["epochs"] if epochs is None else epochs
        for _ in range(n_epochs):
            epoch = self.epochs_done
            order = np.random.default_rng([p["seed"], epoch]).permutation(len(begin))
            start = time.perf_counter()
            losses, targets = [], 0
            bar = tqdm(range(0, len(order), batch), desc=f"{self.name} epoch {epoch + 1}",
                       unit="batch", disable=not progress, leave=False)
            for first in bar:
                idx = order[first : first + batch]
                loss, n, _ = self._core.train_step(
                    train.sessions, begin[idx], end[idx], last_only, self._optimizer
                )
                losses.append(loss * n)
                targets += n
                if progress:
                    rate = targets / max(time.perf_counter() - start, 1e-9)
                    bar.set_postfix(loss=f"{loss:.4f}", ex_s=f"{rate:,.0f}")
            bar.close()
            seconds = time.perf_counter() - start
            self.epochs_done += 1
            row = {
                "epoch": self.epochs_done,
                "loss": float(np.sum(losses) / max(targets, 1)),
                "seconds": seconds,
                "examples_per_s": targets / max(seconds, 1e-9),
            }
            if valid is not None:
                table = evaluate(self, valid, k=(int(metric_k),), progress=False)
                score = float(table.loc[("overall", "all"), metric_column])
                row[f"valid_{metric_column}"] = score
                if score > best:
                    best, best_params, waited = score, self._core.get_parameters(), 0
                else:
                    waited += 1
            history.append(row)
            self.history_ = pd.DataFrame(history)
            if checkpoint is not None:
                self.save(checkpoint)
            if valid is not None and waited > p["patience"]:
                break
        if best_params is not None:
            self._core.set_parameters(best_params)
        return self

    def _fit(self, train):  # fit() is overridden; kept for the base-class contract
        self.fit(train)

    def _scorer(self):
        return self._core

    def encode(self, sessions) -> np.ndarray:
        """Session vectors [len(sessions), dim] for sequences of item indices."""
        from .base import histories_to_arrays

        self._require_fitted()
        return self._core.encode(*histories_to_arrays(sessions, self.num_items))

    # ---------------------------------------------------------------------- checkpoints
    def _state(self):
        arrays = {f"param/{k}": v for k, v in self._core.get_parameters().items()}
        m1, m2 = self._core.get_optimizer_state()
        arrays.update({f"adam_m/{k}": v for k, v in m1.items()})
        arrays.update({f"adam_v/{k}": v for k, v in m2.items()})
        arrays["counters"] = np.array(
            [self._core.steps, self._optimizer.steps_taken if self._optimizer else 0,
             self.epochs_done], dtype=np.int64,
        )
        arrays["item_counts"] = self._counts
        return arrays

    def _set_state(self, arrays):
        self._core = self._build_core(len(self.catalog))
        params = {k[6:]: v for k, v in arrays.items() if k.startswith("param/")}
        expected = set(self._core.parameter_names())
        if set(params) != expected:
            missing = sorted(expected - set(params)) or sorted(set(params) - expected)
            raise ValueError(f"checkpoint parameters do not match the model: {missing[:3]}")
        self._core.set_parameters(params)
        m1 = {k[7:]: v for k, v in arrays.items() if k.startswith("adam_m/")}
        m2 = {k[7:]: v for k, v in arrays.items() if k.startswith("adam_v/")}
        self._core.set_optimizer_state(m1, m2)
        steps, adam_steps, epochs_done = (int(x) for x in arrays["counters"])
        self._core.steps = steps
        self._counts = arrays["item_counts"].astype(np.int64)
        self._core.set_item_counts(self._counts)
        self.epochs_done = epochs_done
        self._adam_steps_to_restore = adam_steps


class GRU4Rec(NeuralRecommender):
    """GRU4Rec (RecBole's form): embedding, dropout, a GRU of ``hidden`` units and a dense layer
    back to ``dim``; full-softmax cross-entropy against the tied item embeddings."""

    name = "gru4rec"

    # On online_retail, lr 1e-3 leaves the GRU on the popularity plateau for many epochs;
    # 1e-2 does not (validation NDCG@20 0.21 after 6 epochs against 0.07 at 3e-3).
    def __init__(self, hidden: int = 64, lr: float = 1e-2, **kwargs):
        super().__init__(hidden=hidden, lr=lr, **kwargs)

    def _build_core(self, num_items):
        return _core.GRU4Rec(num_items, hidden=self.params["hidden"], **self._common())


class SASRec(NeuralRecommender):
    """SASRec: item and learned position embeddings, ``layers`` causal transformer blocks with
    ``heads`` heads and an FFN of ``ffn_dim`` (GELU), post-LN as RecBole (``post_ln=False``
    gives pre-LN); the last position is the session vector, scored against tied embeddings."""

    name = "sasrec"

    def __init__(self, layers: int = 2, heads: int = 2, ffn_dim: int = 256,
                 post_ln: bool = True, gelu: bool = True, **kwargs):
        super().__init__(layers=layers, heads=heads, ffn_dim=ffn_dim, post_ln=post_ln,
                         gelu=gelu, **kwargs)

    def _build_core(self, num_items):
        p = self.params
        return _core.SASRec(num_items, layers=p["layers"], heads=p["heads"],
                            ffn_dim=p["ffn_dim"], post_ln=p["post_ln"], gelu=p["gelu"],
                            **self._common())


class MeanPool(NeuralRecommender):
    """Mean of the item embeddings so far, through a linear layer: an order-blind baseline."""

    name = "meanpool"

    def _build_core(self, num_items):
        return _core.MeanPool(num_items, **self._common())
