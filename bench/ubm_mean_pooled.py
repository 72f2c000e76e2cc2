"""The paper's mean-pooled text baseline for bench/run_ubm_bench.py, built from UBM's own
interaction encoder.

The paper, quoted (§4.1.3): "We use pre-trained BERT_mini [...] to generate embeddings for each
interaction, and take the average over the interactions of the session to get the session
embedding. Similar to ours, they are concatenated with the task specific layers for overall
fine-tuning in the three tasks for evaluation."

Here the encoder of each interaction is a UBM's interaction encoder (the C++ TextEncoder that
``UBMModel.interaction_encoder`` returns: the same weights, tokens and dropout as UBM), usually
after stage 1 only, so that the one difference from UBM is the missing session level: no session
encoder, no stage 2, the session vector is the mean of the interaction vectors b'. The C++ UBM
has no mean-pooling mode and its task heads are bound only as whole steps through its session
encoder, so the pooling (a segment mean and its gradient) and the task layers run here in NumPy,
per batch; the encoder's forward, backward and Adam step stay in C++.

As in sessrec.tasks (whose example builders, epoch loop and best-epoch rule this reuses): the
task layers are those of ``_core.UBMTaskHead`` (their initial weights are read from one), Adam
at a constant rate with fresh moments for the encoder and the layers, the epoch of lowest
validation loss restored, and for NIP the candidates (items seen ``min_count`` times in
training, one interaction without an action token each) encoded once per epoch and held fixed
(``candidate_updates="epoch"`` of NextItemUBM), full softmax.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

import sessrec as sr
from sessrec import _core
from sessrec.models.base import Recommender
from sessrec.tasks.finetune import copy_ubm, csr_arrays, task_examples, train_epochs

# Tokens per evaluation-mode forward (the encoder keeps every activation of a forward).
ENCODE_TOKENS = 16384


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated aranges [starts[i], starts[i] + lengths[i])."""
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))


class MeanPooledEncoder:
    """Session vectors as the mean of a UBM's interaction vectors, with the gradient back to the
    encoder. ``csr``: (session_offsets, token_offsets, ids) of tokenized sessions."""

    def __init__(self, ubm):
        self.ubm = ubm
        self.encoder = ubm.core.interaction_encoder
        self._cache = None

    @staticmethod
    def gather(csr, rows: np.ndarray):
        """(token offsets, ids, interactions per session) of sessions ``rows``."""
        so, to, ids = csr
        counts = so[rows + 1] - so[rows]
        if (counts == 0).any():
            raise ValueError("mean pooling: a session without interactions")
        interactions = ranges(so[rows], counts)
        lengths = to[interactions + 1] - to[interactions]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return offsets, ids[ranges(to[interactions], lengths)], counts

    def forward(self, csr, rows: np.ndarray, training: bool, step: int = 0) -> np.ndarray:
        offsets, ids, counts = self.gather(csr, rows)
        b = self.encoder.forward(offsets, ids, training, step)
        starts = np.cumsum(counts) - counts
        self._cache = counts
        return np.add.reduceat(b, starts, axis=0) / counts[:, None].astype(np.float32)

    def backward(self, dh: np.ndarray) -> None:
        counts = self._cache
        db = np.repeat(dh / counts[:, None].astype(np.float32), counts, axis=0)
        self.encoder.backward(np.ascontiguousarray(db, dtype=np.float32))

    def encode(self, csr, rows: Optional[np.ndarray] = None) -> np.ndarray:
        """Evaluation-mode session vectors of ``rows`` (default all), in chunks of about
        ENCODE_TOKENS tokens."""
        so, to, _ = csr
        rows = np.arange(len(so) - 1, dtype=np.int64) if rows is None else rows
        tokens = to[so[rows + 1]] - to[so[rows]]
        chunk = np.cumsum(tokens) // ENCODE_TOKENS
        parts = [self.forward(csr, rows[chunk == c], False)
                 for c in np.unique(chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, self.ubm.dim), np.float32)


class Head:
    """The PIP / RLP task layers of ``_core.UBMTaskHead`` (Linear-ReLU layers, then a linear
    output; its initial weights) in NumPy, with their own Adam (sessrec's default betas)."""

    def __init__(self, task: str, dim: int, hidden: int, seed: int, lr: float):
        params = _core.UBMTaskHead(task, dim=dim, hidden=hidden, seed=seed).get_parameters()
        layers = len(params) // 2
        self.task = task
        self.weights = [np.array(params[f"head.{l}.W"], dtype=np.float32) for l in range(layers)]
        self.biases = [np.array(params[f"head.{l}.b"], dtype=np.float32).reshape(-1)
                       for l in range(layers)]
        self.lr, self.steps = lr, 0
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self.parameters()]
        self._inputs = []

    def parameters(self) -> list:
        return self.weights + self.biases

    def get(self) -> list:
        return [p.copy() for p in self.parameters()]

    def set(self, values: list) -> None:
        for p, v in zip(self.parameters(), values):
            p[...] = v

    def forward(self, h: np.ndarray) -> np.ndarray:
        self._inputs = []
        x = h
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            self._inputs.append(x)
            x = x @ W.T + b
            if l + 1 < len(self.weights):
                x = np.maximum(x, 0)
        return x[:, 0]

    def loss(self, out: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        """The task's mean loss (BCE on the logit, or squared error) and its gradient."""
        n = len(out)
        if self.task == "pip":
            loss = np.mean(np.logaddexp(0, out) - labels * out)
            return float(loss), ((1 / (1 + np.exp(-out)) - labels) / n).astype(np.float32)
        return float(np.mean((out - labels) ** 2)), (2 * (out - labels) / n).astype(np.float32)

    def prediction(self, out: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-out)) if self.task == "pip" else out

    def backward_and_step(self, dout: np.ndarray) -> np.ndarray:
        """Gradients of the last forward, one Adam step; returns the gradient of its input."""
        d = dout[:, None]
        grads_w, grads_b = [None] * len(self.weights), [None] * len(self.weights)
        for l in reversed(range(len(self.weights))):
            x = self._inputs[l]
            grads_w[l], grads_b[l] = d.T @ x, d.sum(0)
            d = d @ self.weights[l]
            if l > 0:
                d = d * (x > 0)
        self.steps += 1
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for p, g, (m, v) in zip(self.parameters(), grads_w + grads_b, self.moments):
            m[...] = beta1 * m + (1 - beta1) * g
            v[...] = beta2 * v + (1 - beta2) * g * g
            p -= self.lr * (m / (1 - beta1 ** self.steps)) / (
                np.sqrt(v / (1 - beta2 ** self.steps)) + eps)
        return d


def fresh_copy(ubm, dataset):
    """A copy of ``ubm`` with zeroed Adam moments and its mean-pooling encoder."""
    model = copy_ubm(ubm, dataset)
    model.core.reset_optimizer_state()
    return model, MeanPooledEncoder(model)


class MeanPooledTask:
    """PIP or RLP with mean-pooled interaction vectors: ``fit(train, valid)``, then
    ``evaluate(test)`` (the metrics of sessrec.tasks.FineTuned.evaluate)."""

    def __init__(self, ubm, task: str, dataset, epochs: int, batch_size: int, lr: float,
                 patience: Optional[int], seed: int, progress: bool):
        self.source, self.task, self.dataset = ubm, task, dataset
        self.settings = dict(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
                             seed=seed, progress=progress)
        self.options = dict(min_length=5, seed=seed)
        if task == "pip":
            self.options.update(purchase_action="buy", oversample=True)

    def _csr(self, part, examples):
        return csr_arrays(self.source.tokenizer.prefixes(
            part, np.asarray(examples["begin"]), np.asarray(examples["end"]), self.dataset))

    def fit(self, train, valid) -> "MeanPooledTask":
        s = self.settings
        self.ubm, self.pooled = fresh_copy(self.source, self.dataset)
        train_ex = task_examples(self.task, train, self.ubm, self.dataset, self.options)
        valid_ex = task_examples(self.task, valid, self.ubm, self.dataset,
                                 {**self.options, "oversample": False})
        train_csr, valid_csr = self._csr(train, train_ex), self._csr(valid, valid_ex)
        train_labels = np.asarray(train_ex["label"], dtype=np.float32)
        valid_labels = np.asarray(valid_ex["label"], dtype=np.float32)
        self.head = Head(self.task, self.ubm.dim, self.ubm.dim, s["seed"], s["lr"])
        optimizer = _core.Adam(lr=s["lr"])
        core = self.ubm.core

        def step(rows, counter):
            h = self.pooled.forward(train_csr, rows, True, counter)
            loss, dout = self.head.loss(self.head.forward(h), train_labels[rows])
            self.pooled.backward(self.head.backward_and_step(dout))
            self.pooled.encoder.apply_gradients(optimizer)
            return loss, len(rows)

        def valid_loss():
            out = self.head.forward(self.pooled.encode(valid_csr))
            return self.head.loss(out, valid_labels)[0]

        def set_weights(weights):
            core.set_parameters(weights[0])
            self.head.set(weights[1])

        self.history_, self.best_epoch = train_epochs(
            f"mean-pooled {self.task.upper()}", len(train_ex), s["epochs"], s["batch_size"],
            s["seed"], s["patience"], s["progress"], step, valid_loss,
            lambda: (core.get_parameters(), self.head.get()), set_weights)
        return self

    def evaluate(self, test):
        examples = task_examples(self.task, test, self.ubm, self.dataset,
                                 {**self.options, "oversample": False})
        out = self.head.forward(self.pooled.encode(self._csr(test, examples)))
        labels = np.asarray(examples["label"], dtype=np.float64)
        predictions = self.head.prediction(out.astype(np.float64))
        if self.task == "pip":
            return sr.classification_metrics(labels, predictions)
        return sr.regression_metrics(labels, np.maximum(predictions, 0.0))


class MeanPooledNIP(Recommender):
    """NIP with mean-pooled interaction vectors, as a Recommender (``sr.evaluate`` ranks it over
    the whole catalogue; items that are not candidates score below every candidate)."""

    name = "mean-pooled-nip"

    def __init__(self, ubm, dataset, epochs: int, batch_size: int, lr: float,
                 patience: Optional[int], seed: int, progress: bool, min_count: int = 5):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
                         seed=seed, progress=progress, min_count=min_count)
        self.source, self.dataset = ubm, dataset

    def _examples(self, part, position):
        ex = part.examples()
        begin, end = np.asarray(ex.begin), np.asarray(ex.end)
        target = position[np.asarray(part.sessions.items)[end]]
        keep = target >= 0
        tokens = self.source.tokenizer.prefixes(part, begin[keep], end[keep], self.dataset)
        return csr_arrays(tokens), target[keep]

    def fit(self, train, valid) -> "MeanPooledNIP":
        p = self.params
        self.ubm, self.pooled = fresh_copy(self.source, self.dataset)
        candidates = np.flatnonzero(np.asarray(train.train_counts) >= p["min_count"])
        position = np.full(len(train.catalog), -1, dtype=np.int64)
        position[candidates] = np.arange(len(candidates))
        candidate_csr = csr_arrays(self.source.tokenizer.items(candidates.astype(np.int32)))
        train_csr, train_targets = self._examples(train, position)
        valid_csr, valid_targets = self._examples(valid, position)
        optimizer = _core.Adam(lr=p["lr"])
        core = self.ubm.core
        steps_per_epoch = -(-len(train_targets) // p["batch_size"])
        fixed = {}

        def cross_entropy(h, vectors, targets):
            logits = h @ vectors.T
            logits -= logits.max(1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(1, keepdims=True)
            rows = np.arange(len(targets))
            return float(-np.log(probabilities[rows, targets] + 1e-30).mean()), probabilities

        def step(rows, counter):
            if counter % steps_per_epoch == 0:  # an epoch starts: encode the candidates
                fixed["vectors"] = self.pooled.encode(candidate_csr)
            h = self.pooled.forward(train_csr, rows, True, counter)
            loss, probabilities = cross_entropy(h, fixed["vectors"], train_targets[rows])
            probabilities[np.arange(len(rows)), train_targets[rows]] -= 1
            self.pooled.backward((probabilities / len(rows)) @ fixed["vectors"])
            self.pooled.encoder.apply_gradients(optimizer)
            return loss, len(rows)

        def valid_loss():
            vectors = self.pooled.encode(candidate_csr)
            return cross_entropy(self.pooled.encode(valid_csr), vectors, valid_targets)[0]

        self.history_, self.best_epoch = train_epochs(
            "mean-pooled NIP", len(train_targets), p["epochs"], p["batch_size"], p["seed"],
            p["patience"], p["progress"], step, valid_loss, core.get_parameters,
            core.set_parameters)
        self.catalog, self.candidates = train.catalog, candidates
        self._vectors = self.pooled.encode(candidate_csr)
        return self

    def rank(self, sset, ties: str = "pessimistic", exclude_history: bool = False,
             progress: bool = True, block_bytes: int = 32 << 20) -> np.ndarray:
        """1-based rank of every example's target over the whole catalogue; histories keep
        their actions and queries."""
        self._check_catalog(sset)
        ex = sset.examples()
        begin, end = np.asarray(ex.begin), np.asarray(ex.end)
        items = np.asarray(sset.sessions.items)
        histories = self.pooled.encode(csr_arrays(
            self.source.tokenizer.prefixes(sset, begin, end, self.dataset)))
        rows = max(1, block_bytes // (4 * self.num_items))
        ranks = np.empty(len(begin))
        for b in range(0, len(begin), rows):
            e = min(len(begin), b + rows)
            scores = np.full((e - b, self.num_items), np.finfo(np.float32).min, np.float32)
            scores[:, self.candidates] = histories[b:e] @ self._vectors.T
            ranks[b:e] = _core.ranks_from_scores(scores, items[end[b:e]],
                                                 (items, begin[b:e], end[b:e]), ties,
                                                 exclude_history)
        return ranks
