"""TextContrastive: the text encoder trained alone, contrastively, on (session text, next item
text) pairs, and used as a text-only recommender (cosine of session and item vectors), so that
items never seen in training can be recommended from their text.

The catalogue text is tokenized by a sentencepiece model trained on it (with the user-defined
symbols [CLS], [SEP] and [MASK]); a session's text is [CLS] then its most recent items' tokens,
each after a [SEP], within ``max_tokens``; an item's is [CLS] and its tokens. One encoder reads
both (cpp/sessrec/models/text_contrastive.h). The objective (cpp/sessrec/loss/contrastive.h) is
InfoNCE over cosine similarities with ``temperature``, or ArcCon with ``scale`` and ``margin``,
against the other next items of the batch and, with ``queue_capacity`` > 0, a FIFO queue of
earlier keys; ``momentum`` in (0, 1) computes those keys with an EMA copy of the encoder (MoCo).

Training runs one C++ call per batch and, like the other neural models, keeps the best epoch
on ``valid`` (``patience``, ``metric``), writes a ``checkpoint`` after every epoch, and resumes
exactly: the encoder, the momentum encoder, the queues, Adam's moments and the counters are all
in the file.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import SessionSet
from ..progress import show_progress
from ..text import Tokenizer
from ..thread_scope import with_model_threads
from .base import Recommender
from .indexed_serving import IndexedServing
from .text_encoder import DEFAULTS as ENCODER_DEFAULTS, make_text_encoder
from .training import (begin_fit, check_metric, epoch_callbacks, fit_epochs, metric_column,
                       validation_score)
from .training_log import (BestEpoch, TrainingDiverged, decode_training_log, encode_training_log,
                           weight_arrays)

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[MASK]")
# The objective's defaults live in the C++ configuration (cpp/sessrec/loss/contrastive_objective.h).
_OBJECTIVE = _core.ContrastiveConfig()
ENCODER_OPTIONS = ("dim", "layers", "heads", "ffn_dim", "max_tokens", "post_ln", "gelu",
                   "dropout", "ln_eps", "positions", "pooling", "pool_layer")
# Mean pooling, not the encoder's [CLS] default: trained from scratch, a small encoder's [CLS]
# vector learned much more slowly in exploratory runs on synthetic data (not benchmarked; the
# test suite requires the mean-pooled model to beat popularity on such data).
OWN_DEFAULTS = {"pooling": "mean"}


class TextContrastive(IndexedServing, Recommender):
    """A text-only recommender: a transformer text encoder trained contrastively on (session
    text, next item text) pairs (see the module docstring).

    Encoder: ``vocab_size`` (an upper bound for the sentencepiece model), ``dim``, ``layers``,
    ``heads``, ``ffn_dim``, ``max_tokens``, ``post_ln``, ``gelu``, ``dropout``, ``ln_eps``,
    ``positions``, ``pooling`` (default "mean" here), ``pool_layer`` (:mod:`.text_encoder`),
    ``text_field``.
    Objective: ``objective`` ("infonce" or "arccon"), ``temperature``, ``scale``, ``margin``
    (radians), ``margin_warmup`` (ArcCon: the margin grows linearly from 0 to ``margin`` over
    this many optimizer steps; 0: the full margin from the first step), ``symmetric``,
    ``same_space``, ``decoupled`` (None, or the four weights of the
    KDD Cup 2023 decoupled loss, Eq. 6: L(sessions, items), L(items, sessions), the same with
    negatives from the anchors' own space; see :class:`LangEmb`), ``queue_capacity``,
    ``momentum``.
    Start: ``init_weights`` (an HDF5 parameter file, :meth:`export_parameters`' layout or
    another tool's, read by :func:`.parameter_groups.import_parameters`) and ``init_names``
    (None: every dataset named like an encoder parameter; a pattern; or a dict of file names to
    parameter names) set the encoder's starting weights before training; the token embedding
    fits only when the file was made with the same vocabulary size.
    Training: ``epochs``, ``batch_size`` (pairs per step), ``lr``, ``weight_decay``,
    ``max_len`` (history items per example), ``patience``, ``metric``, ``seed``, ``threads``.
    """

    name = "TextContrastive"

    def __init__(
        self,
        vocab_size: int = 8000,
        text_field: str = "text",
        objective: str = _OBJECTIVE.kind,
        temperature: float = _OBJECTIVE.temperature,
        scale: float = _OBJECTIVE.scale,
        margin: float = _OBJECTIVE.margin,
        symmetric: bool = _OBJECTIVE.symmetric,
        same_space: bool = _OBJECTIVE.same_space,
        decoupled: Optional[tuple] = None,
        queue_capacity: int = _OBJECTIVE.queue_capacity,
        momentum: float = 0.0,
        margin_warmup: int = 0,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        max_len: int = 20,
        patience: int = 3,
        metric: str = "NDCG@20",
        seed: int = 0,
        threads: Optional[int] = None,
        init_weights: Optional[str] = None,
        init_names=None,
        **encoder,
    ):
        unknown = sorted(set(encoder) - set(ENCODER_OPTIONS))
        if unknown:
            raise TypeError(f"unknown {type(self).__name__} parameters {unknown}")
        if decoupled is not None:
            decoupled = [float(x) for x in decoupled]
        if init_weights is not None:
            init_weights = str(init_weights)
        params = dict(locals())
        for key in ("self", "__class__", "encoder", "unknown"):
            params.pop(key, None)
        defaults = {**ENCODER_DEFAULTS, **OWN_DEFAULTS}
        params.update({k: encoder.get(k, defaults[k]) for k in ENCODER_OPTIONS})
        if margin_warmup < 0:
            raise ValueError(f"margin_warmup must be >= 0 steps, got {margin_warmup}")
        if epochs < 0 or batch_size < 2 or patience < 0 or max_len < 1:
            raise ValueError("need epochs >= 0, batch_size >= 2, patience >= 0, max_len >= 1")
        check_metric(metric)
        super().__init__(**params)
        self._config()  # checks the objective's settings now, not at fit
        self._core = None
        self._optimizer = None
        self._tokenizer: Optional[Tokenizer] = None
        self._items: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._adam_steps_to_restore = 0
        self.history_: Optional[pd.DataFrame] = None
        self.early_stopping_: Optional[BestEpoch] = None
        self.epochs_done = 0

    def _config(self) -> _core.ContrastiveConfig:
        p = self.params
        c = _core.ContrastiveConfig(
            kind=p["objective"], temperature=p["temperature"], scale=p["scale"],
            margin=p["margin"], symmetric=p["symmetric"], same_space=p["same_space"],
            queue_capacity=p["queue_capacity"], decoupled=list(p.get("decoupled") or []))
        c.validate()
        return c

    # ------------------------------------------------------------------------ network
    @property
    def core(self):
        """The C++ model (None before ``fit`` or ``load``); ``core.encoder`` is the text encoder."""
        return self._core

    @property
    def tokenizer(self) -> Optional[Tokenizer]:
        return self._tokenizer

    def _build(self, encoder=None) -> None:
        p = self.params
        cls_id, sep_id = (self._tokenizer._core.piece_id(t) for t in SPECIAL_TOKENS[:2])
        if encoder is None:
            options = {k: p[k] for k in ENCODER_OPTIONS}
            encoder = make_text_encoder(self._tokenizer.vocab_size, normalize=False,
                                        seed=p["seed"], **options)
        offsets, ids = self._items
        self._core = _core.TextContrastiveModel(
            encoder=encoder, objective=self._config(), momentum=float(p["momentum"]),
            cls_id=cls_id, sep_id=sep_id, item_offsets=offsets, item_ids=ids)

    def _ensure_core(self, train: SessionSet) -> None:
        if self._core is not None:
            if len(train.catalog) != self.num_items:
                raise ValueError(f"this model was built for {self.num_items} items; the "
                                 f"training part has {len(train.catalog)}")
            return
        p = self.params
        self.catalog = train.catalog
        texts = self._item_texts(train.catalog)
        self._tokenizer = Tokenizer.train(texts, vocab_size=p["vocab_size"],
                                          special_tokens=SPECIAL_TOKENS, seed=p["seed"])
        offsets, ids = self._tokenizer.encode_catalog(texts)
        self._items = (np.asarray(offsets, dtype=np.int64), np.asarray(ids, dtype=np.int32))
        encoder = None
        if p.get("init_weights") is not None:
            from .parameter_groups import import_parameters

            options = {k: p[k] for k in ENCODER_OPTIONS}
            encoder = make_text_encoder(self._tokenizer.vocab_size, normalize=False,
                                        seed=p["seed"], **options)
            import_parameters(encoder, p["init_weights"], p.get("init_names"), strict=False)
        self._build(encoder)

    def _item_texts(self, catalog) -> list:
        """One string per catalogue item: the ``text_field``."""
        fields = catalog.text_fields()
        field = self.params["text_field"]
        if field not in fields:
            raise KeyError(f"the catalogue has no text field {field!r}; its fields are {fields}")
        return list(catalog.text(field))

    def _get_weights(self) -> dict:
        return self._core.encoder.get_parameters()

    def _set_weights(self, weights: dict) -> None:
        self._core.encoder.set_parameters(weights)
        self._core.parameters_changed()

    # ------------------------------------------------------------------------ training
    @with_model_threads
    def fit(self, train: SessionSet, valid: Optional[SessionSet] = None,
            epochs: Optional[int] = None, progress: Optional[bool] = None,
            checkpoint: Optional[str] = None, callbacks: Optional[Sequence[Callable]] = None,
            log: Optional[str] = None) -> "TextContrastive":
        """Train for ``epochs`` more epochs (default: the constructor's), continuing from the
        last one as :meth:`sessrec.models.SASRec.fit` does: with ``valid``, early stopping on
        ``metric`` and the best epoch's weights kept; ``checkpoint`` written after every epoch;
        a NaN or infinite loss raises :class:`TrainingDiverged` and the model keeps its state
        from the start of that epoch; ``callbacks`` and ``log`` as in SASRec's ``fit``."""
        callbacks = epoch_callbacks(callbacks, log)
        begin_fit(train, self.params)
        p = self.params
        self._drop_index_for_training()
        self._ensure_core(train)
        begin, end = _core.make_training_windows(train.sessions, p["max_len"] + 1, True)
        if len(begin) == 0:
            raise ValueError(f"{train.dataset_name}: no training session has two or more events")
        if self._optimizer is None:
            self._optimizer = _core.Adam(lr=p["lr"], weight_decay=p["weight_decay"])
            self._optimizer.steps_taken = self._adam_steps_to_restore
        fit_epochs(self, valid, p["epochs"] if epochs is None else epochs, checkpoint,
                   lambda: self._run_epoch(train, begin, end, show_progress(progress)),
                   self._get_weights, self._set_weights, callbacks)
        return self

    def _run_epoch(self, train: SessionSet, begin, end, progress: bool) -> dict:
        from tqdm.auto import tqdm

        p = self.params
        epoch, batch = self.epochs_done, p["batch_size"]
        order = np.random.default_rng([p["seed"], epoch]).permutation(len(begin))
        restore_point = self._training_state()
        start, total, pairs = time.perf_counter(), 0.0, 0
        bar = tqdm(range(0, len(order), batch), desc=f"{self.name} epoch {epoch + 1}",
                   unit="batch", disable=not progress, leave=False)
        for step, first in enumerate(bar, start=1):
            idx = order[first:first + batch]
            self._apply_margin_schedule()
            loss, n, _ = self._core.train_step(train.sessions, begin[idx], end[idx],
                                               self._optimizer)
            if not np.isfinite(loss):
                bar.close()
                self._set_training_state(restore_point)
                raise TrainingDiverged(
                    f"{self.name}: training diverged in epoch {epoch + 1} at step {step} (loss "
                    f"{loss}); the model keeps its state from the start of epoch {epoch + 1}. "
                    f"Try a lower lr (now {p['lr']}) or a higher temperature.")
            total += loss * n
            pairs += n
            if progress:
                bar.set_postfix(loss=f"{loss:.4f}",
                                pairs_s=f"{pairs / max(time.perf_counter() - start, 1e-9):,.0f}")
        bar.close()
        seconds = time.perf_counter() - start
        self.epochs_done += 1
        return dict(epoch=self.epochs_done, loss=total / max(pairs, 1), seconds=seconds,
                    pairs_per_s=pairs / max(seconds, 1e-9))

    def _apply_margin_schedule(self) -> None:
        """ArcCon's margin for the next step: margin * min(1, steps / margin_warmup), a function
        of the step count alone (so a resumed run takes the same values)."""
        p = self.params
        warmup = p.get("margin_warmup", 0)
        if p["objective"] != "arccon" or not warmup:
            return
        self._core.objective.set_margin(
            float(p["margin"]) * min(1.0, self._core.steps / float(warmup)))

    def _fit(self, train):  # fit() is overridden; kept for the base-class contract
        self.fit(train)

    @property
    def metric_column(self) -> str:
        return metric_column(self.params["metric"])

    def validation_score(self, valid: SessionSet) -> float:
        """The early-stopping metric on ``valid``."""
        return validation_score(self, valid, self.params["metric"])

    def _scorer(self):
        return self._core

    def encode(self, sessions) -> np.ndarray:
        """L2-normalised session vectors [len(sessions), dim] for sequences of item indices."""
        from .base import histories_to_arrays

        self._require_fitted()
        return self._core.encode_sessions(*histories_to_arrays(sessions, self.num_items))

    def encode_items(self, indices) -> np.ndarray:
        """L2-normalised item vectors [len(indices), dim] from the items' text."""
        self._require_fitted()
        return self._core.encode_items(np.asarray(indices, dtype=np.int32))

    def _exact_item_table(self) -> np.ndarray:
        # What score() multiplies with: the L2-normalised item vectors (cosine, no temperature).
        return self._core.encode_items(np.arange(self.num_items, dtype=np.int32))

    def _session_queries(self, items, begin, end) -> np.ndarray:
        return self._core.encode_sessions(items, begin, end)

    # ---------------------------------------------------------------------- checkpoints
    def _state(self) -> dict:
        arrays = weight_arrays(self.early_stopping_, self._get_weights, self.epochs_done)
        arrays.update(self._training_state(weights=False))
        arrays["training_log"] = encode_training_log(self.history_, self.early_stopping_)
        arrays["tokenizer"] = np.frombuffer(self._tokenizer.to_bytes(), dtype=np.uint8).copy()
        arrays["item_tokens/offsets"], arrays["item_tokens/ids"] = self._items
        arrays.update(self._index_state())
        return arrays

    def _training_state(self, weights: bool = True) -> dict:
        """What training changes besides the history: the encoder's weights (with ``weights``,
        under ``param/``), Adam's moments, the momentum encoder, the queues, the counters."""
        arrays = {}
        if weights:
            arrays.update({f"param/{k}": v for k, v in self._get_weights().items()})
        encoder = self._core.encoder
        m1, m2 = encoder.get_optimizer_state()
        arrays.update({f"adam_m/{k}": v for k, v in m1.items()})
        arrays.update({f"adam_v/{k}": v for k, v in m2.items()})
        if self._core.momentum_encoder is not None:
            arrays.update({f"momentum/{k}": v
                           for k, v in self._core.momentum_encoder.get_parameters().items()})
        for side in ("anchor", "positive"):
            queue = getattr(self._core.objective, f"{side}_queue")
            if queue is not None:
                values, position, filled = queue.get_state()
                arrays[f"queue/{side}/values"] = values
                arrays[f"queue/{side}/counters"] = np.array([position, filled], dtype=np.int64)
        arrays["counters"] = np.array(
            [self._core.steps, self._optimizer.steps_taken if self._optimizer else 0,
             self.epochs_done], dtype=np.int64)
        return arrays

    def _set_state(self, arrays) -> None:
        self._tokenizer = Tokenizer.from_bytes(arrays["tokenizer"].tobytes())
        self._items = (arrays["item_tokens/offsets"].astype(np.int64),
                       arrays["item_tokens/ids"].astype(np.int32))
        self._build()
        self._set_training_state(arrays)
        self.history_, self.early_stopping_ = decode_training_log(arrays["training_log"],
                                                                  self.params["patience"])
        resume = {k[13:]: v for k, v in arrays.items() if k.startswith("resume/param/")}
        if resume:
            self.early_stopping_ = self.early_stopping_ or BestEpoch(self.params["patience"])
            self.early_stopping_.resume = resume
        self._restore_index(arrays)

    def _set_training_state(self, arrays: dict) -> None:
        def group(prefix):
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        self._set_weights(group("param/"))
        encoder = self._core.encoder
        encoder.set_optimizer_state(group("adam_m/"), group("adam_v/"))
        if self._core.momentum_encoder is not None:
            self._core.momentum_encoder.set_parameters(group("momentum/"))
        for side in ("anchor", "positive"):
            queue = getattr(self._core.objective, f"{side}_queue")
            if queue is not None:
                position, filled = (int(x) for x in arrays[f"queue/{side}/counters"])
                queue.set_state((arrays[f"queue/{side}/values"], position, filled))
        steps, adam_steps, self.epochs_done = (int(x) for x in arrays["counters"])
        self._core.steps = steps
        self._adam_steps_to_restore = adam_steps
        if self._optimizer is not None:
            self._optimizer.steps_taken = adam_steps
