"""The PyTorch side of bench/run_neural_bench.py.

The models are those of tests/python/torch_reference.py (parity-tested against sessrec: same loss
and gradients for the same weights). This module adds what the benchmark needs around them: a
model started from a sessrec core's initial parameters, one optimizer step on a prepared batch,
a training loop that follows ``sessrec.models.NeuralRecommender.fit`` (same batches, early
stopping and best-weight rule), and a wrapper that puts a torch model behind sessrec's
Recommender contract so that ``sr.evaluate`` ranks it with the same code as sessrec's models.

It is imported only by the torch sides, so that the sessrec sides' peak RSS holds no torch.
"""

from __future__ import annotations

import copy
import re
import sys
import time
from pathlib import Path

import numpy as np
import sessrec as sr
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
from torch_reference import (  # noqa: E402
    TorchGRU4Rec,
    TorchSASRec,
    full_softmax_loss,
    padded_batch,
)


def configure(seed: int, threads: int | None) -> None:
    """Seed torch's RNG (dropout masks) and set its intra-op threads (None: torch's default)."""
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)


def build_model(name: str, num_items: int, hp: dict, initial_parameters: dict) -> torch.nn.Module:
    """The torch twin of sessrec's ``name`` model, holding ``initial_parameters`` (a sessrec
    core's ``get_parameters()``)."""
    if name == "sasrec":
        model = TorchSASRec(
            num_items,
            dim=hp["dim"],
            layers=hp["layers"],
            heads=hp["heads"],
            ffn_dim=hp["ffn_dim"],
            max_len=hp["max_len"],
            dropout=hp["dropout"],
        )
    else:
        model = TorchGRU4Rec(num_items, dim=hp["dim"], hidden=hp["hidden"], dropout=hp["dropout"])
    model.load_sessrec(initial_parameters)
    return model


def batch_tensors(train, begin: np.ndarray, end: np.ndarray):
    """(inputs, targets) of the training windows ``begin``/``end``, as sessrec batches them."""
    return padded_batch(train.sessions.items, begin, end, False)


def train_step(model, optimizer, inputs, targets) -> float:
    """One step: forward, full-softmax cross-entropy, backward, optimizer step; the loss."""
    loss = full_softmax_loss(model(inputs), targets, model.item_embedding.weight)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss)


class TorchRecommender(sr.models.Recommender):
    """A torch reference model scored through sessrec's Recommender contract: the session vector
    is the output at the last position of the history (its last ``max_len`` items), scored
    against the tied item embeddings, as sessrec's ``score`` does."""

    name = "torch_reference"

    def __init__(self, model: torch.nn.Module, catalog, max_len: int):
        super().__init__(max_len=max_len)
        self.model = model
        self.catalog = catalog

    def _score_arrays(self, items, begin, end) -> np.ndarray:
        begin = np.maximum(begin, end - self.params["max_len"])
        lengths = end - begin
        steps = np.arange(lengths.max())
        present = steps < lengths[:, None]
        positions = np.where(present, begin[:, None] + steps, 0)
        inputs = np.where(present, np.asarray(items)[positions].astype(np.int64) + 1, 0)
        self.model.eval()
        with torch.no_grad():
            outputs = self.model(torch.from_numpy(inputs))
            last = outputs[torch.arange(len(lengths)), torch.from_numpy(lengths - 1)]
            scores = last @ self.model.item_embedding.weight[1:].T
        return scores.numpy()


def fit(recommender: TorchRecommender, train, valid, windows, batches, hp: dict, lr: float):
    """Train like ``NeuralRecommender.fit``: epoch ``e`` runs the batches ``batches(e)`` of the
    training ``windows`` (begin, end) with torch.optim.Adam(lr); after each epoch the validation
    metric decides early stopping (stop after more than ``patience`` epochs without a strict
    improvement) and the best weights are restored at the end. Returns one dict per epoch."""
    model = recommender.model
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    begin, end = windows
    metric = hp["metric"]
    history, best, best_state, waited = [], -np.inf, None, 0
    for epoch in range(hp["epochs"]):
        model.train()
        start = time.perf_counter()
        losses, targets = [], 0
        for idx in batches(epoch):
            inputs, batch_targets = batch_tensors(train, begin[idx], end[idx])
            n = int((batch_targets >= 0).sum())
            losses.append(train_step(model, optimizer, inputs, batch_targets) * n)
            targets += n
        seconds = time.perf_counter() - start
        table = sr.evaluate(recommender, valid, k=(int(metric.split("@")[1]),), progress=False)
        score = float(table.loc[("overall", "all"), metric])
        history.append(
            {
                "epoch": epoch + 1,
                "loss": sum(losses) / targets,
                "seconds": seconds,
                "examples_per_s": targets / seconds,
                f"valid_{metric}": score,
            }
        )
        if score > best:
            best, best_state, waited = score, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        if waited > hp["patience"]:
            break
    model.load_state_dict(best_state)
    return history


def torch_facts() -> dict:
    """torch's version, build-time BLAS setting and intra-op thread count."""
    blas_info = re.search(r"BLAS_INFO=\w+", torch.__config__.show())
    return {
        "torch_version": torch.__version__,
        "torch_blas_info": blas_info.group(0) if blas_info else "BLAS_INFO unknown",
        "torch_threads": torch.get_num_threads(),
    }
