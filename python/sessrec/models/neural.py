"""The base of the neural session encoders trained by the C++ core (GRU4Rec, SASRec and mean
pooling, in :mod:`.sequence_models`).

Python runs the epochs (:class:`~.training.TrainingRun`): it shuffles the training units, calls
one C++ ``train_step`` per batch (batching, forward, loss, backward and the Adam step, with the
GIL released), validates after each epoch, early-stops on a chosen metric and keeps the best
weights (:class:`~.training_log.BestEpoch`).

Every encoder can represent items through an *item tower* instead of a free ID embedding
(``items=``): "id" (default), "id_ln" (LayerNorm over the ID embedding), "text" (an MLP over the
item's text features, then LayerNorm: the text-only model), "sum" or "concat" (NFRec naive fusion
of the two). Text features come from ``text=`` (see :mod:`.item_text`): "lsa" (TF-IDF over
sentencepiece tokens plus a truncated SVD of the catalogue text), "subword" (learned token
embeddings averaged per item, the trainable subword encoder), or a user matrix [num_items, F]
aligned to the catalogue (e.g. sentence-BERT vectors computed elsewhere; see
:func:`sessrec.text.matrix_features`). Text towers give every item with text an embedding,
including items never seen in training.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import SessionSet
from . import item_text, parameter_groups
from ..thread_scope import with_model_threads
from .base import Recommender
from .indexed_serving import IndexedServing
from .training import (METRIC_NAMES, TrainingRun, begin_fit, check_metric, epoch_callbacks,
                       fit_epochs, make_optimizer, metric_column, validation_score)
from .training_log import BestEpoch, decode_training_log, encode_training_log, weight_arrays

__all__ = ["METRIC_NAMES", "NeuralRecommender"]


class NeuralRecommender(IndexedServing, Recommender):
    """The base of the neural encoders: parameters, ``fit`` (each epoch run by a
    :class:`~.training.TrainingRun`), scoring and checkpoints. Subclasses add architecture
    parameters and build the C++ core.

    Training parameters: ``epochs``, ``batch_size`` (training units per step), ``lr``,
    ``weight_decay`` (with ``decoupled_weight_decay=True`` for AdamW), ``clip_norm``,
    ``schedule`` ("constant", "linear" with ``warmup_steps``, "step" with ``step_size`` and
    ``gamma``), ``patience`` and ``metric`` (e.g. "NDCG@20") for early stopping on the
    validation part, ``training`` ("causal": every position of a session in one pass;
    "prefix": one unit per prefix example, as in the papers), ``loss`` ("ce": full softmax over
    the catalogue, chunked; "sampled": ``num_negatives`` shared negatives from ``sampler``
    "uniform" or "popularity", with logQ correction), ``temperature`` (logits are divided by
    it; None: 1 for items="id" and for towers without LayerNorm, sqrt(dim) for LayerNorm'd item
    towers, see the ``temperature`` property), ``tower_norm`` (True: item towers end in
    LayerNorm; False: plain tables, the text tower a bare MLP, H = MLP(X) as in the AlterRec
    paper's Eq. 1), ``seed`` and ``threads``.

    Parameter groups (:mod:`.parameter_groups`): ``freeze`` (name patterns of parameters that
    do not train, e.g. ``["tower.*"]``) and ``lr_groups`` (pattern -> learning rate, e.g.
    ``{"item_embedding": 1e-2}``); both are saved with the model and can be changed between
    ``fit`` calls (:meth:`freeze`, :meth:`unfreeze`, :meth:`set_learning_rate`), so training
    can run in stages. Weights move between models and files by name
    (:meth:`copy_parameters_from`, :meth:`export_parameters`, :meth:`import_parameters`).
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
        items: str = "id",
        text="lsa",
        text_field: str = "text",
        text_dim: int = 64,
        text_hidden=(256,),
        text_dropout: float = 0.1,
        vocab_size: int = 8000,
        token_dim: int = 64,
        temperature: Optional[float] = None,
        tower_norm: bool = True,
        freeze=(),
        lr_groups: Optional[dict] = None,
        **architecture,
    ):
        params = dict(locals())
        for key in ("self", "__class__", "architecture"):
            params.pop(key, None)
        params.update(architecture)
        # A user feature matrix is model state (saved with the weights), not a JSON parameter.
        self._user_features = None
        if not isinstance(text, str):
            self._user_features = np.asarray(text, dtype=np.float32)
            if self._user_features.ndim != 2:
                raise ValueError(f"text features must be a 2-D matrix, got {self._user_features.shape}")
            params["text"] = "matrix"
        elif text not in ("lsa", "subword", "matrix"):
            raise ValueError(f"text must be 'lsa', 'subword' or a feature matrix, got {text!r}")
        if items not in ("id", "id_ln", "text", "sum", "concat"):
            raise ValueError(f"items must be id, id_ln, text, sum or concat, got {items!r}")
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if not isinstance(tower_norm, bool):
            raise ValueError(f"tower_norm must be True or False, got {tower_norm!r}")
        if items == "id_ln" and not tower_norm:
            raise ValueError("items='id_ln' is the LayerNorm'd ID table; tower_norm=False with "
                             "free ID embeddings is items='id'")
        if self._user_features is not None and items not in ("text", "sum", "concat"):
            raise ValueError(f"a text feature matrix is only used with items='text', 'sum' or "
                             f"'concat', not {items!r}")
        params["text_hidden"] = [int(h) for h in text_hidden]
        params["freeze"], params["lr_groups"] = parameter_groups.check_settings(freeze, lr_groups)
        super().__init__(**params)
        self._text_inputs: Optional[dict] = None
        if training not in ("causal", "prefix"):
            raise ValueError(f"training must be 'causal' or 'prefix', got {training!r}")
        if epochs < 0 or batch_size < 1 or patience < 0:
            raise ValueError("epochs and patience must be >= 0 and batch_size >= 1")
        check_metric(metric)
        self._core = None
        self._optimizer = None
        self._counts = None
        self._adam_steps_to_restore = 0
        self.history_: Optional[pd.DataFrame] = None
        self.early_stopping_: Optional[BestEpoch] = None
        self.epochs_done = 0
        self._index = None  # a serving index (build_index), saved with the model

    # ------------------------------------------------------------------ architecture hooks
    def _build_core(self, num_items: int):
        raise NotImplementedError

    def _core_arguments(self) -> dict:
        """The keyword arguments that every C++ encoder takes (``_build_core`` adds its own)."""
        p = self.params
        return dict(
            dim=p["dim"], max_len=p["max_len"], dropout=p["dropout"], seed=p["seed"],
            loss=p["loss"], num_negatives=p["num_negatives"], sampler=p["sampler"],
            temperature=self.temperature, tower=item_text.tower_spec(p, self._text_inputs),
        )

    @property
    def temperature(self) -> float:
        """The logit divisor in use: the ``temperature`` parameter, or by default 1 for free ID
        embeddings and sqrt(dim) for item towers. A tower's table ends in LayerNorm (its rows
        have norm about sqrt(dim), as do the encoder's post-LN session vectors), so raw dot
        products start with a standard deviation near dim and the softmax saturates; sqrt(dim)
        brings them to about 1. On online_retail's validation part the text-only model reached
        NDCG@20 0.149 after 6 epochs with sqrt(dim) = 8, 0.141 with 4, 0.144 with 16 and 0.082
        with 1 (bench/RESULTS.md, "AlterRec findings")."""
        p = self.params
        if p["temperature"] is not None:
            return float(p["temperature"])
        normed = p["items"] != "id" and p.get("tower_norm", True)
        return float(np.sqrt(p["dim"])) if normed else 1.0

    # ------------------------------------------------------------------------- item tower
    @property
    def uses_text(self) -> bool:
        return self.params["items"] in item_text.TEXT_TOWERS

    @property
    def core(self):
        """The C++ network (None before the first ``fit`` or ``load``): what scores, and what
        another model may train against or blend with."""
        return self._core

    def _ensure_core(self, train: SessionSet):
        if self._core is None:
            self.catalog = train.catalog
            if self.uses_text and self._text_inputs is None:
                self._text_inputs = item_text.text_inputs(train.catalog, self.params,
                                                          self._user_features)
            self._core = self._build_core(train.num_items)
            parameter_groups.apply(self._core, self.params)
            self._counts = np.asarray(train.train_counts, dtype=np.int64)
            self._core.set_item_counts(self._counts)
        elif len(train.catalog) != self.num_items:
            raise ValueError(
                f"this model was built for {self.num_items} items; the training part has "
                f"{len(train.catalog)}"
            )

    # ---------------------------------------------------------------- parameter groups
    def build(self, train: SessionSet) -> "NeuralRecommender":
        """Build the network for ``train``'s catalogue (and its text) without training, so
        that weights can be copied or imported into it before the first ``fit``. A built model
        scores with its initial weights."""
        if not isinstance(train, SessionSet):
            raise TypeError(f"build() expects a SessionSet from Dataset.split, got {type(train)}")
        self._ensure_core(train)
        return self

    def _set_groups(self, freeze, lr_groups) -> None:
        """Change the ``freeze``/``lr_groups`` parameters, checked against the network when it
        exists; on error nothing changes."""
        freeze, lr_groups = parameter_groups.check_settings(freeze, lr_groups)
        old = dict(self.params)
        self.params["freeze"], self.params["lr_groups"] = freeze, lr_groups
        if self._core is not None:
            try:
                parameter_groups.apply(self._core, self.params)
            except ValueError:
                self.params.update(old)
                parameter_groups.apply(self._core, self.params)
                raise

    def freeze(self, *patterns: str) -> "NeuralRecommender":
        """Freeze the parameters whose names match any of ``patterns`` (shell-style) from the
        next training step on."""
        self._set_groups(self.params["freeze"] + [p for p in patterns
                                                  if p not in self.params["freeze"]],
                         self.params["lr_groups"])
        return self

    def unfreeze(self, *patterns: str) -> "NeuralRecommender":
        """Undo :meth:`freeze` for these patterns (each must be one that was frozen); with no
        argument, unfreeze everything."""
        frozen = self.params["freeze"]
        unknown = [p for p in patterns if p not in frozen]
        if unknown:
            raise ValueError(f"{unknown} are not frozen patterns; the frozen ones are {frozen}")
        keep = [p for p in frozen if patterns and p not in patterns]
        self._set_groups(keep, self.params["lr_groups"])
        return self

    def set_learning_rate(self, pattern: str, lr: Optional[float]) -> "NeuralRecommender":
        """Train the parameters matching ``pattern`` at ``lr`` (on the model's schedule) instead
        of the model's ``lr``; None removes the group."""
        groups = dict(self.params["lr_groups"])
        groups.pop(pattern, None)
        if lr is not None:
            groups[pattern] = lr
        self._set_groups(self.params["freeze"], groups)
        return self

    def parameter_table(self) -> pd.DataFrame:
        """One row per parameter of the network: rows, cols, frozen, lr."""
        self._require_core()
        return parameter_groups.table(self._core, float(self.params["lr"]))

    def copy_parameters_from(self, other: "NeuralRecommender",
                             names: Optional[dict] = None) -> int:
        """Copy weights by name from another neural model (a stage hand-over): ``names`` maps
        ``other``'s parameter names to this model's; None copies every name the two share. Both
        networks must exist (``fit``, ``load`` or :meth:`build`); shapes must agree. Returns how
        many parameters moved."""
        self._require_core()
        if not isinstance(other, NeuralRecommender) or other.core is None:
            raise ValueError("copy_parameters_from needs another neural model that was fitted, "
                             "loaded or built")
        return self._core.copy_parameters_from(other.core, names)

    def export_parameters(self, path, pattern: str = "*") -> list[str]:
        """Write the weights matching ``pattern`` to an HDF5 parameter file (layout in
        :mod:`.parameter_groups`); returns their names."""
        self._require_core()
        return parameter_groups.export_parameters(self._core, path, pattern, self.name)

    def import_parameters(self, path, names=None, strict: bool = True) -> list[str]:
        """Set weights from a parameter file, by name (see
        :func:`.parameter_groups.import_parameters` for ``names`` and ``strict``); returns the
        names set."""
        self._require_core()
        return parameter_groups.import_parameters(self._core, path, names, strict)

    def _require_core(self) -> None:
        if self._core is None:
            raise ValueError(f"{self.name} has no network yet: fit, load or build(train) it first")

    # ------------------------------------------------------------------------ training
    def start_training(self, train: SessionSet) -> TrainingRun:
        """Check the training part, build the core (on the first call) and the optimizer (when
        there is none); the run whose :meth:`~.training.TrainingRun.run_epoch` trains one epoch
        on ``train``."""
        begin_fit(train, self.params)
        p = self.params
        self._drop_index_for_training()
        self._ensure_core(train)
        begin, end = _core.make_training_windows(
            train.sessions, p["max_len"], p["training"] == "prefix"
        )
        if len(begin) == 0:
            raise ValueError(f"{train.dataset_name}: no training session has two or more events")
        if self._optimizer is None:
            self._optimizer = make_optimizer(p, -(-len(begin) // p["batch_size"]))
            self._optimizer.steps_taken = self._adam_steps_to_restore
        return TrainingRun(self, train, begin, end, self._core, self._optimizer)

    @with_model_threads
    def fit(
        self,
        train: SessionSet,
        valid: Optional[SessionSet] = None,
        epochs: Optional[int] = None,
        progress: Optional[bool] = None,
        checkpoint: Optional[str] = None,
        callbacks: Optional[Sequence[Callable]] = None,
        log: Optional[str] = None,
    ) -> "NeuralRecommender":
        """Train for ``epochs`` more epochs (default: the constructor's). With ``valid``, stop
        after more than ``patience`` epochs without improvement of ``metric`` and keep the best
        weights: the model then scores (and saves) the best epoch's weights.

        Training always continues from the *last* epoch: the model keeps the last epoch's
        weights aside, with the optimizer state, the counters, ``history_`` and the
        early-stopping state (``early_stopping_``: best score, its epoch, epochs waited), so a
        second ``fit`` call, or one on a reloaded file, goes on exactly as one longer run would,
        with the same curve and patience (the same ``valid`` is assumed; without ``valid`` the
        early-stopping state is dropped and the model ends at its last epoch).

        ``checkpoint`` writes the model after every epoch, to one file that holds both: its
        ``state/param/`` weights are the best epoch so far (what ``sr.load(checkpoint)`` scores
        with), ``state/resume/param/`` the last epoch's when they differ (what ``fit`` on the
        loaded model continues from). ``sr.load(checkpoint).fit(train, valid, ...)`` resumes
        exactly where it stopped.

        A NaN or infinite loss or weight raises :class:`~.training_log.TrainingDiverged` (a
        FloatingPointError) naming the epoch and step; the model keeps the weights and
        optimizer state from the start of that epoch.

        ``callbacks``: callables ``callback(model, row)`` called after every epoch with its
        history row (epoch, loss, seconds, ..., ``valid_<metric>`` with ``valid``); one that
        returns true stops training, and the model keeps its best epoch as early stopping does
        (Optuna pruning uses this: :mod:`sessrec.search_study`). Every epoch is also logged as one
        INFO line on the ``sessrec.training`` logger, and ``log`` (a ``.csv`` or ``.jsonl``
        path) writes the history to a file as it grows (:class:`~.training_log.RunLog`).
        ``threads`` (the constructor's) apply to this call only; ``progress`` None follows
        :func:`sessrec.set_progress`."""
        callbacks = epoch_callbacks(callbacks, log)
        run = self.start_training(train)
        n_epochs = self.params["epochs"] if epochs is None else epochs
        fit_epochs(self, valid, n_epochs, checkpoint, lambda: run.run_epoch(progress),
                   self._core.get_parameters, self._core.set_parameters, callbacks)
        return self

    def _constructor_arguments(self) -> dict:
        # A user feature matrix is state; the parameters only say text="matrix".
        return {} if self._user_features is None else {"text": self._user_features}

    @property
    def metric_column(self) -> str:
        return metric_column(self.params["metric"])

    def validation_score(self, valid: SessionSet, model: Optional[Recommender] = None) -> float:
        """The early-stopping metric of ``model`` (default: this one) on ``valid``."""
        return validation_score(model or self, valid, self.params["metric"])

    def part(self, which: str) -> "Recommender":
        """A fused (items="sum" or "concat") model's score decomposed: "id" ranks by the session
        vector against the ID part of the item table only, "text" against the text part (NFRec's
        "ID in NFRec" and "text in NFRec"); concat splits its bias evenly between the parts."""
        from .base import ScorerView

        self._require_fitted()
        if which not in ("id", "text"):
            raise ValueError(f"part must be 'id' or 'text', got {which!r}")
        if not self._core.has_parts:
            raise ValueError(f"{self.name} with items={self.params['items']!r} has no ID/text parts")
        scorer = _core.PartScorer(self._core, 0 if which == "id" else 1)
        return ScorerView(scorer, self.catalog, f"{which} in {self.name}")

    def _fit(self, train):  # fit() is overridden; kept for the base-class contract
        self.fit(train)

    def _scorer(self):
        return self._core

    # ---------------------------------------------------------------------- serving index
    # build_index, drop_index, index and the top-k hook: .indexed_serving.IndexedServing
    def _exact_item_table(self) -> np.ndarray:
        return np.ascontiguousarray(self._core.item_table()[1:])  # row 0 is padding

    def _session_queries(self, items, begin, end) -> np.ndarray:
        """Session vectors scaled as the scores are (<q, e_i> is the score of item i)."""
        scale = np.float32(1.0) / np.float32(self._core.temperature)
        return self._core.encode(items, begin, end) * scale

    def encode(self, sessions) -> np.ndarray:
        """Session vectors [len(sessions), dim] for sequences of item indices."""
        from .base import histories_to_arrays

        self._require_fitted()
        return self._core.encode(*histories_to_arrays(sessions, self.num_items))

    # ---------------------------------------------------------------------- checkpoints
    def _state(self):  # the base class's save hook
        return self.state_arrays()

    def _set_state(self, arrays):  # the base class's load hook
        self.load_state_arrays(arrays)

    def state_arrays(self) -> dict:
        """The model's state as named arrays (what :meth:`save` writes under ``state/``):
        param/: the weights the model scores with (the best epoch under early stopping);
        resume/param/: the last epoch's, when they differ; adam_m/, adam_v/, counters: the
        optimizer after the last epoch; training_log: history_ and the early-stopping state;
        item_counts: the training counts; text/: the item tower's text inputs."""
        arrays = weight_arrays(self.early_stopping_, self._core.get_parameters, self.epochs_done)
        arrays["training_log"] = encode_training_log(self.history_, self.early_stopping_)
        m1, m2 = self._core.get_optimizer_state()
        arrays.update({f"adam_m/{k}": v for k, v in m1.items()})
        arrays.update({f"adam_v/{k}": v for k, v in m2.items()})
        arrays["counters"] = np.array(
            [self._core.steps, self._optimizer.steps_taken if self._optimizer else 0,
             self.epochs_done], dtype=np.int64,
        )
        arrays["item_counts"] = self._counts
        arrays.update({f"text/{k}": v for k, v in (self._text_inputs or {}).items()})
        arrays.update(self._index_state())
        return arrays

    def load_state_arrays(self, arrays: dict) -> None:
        """Rebuild the core from :meth:`state_arrays` (``catalog`` must be set first) and put
        back the weights, optimizer, counters, history and early-stopping state."""
        if self.uses_text:
            self._text_inputs = {k[5:]: v for k, v in arrays.items() if k.startswith("text/")}
            if not self._text_inputs:
                raise KeyError("'text/' (the item tower's text inputs)")
        self._core = self._build_core(len(self.catalog))
        parameter_groups.apply(self._core, self.params)
        params = {k[6:]: v for k, v in arrays.items() if k.startswith("param/")}
        expected = set(self._core.parameter_names())
        if set(params) != expected:
            missing = sorted(expected - set(params)) or sorted(set(params) - expected)
            raise ValueError(f"checkpoint parameters do not match the model: {missing[:3]}")
        self._core.set_parameters(params)
        resume = {k[13:]: v for k, v in arrays.items() if k.startswith("resume/param/")}
        if resume and set(resume) != expected:
            raise ValueError("checkpoint resume weights do not match the model: "
                             f"{sorted(expected ^ set(resume))[:3]}")
        if "training_log" in arrays:  # files before format version 2 have none
            self.history_, self.early_stopping_ = decode_training_log(
                arrays["training_log"], self.params["patience"])
        if resume:
            self.early_stopping_ = self.early_stopping_ or BestEpoch(self.params["patience"])
            self.early_stopping_.resume = resume
        m1 = {k[7:]: v for k, v in arrays.items() if k.startswith("adam_m/")}
        m2 = {k[7:]: v for k, v in arrays.items() if k.startswith("adam_v/")}
        self._core.set_optimizer_state(m1, m2)
        steps, adam_steps, epochs_done = (int(x) for x in arrays["counters"])
        self._core.steps = steps
        self._counts = arrays["item_counts"].astype(np.int64)
        self._core.set_item_counts(self._counts)
        self.epochs_done = epochs_done
        self._adam_steps_to_restore = adam_steps
        self._restore_index(arrays)
