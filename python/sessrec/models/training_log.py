"""The training log of a neural model: per-epoch history and early stopping, as kept in memory
and as stored in a model file; the optional run log written beside it; and the error raised
when training diverges."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd


class TrainingDiverged(FloatingPointError):
    """A training loss or weight became NaN or infinite. The model keeps the weights (and
    optimizer state) from the start of the epoch in which it happened."""


class BestEpoch:
    """Early stopping on a validation score: keeps the best score, the epoch it came at, a
    snapshot of the weights taken then, and stops after more than ``patience`` epochs without
    improvement (``None``: never stops, only keeps the best).

    Between ``fit`` calls a model holds the best epoch's weights and this object the last
    epoch's (``resume``, None when they are the same), so that training continues from the last
    epoch: :meth:`resume_training` at the start of ``fit``, :meth:`finish_training` at its end,
    :meth:`scoring_and_resume` for what to save. ``get``/``set`` read and write the model's
    weights, whatever they are (a dict of arrays, several networks and a blend weight...). Its
    state (score, epoch, epochs waited) goes into a model file through
    :func:`encode_training_log`, so that a resumed run continues its patience.
    """

    def __init__(self, patience: Optional[int]):
        self.patience = patience
        self.score, self.weights, self.waited, self.epoch = -np.inf, None, 0, 0
        self.resume = None

    def update(self, score: float, snapshot, epoch: int = 0) -> bool:
        """Record one epoch's score (``snapshot()`` gives its weights, ``epoch`` its number);
        True: stop training."""
        if score > self.score:
            self.score, self.weights, self.waited, self.epoch = score, snapshot(), 0, epoch
        else:
            self.waited += 1
        return self.patience is not None and self.waited > self.patience

    def holds_other_than(self, epochs_done: int) -> bool:
        """True when the snapshot is of an earlier epoch than the last one trained."""
        return self.weights is not None and self.epoch != epochs_done

    def resume_training(self, get, set) -> None:
        """At the start of ``fit``: snapshot the best epoch (the model holds it), then put the
        last epoch's weights back to train on."""
        if self.epoch > 0 and self.weights is None:
            self.weights = get()
        if self.resume is not None:
            set(self.resume)
            self.resume = None

    def finish_training(self, get, set, epochs_done: int) -> None:
        """At the end of ``fit``: leave the model on the best epoch, keeping the last aside."""
        if self.holds_other_than(epochs_done):
            self.resume = get()
            set(self.weights)
        self.weights = None  # the model holds them

    def scoring_and_resume(self, get, epochs_done: int):
        """(the weights the model scores with, the last epoch's or None when the same), at any
        time: between epochs of ``fit`` the model holds the last epoch, the best is the
        snapshot."""
        current = get()
        if self.resume is not None:
            return current, self.resume
        if self.holds_other_than(epochs_done):
            return self.weights, current
        return current, None

    def state(self) -> dict:
        return {"score": float(self.score), "epoch": int(self.epoch), "waited": int(self.waited)}

    def restore(self, state: dict) -> "BestEpoch":
        self.score, self.epoch, self.waited = float(state["score"]), state["epoch"], state["waited"]
        return self


def weight_arrays(best: Optional[BestEpoch], get, epochs_done: int) -> dict:
    """The weights for a model file: ``param/<name>`` the ones the model scores with (the best
    epoch), ``resume/param/<name>`` the last epoch's when they differ (see
    :meth:`BestEpoch.scoring_and_resume`)."""
    scoring, resume = (best or BestEpoch(None)).scoring_and_resume(get, epochs_done)
    arrays = {f"param/{k}": v for k, v in scoring.items()}
    if resume is not None:
        arrays.update({f"resume/param/{k}": v for k, v in resume.items()})
    return arrays


def encode_training_log(history: Optional[pd.DataFrame], best: Optional[BestEpoch]) -> np.ndarray:
    """The per-epoch history and the early-stopping state as JSON bytes (uint8), for a model file.
    Floats go through ``repr`` and so come back bit-identical."""
    log = {"history": None, "early_stopping": None if best is None else best.state()}
    if history is not None:
        log["history"] = [[str(c), history[c].tolist()] for c in history.columns]
    return np.frombuffer(json.dumps(log).encode(), dtype=np.uint8).copy()


def decode_training_log(data: np.ndarray, patience: Optional[int]):
    """(history DataFrame or None, BestEpoch or None) from :func:`encode_training_log`."""
    log = json.loads(np.asarray(data, dtype=np.uint8).tobytes().decode())
    history = None
    if log.get("history") is not None:
        history = pd.DataFrame({name: values for name, values in log["history"]})
    best = None
    if log.get("early_stopping") is not None:
        best = BestEpoch(patience).restore(log["early_stopping"])
    return history, best


class RunLog:
    """An epoch callback that writes the training history to a file as it grows:
    ``.csv`` (the model's whole ``history_``, rewritten after every epoch, so a resumed
    ``fit`` continues the same table) or ``.jsonl`` (one JSON object per epoch, appended, with
    the model's name and a UTC timestamp). ``fit(..., log=path)`` makes one."""

    def __init__(self, path):
        self.path = Path(path)
        if self.path.suffix not in (".csv", ".jsonl"):
            raise ValueError(f"run log {self.path}: name a .csv or .jsonl file")
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, model, row: dict) -> bool:
        if self.path.suffix == ".csv":
            model.history_.to_csv(self.path, index=False)
        else:
            record = {"model": model.name,
                      "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      **{k: (v.item() if isinstance(v, np.generic) else v)
                         for k, v in row.items()}}
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        return False
