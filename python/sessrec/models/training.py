"""A neural model's training, one epoch at a time: the Adam optimizer its training parameters
describe, and :class:`TrainingRun`, which shuffles the training units, calls one C++
``train_step`` per batch (batching, forward, loss, backward and the Adam step, with the GIL
released) and returns the epoch's row of the history."""

from __future__ import annotations

import logging
import time
from typing import Callable, Optional, Sequence

import numpy as np

import pandas as pd

from .. import _core
from ..dataset import SessionSet
from ..progress import show_progress
from .training_log import BestEpoch, RunLog, TrainingDiverged

LOG = logging.getLogger("sessrec.training")

METRIC_NAMES = {"hits": "Hits", "ndcg": "NDCG", "mrr": "MRR", "precision": "Precision",
                "recall": "Recall"}


def check_metric(metric: str) -> None:
    """ValueError unless ``metric`` looks like "NDCG@20"."""
    name, _, k = metric.partition("@")
    if name.lower() not in METRIC_NAMES or not k.isdigit():
        raise ValueError(f"metric must look like 'NDCG@20', got {metric!r}")


def metric_column(metric: str) -> str:
    """The evaluation table's column of an early-stopping ``metric`` ("ndcg@20" -> "NDCG@20")."""
    name, _, k = metric.partition("@")
    return f"{METRIC_NAMES[name.lower()]}@{k}"


def validation_score(model, valid: SessionSet, metric: str) -> float:
    """``metric`` of ``model`` on ``valid`` (every target of the part, overall)."""
    from ..evaluation import evaluate

    k = int(metric.partition("@")[2])
    table = evaluate(model, valid, k=(k,), progress=False)
    return float(table.loc[("overall", "all"), metric_column(metric)])


def begin_fit(train, params: dict) -> None:
    """The checks and settings every neural ``fit`` starts with. ``threads`` is set here for
    the calling thread; every model's ``fit`` runs inside
    :func:`sessrec.thread_scope.with_model_threads`, which puts the caller's count back."""
    if not isinstance(train, SessionSet):
        raise TypeError(f"fit() expects a SessionSet from Dataset.split, got {type(train)}")
    if params["threads"]:
        _core.set_num_threads(int(params["threads"]))


def epoch_callbacks(callbacks, log) -> list:
    """``fit``'s ``callbacks`` (callables ``callback(model, row)``; a true result stops
    training) plus a :class:`RunLog` when ``log`` names a file."""
    if callbacks is None:
        callbacks = []
    elif callable(callbacks):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables callback(model, row), got {callback!r}")
    if log is not None:
        callbacks.append(log if isinstance(log, RunLog) else RunLog(log))
    return callbacks


def log_epoch(model, row: dict) -> None:
    """One INFO line per epoch on the ``sessrec.training`` logger."""
    if not LOG.isEnabledFor(logging.INFO):
        return
    parts = [f"loss {row['loss']:.4f}", f"{row['seconds']:.1f}s"]
    for key, value in row.items():
        if key.startswith("valid_") and isinstance(value, float):
            parts.append(f"{key} {value:.4f}")
    best = model.early_stopping_
    if best is not None and best.epoch:
        parts.append(f"best {best.score:.4f} at epoch {best.epoch}")
    LOG.info("%s epoch %d: %s", model.name, row["epoch"], ", ".join(parts))


def run_callbacks(callbacks: Sequence[Callable], model, row: dict) -> bool:
    """Every callback sees the epoch's row (a copy); True when any asks to stop."""
    stop = False
    for callback in callbacks:
        if callback(model, dict(row)):
            stop = True
    return stop


def fit_epochs(model, valid: Optional[SessionSet], epochs: int, checkpoint, run_epoch, get,
               set, callbacks: Sequence[Callable] = ()) -> None:
    """The epoch loop of every neural model's ``fit``: ``run_epoch()`` trains one epoch and
    returns its history row; with ``valid``, each epoch is scored on ``model.params["metric"]``
    and ``model.early_stopping_`` (a :class:`BestEpoch`) keeps the best weights and stops after
    ``patience`` epochs without improvement; ``checkpoint`` is written after every epoch.
    ``get``/``set`` read and write the weights the model scores with. Training continues from
    the last epoch of an earlier ``fit`` (see :class:`BestEpoch`).

    After each epoch the row is logged (:func:`log_epoch`) and given to each of ``callbacks``
    (see :func:`epoch_callbacks`); one returning true stops training as early stopping does,
    so the model still ends on its best epoch's weights."""
    patience = model.params["patience"]
    history = [] if model.history_ is None else model.history_.to_dict("records")
    best = model.early_stopping_ or BestEpoch(patience)
    best.resume_training(get, set)
    model.early_stopping_ = best if valid is not None else BestEpoch(patience)
    metric = model.params["metric"]
    for _ in range(epochs):
        row = run_epoch()
        stop = False
        if valid is not None:
            row[f"valid_{metric_column(metric)}"] = score = model.validation_score(valid)
            stop = model.early_stopping_.update(score, get, model.epochs_done)
        history.append(row)
        model.history_ = pd.DataFrame(history)
        if checkpoint is not None:
            model.save(checkpoint)
        log_epoch(model, row)
        if run_callbacks(callbacks, model, row):
            stop = True
        if stop:
            break
    model.early_stopping_.finish_training(get, set, model.epochs_done)


def make_optimizer(params: dict, steps_per_epoch: int) -> _core.Adam:
    """Adam (AdamW with ``decoupled_weight_decay``) with the learning-rate schedule of a model's
    ``params``, spread over ``epochs`` epochs of ``steps_per_epoch`` steps."""
    total = max(1, steps_per_epoch * max(1, params["epochs"]))
    return _core.Adam(
        lr=params["lr"], weight_decay=params["weight_decay"],
        decoupled=params["decoupled_weight_decay"], clip_norm=params["clip_norm"],
        schedule=params["schedule"], warmup_steps=params["warmup_steps"],
        total_steps=max(total, params["warmup_steps"] + 1), step_size=params["step_size"],
        gamma=params["gamma"],
    )


class TrainingRun:
    """The epochs of one ``fit`` of ``model`` on ``train``, made by
    :meth:`NeuralRecommender.start_training`. ``begin``/``end`` delimit the training units in
    ``train.sessions``; ``core`` and ``optimizer`` are the model's C++ network and its Adam,
    which every epoch updates. Each epoch also advances ``model.epochs_done``, whose value seeds
    the epoch's shuffle, so a resumed model shuffles as one uninterrupted run would."""

    def __init__(self, model, train: SessionSet, begin: np.ndarray, end: np.ndarray, core,
                 optimizer: _core.Adam):
        self.model, self.train = model, train
        self.begin, self.end = begin, end
        self.core, self.optimizer = core, optimizer

    def run_epoch(self, progress: Optional[bool] = None, mining: Optional[dict] = None,
                  teacher=None, desc: Optional[str] = None) -> dict:
        """One epoch over the shuffled units; its history row (epoch, loss per target, seconds,
        examples_per_s, and mining_seconds when mining). ``mining`` (k1, k2, num_hard,
        num_random, num_aug, aug_weight) switches to the mined-candidate softmax, with
        ``teacher`` a frozen core; ``desc`` labels the progress bar (``progress`` None follows
        :func:`sessrec.set_progress`).

        A NaN or infinite loss or weight raises :class:`TrainingDiverged` naming the epoch and
        step, after putting back the weights, optimizer moments and step counters of the start
        of the epoch."""
        from tqdm.auto import tqdm

        p = self.model.params
        progress = show_progress(progress)
        last_only = p["training"] == "prefix"
        batch = p["batch_size"]
        epoch = self.model.epochs_done
        order = np.random.default_rng([p["seed"], epoch]).permutation(len(self.begin))
        start = time.perf_counter()
        losses, targets, mining_seconds = [], 0, 0.0
        restore_point = self._snapshot()
        n_steps = -(-len(order) // batch)
        bar = tqdm(range(0, len(order), batch), desc=desc or f"{self.model.name} epoch {epoch + 1}",
                   unit="batch", disable=not progress, leave=False)
        sessions = self.train.sessions
        for step, first in enumerate(bar, start=1):
            idx = order[first : first + batch]
            if mining is None:
                loss, n, _ = self.core.train_step(
                    sessions, self.begin[idx], self.end[idx], last_only, self.optimizer
                )
            else:
                loss, n, _, mined = self.core.train_step_mined(
                    sessions, self.begin[idx], self.end[idx], last_only, self.optimizer,
                    teacher=teacher, **mining,
                )
                mining_seconds += mined
            if not np.isfinite(loss):
                bar.close()
                self._diverged(restore_point, f"step {step} of {n_steps} (loss {loss})")
            losses.append(loss * n)
            targets += n
            if progress:
                rate = targets / max(time.perf_counter() - start, 1e-9)
                bar.set_postfix(loss=f"{loss:.4f}", ex_s=f"{rate:,.0f}")
        bar.close()
        if not all(np.isfinite(w).all() for w in self.core.get_parameters().values()):
            self._diverged(restore_point, f"its last step, {n_steps} (a weight is not finite)")
        seconds = time.perf_counter() - start
        self.model.epochs_done += 1
        row = {
            "epoch": self.model.epochs_done,
            "loss": float(np.sum(losses) / max(targets, 1)),
            "seconds": seconds,
            "examples_per_s": targets / max(seconds, 1e-9),
        }
        if mining is not None:
            row["mining_seconds"] = mining_seconds
        return row

    def _snapshot(self) -> dict:
        """What :meth:`_diverged` restores: weights, optimizer moments and step counters."""
        return {"weights": self.core.get_parameters(),
                "moments": self.core.get_optimizer_state(), "steps": self.core.steps,
                "adam_steps": self.optimizer.steps_taken}

    def _diverged(self, snapshot: dict, where: str):
        self.core.set_parameters(snapshot["weights"])
        self.core.set_optimizer_state(*snapshot["moments"])
        self.core.steps = snapshot["steps"]
        self.optimizer.steps_taken = snapshot["adam_steps"]
        epoch = self.model.epochs_done + 1
        raise TrainingDiverged(
            f"{self.model.name}: training diverged in epoch {epoch} at {where}; the model "
            f"keeps the weights from the start of epoch {epoch}. Try a lower lr "
            f"(now {self.model.params['lr']}) or clip_norm > 0."
        )
