"""Fine-tuning UBM for purchase intention (PIP) and remaining length (RLP) prediction (Li et al.,
"Contrastive Pre-training for Deep Session Data Understanding", §3.4 and §4.2.2); every step in
C++ (``cpp/sessrec/models/ubm_tasks.h``, one call per batch), Python orders the batches.

The paper, quoted:

    (§3.4.1) "We append two feed-forward layers and one linear layer followed by a Sigmoid layer
    for fine-tuning the PIP task. It is trained with the Binary Cross Entropy Loss."
    (§3.4.2) "We append two feed-forward layers to output a number. It is then trained with the
    Mean Square Error Loss."
    (§4.1.1) "For PIP, as the data is imbalanced, over-sampling is done on those with purchase.
    For RLP, we randomly cut the session at a position before the 32nd interaction and prepare
    the label correspondingly. In both PIP and RLP, we ignored the input sessions shorter than 5."
    (§4.2.2) "During fine-tuning, each task is trained on a single GPU with batch size set to 32.
    We used 3e-5 as the learning rate. All tasks are trained for 30 epochs. The whole structure
    including UBM and task-specific layers are fine-tuned together. And we use the model
    checkpoint with minimum loss on validation data for evaluating the test set."

Where the paper is silent, and what sessrec does:

- Eq. 5 as printed, ``-y_i log(y_hat_i) + (1 - y_i) log(1 - y_hat_i)``, lacks the brackets
  around the sum (its second term would reward wrong answers); sessrec uses the binary
  cross-entropy the text names, ``-[y log p + (1 - y) log(1 - p)]``, computed from the logit.
- The feed-forward layers are Linear + ReLU, as wide as the session vector (``hidden``).
- Accuracy, F1 and kappa threshold the purchase probability at 0.5 (the paper does not say).
- The optimizer is Adam at a constant rate (no schedule is given), with fresh moments: the
  pre-training optimizer's state is not carried over. The head has its own Adam, same settings.
- Dropout stays as the UBM was built (0.1 by default) in training steps; evaluation has none.
- The validation loss is the task's loss on the validation examples without oversampling; the
  weights of the epoch with the lowest one are restored at the end (kept in memory).
- RLP trains on the raw remaining length (Eq. 6 has no scaling); predictions are clipped at 0
  for the metrics (MSLE needs non-negative values), not in training.
- Fine-tuning works on a copy of the UBM: the pre-trained model passed in keeps its weights.
  Histories are tokenized by its tokenizer, which reads the queries of the Dataset it was
  fitted on (pass ``dataset=`` for parts of another copy of that Dataset).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Callable, Optional, Union

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import Dataset, SessionSet
from ..io import read_checked
from ..progress import show_progress
from ..models.ubm import UBM
from ..task_metrics import classification_metrics, regression_metrics
from ..thread_scope import threads as thread_scope
from ..text_interactions import InteractionTokens
from .labels import pip_examples, rlp_examples

TASKS = ("pip", "rlp")
FORMAT = "sessrec-ubm-finetuned"
FORMAT_VERSION = "1"
Data = Union[Dataset, SessionSet]


# ------------------------------------------------------------------------------- shared helpers
def copy_ubm(ubm: UBM, data: Optional[Data] = None) -> UBM:
    """An independent copy of ``ubm`` (through its own file format). A UBM never pre-trained
    is built first from ``data`` (a Dataset: its tokenizer is fitted there), so fine-tuning it
    is the paper's UBM_wo (no pre-training)."""
    if not isinstance(ubm, UBM):
        raise TypeError(f"expected a sessrec.models.UBM, got {type(ubm).__name__}")
    if ubm.core is None:
        if not isinstance(data, Dataset) and ubm.tokenizer.tokenizer is None:
            raise ValueError("the UBM was never pre-trained or loaded: pass a Dataset so that its "
                             "tokenizer can be fitted, or pre-train it first")
        ubm.pretrain(data, stage=1, epochs=0, progress=False)  # builds the network, trains nothing
    handle, path = tempfile.mkstemp(suffix=".h5")
    os.close(handle)
    try:
        ubm.save(path)
        return UBM.load(path)
    finally:
        os.remove(path)


def ubm_to_bytes(ubm: UBM) -> bytes:
    handle, path = tempfile.mkstemp(suffix=".h5")
    os.close(handle)
    try:
        ubm.save(path)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.remove(path)


def ubm_from_bytes(data: bytes) -> UBM:
    handle, path = tempfile.mkstemp(suffix=".h5")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        return UBM.load(path)
    finally:
        os.remove(path)


def check_settings(epochs: int, batch_size: int, lr: float, patience: Optional[int]) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if patience is not None and (not isinstance(patience, (int, np.integer)) or patience < 1):
        raise ValueError(f"patience must be None or a positive integer, got {patience!r}")


def csr_arrays(tokens: InteractionTokens) -> tuple:
    return (np.asarray(tokens.session_offsets, dtype=np.int64),
            np.asarray(tokens.token_offsets, dtype=np.int64), np.asarray(tokens.ids, dtype=np.int32))


def train_epochs(name: str, n: int, epochs: int, batch_size: int, seed: int,
                 patience: Optional[int], progress: bool, step: Callable, valid_loss: Callable,
                 get_weights: Callable, set_weights: Callable) -> tuple[pd.DataFrame, int]:
    """The epoch loop of fine-tuning: ``step(rows, step_number) -> (loss, examples)`` per batch of
    a permutation seeded by (seed, epoch); ``valid_loss()`` after each epoch; the weights of the
    epoch with the lowest validation loss (``get_weights``) are restored (``set_weights``) at the
    end. Stops after ``patience`` epochs without improvement (None: runs every epoch). Returns the
    history and the best epoch (1-based)."""
    from tqdm.auto import tqdm

    rows_, best, best_loss, since, counter = [], 0, np.inf, 0, 0
    best_weights = None
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(n).astype(np.int64)
        starts = range(0, n, batch_size)
        bar = tqdm(starts, desc=f"{name} epoch {epoch + 1}", unit="batch", disable=not progress,
                   leave=False)
        total, examples, start = 0.0, 0, time.perf_counter()
        for s in bar:
            loss, count = step(order[s:s + batch_size], counter)
            counter += 1
            if not np.isfinite(loss):
                bar.close()
                raise FloatingPointError(f"{name}: fine-tuning diverged in epoch {epoch + 1} "
                                         f"(loss {loss}); lower lr")
            total += loss * count
            examples += count
            if progress:
                bar.set_postfix(loss=f"{loss:.4f}")
        bar.close()
        current = float(valid_loss())
        rows_.append(dict(epoch=epoch + 1, train_loss=total / max(examples, 1),
                          valid_loss=current, seconds=time.perf_counter() - start))
        if current < best_loss:
            best, best_loss, since, best_weights = epoch + 1, current, 0, get_weights()
        else:
            since += 1
            if patience is not None and since >= patience:
                break
    if best_weights is not None:
        set_weights(best_weights)
    return pd.DataFrame(rows_), best


# ---------------------------------------------------------------------------------- PIP and RLP
class FineTuned:
    """A UBM fine-tuned for ``task`` ("pip" or "rlp") by :func:`finetune`: ``ubm`` (the tuned
    copy), ``head`` (the C++ task layers), ``history_`` (per epoch: train and validation loss),
    ``best_epoch`` (the restored one)."""

    def __init__(self, task: str, ubm: UBM, head, tokenizer, examples_options: dict, dataset,
                 history, best_epoch: int):
        self.task, self.ubm, self.head, self.tokenizer = task, ubm, head, tokenizer
        self.examples_options = examples_options
        self.dataset = dataset
        self.history_ = history
        self.best_epoch = best_epoch

    def examples(self, data: Data) -> pd.DataFrame:
        """The task's examples of ``data`` (no oversampling): ``session, begin, end, length,
        label``."""
        return task_examples(self.task, data, self.ubm, self.dataset,
                             {**self.examples_options, "oversample": False})

    def predict(self, data: Data, examples: Optional[pd.DataFrame] = None) -> np.ndarray:
        """Purchase probabilities (PIP) or remaining lengths (RLP) of the examples of ``data``
        (default: :meth:`examples`; or a table with ``begin``/``end`` event ranges)."""
        if examples is None:
            examples = self.examples(data)
        return self._predict(data, examples)[0]

    def _predict(self, data: Data, examples: pd.DataFrame, labels=None) -> tuple:
        if len(examples) == 0:
            raise ValueError(f"{self.task.upper()}: no examples to predict")
        tokens = self.tokenizer.prefixes(data, np.asarray(examples["begin"]),
                                             np.asarray(examples["end"]), self.dataset)
        rows = np.arange(len(examples), dtype=np.int64)
        return _core.ubm_task_predict(self.ubm.core, self.head, *csr_arrays(tokens), rows, labels)

    def loss(self, data: Data) -> float:
        """The task's mean loss (BCE or MSE, as in training) on ``data``'s examples: what picked
        the restored epoch on validation data."""
        examples = self.examples(data)
        return float(self._predict(data, examples,
                                   np.asarray(examples["label"], dtype=np.float32))[1])

    def evaluate(self, test: Data) -> pd.Series:
        """The task's metrics on ``test``'s examples: accuracy, AUROC, F1 and Cohen's kappa
        (PIP, threshold 0.5) or MAE, MSE, MSLE and R^2 (RLP, predictions clipped at 0)."""
        examples = self.examples(test)
        predictions = self.predict(test, examples)
        labels = np.asarray(examples["label"], dtype=np.float64)
        if self.task == "pip":
            return classification_metrics(labels, predictions)
        return regression_metrics(labels, np.maximum(predictions, 0.0))

    def save(self, path) -> None:
        """Write the tuned UBM, the head, the example settings and the history to HDF5
        (atomically, with checksums); :meth:`load` reads it back."""
        arrays = {f"head/{k}": v for k, v in self.head.get_parameters().items()}
        arrays["ubm"] = np.frombuffer(ubm_to_bytes(self.ubm), dtype=np.uint8).copy()
        attributes = {"format": FORMAT, "format_version": FORMAT_VERSION, "task": self.task,
                      "hidden": str(self.head.dims[1]), "options": json.dumps(self.examples_options),
                      "best_epoch": str(self.best_epoch),
                      "history": json.dumps(self.history_.to_dict("records"))}
        _core.write_array_file(str(path), arrays, attributes)

    @classmethod
    def load(cls, path, dataset: Optional[Dataset] = None) -> "FineTuned":
        """A model written by :meth:`save` (ValueError for another or a damaged file).
        ``dataset``: the Dataset whose queries the histories read (a file holds none)."""
        arrays, attributes = read_checked(path, FORMAT, FORMAT_VERSION,
                                          checksummed_from=FORMAT_VERSION)
        try:
            ubm = ubm_from_bytes(arrays["ubm"].tobytes())
            task = attributes["task"]
            head = _core.UBMTaskHead(task, dim=ubm.dim, hidden=int(attributes["hidden"]))
            head.set_parameters({k[5:]: v for k, v in arrays.items() if k.startswith("head/")})
            return cls(task, ubm, head, ubm.tokenizer, json.loads(attributes["options"]), dataset,
                       pd.DataFrame(json.loads(attributes["history"])),
                       int(attributes["best_epoch"]))
        except KeyError as missing:
            raise ValueError(f"{path}: the fine-tuned UBM file lacks {missing}") from None

    def __repr__(self) -> str:
        return f"FineTuned(task={self.task!r}, best_epoch={self.best_epoch})"


def task_examples(task: str, data: Data, ubm: UBM, dataset: Optional[Dataset],
                  options: dict) -> pd.DataFrame:
    if not isinstance(data, (Dataset, SessionSet)):
        raise TypeError(f"expected a sessrec Dataset or SessionSet, got {type(data).__name__}")
    options = dict(options)
    if task == "pip":
        names = None
        if not isinstance(data, Dataset):
            names = dataset.action_names if dataset is not None else ubm.tokenizer.action_names
        return pip_examples(data, action_names=names, **options)
    options.pop("oversample", None)
    options.pop("purchase_action", None)
    return rlp_examples(data, **options)


def finetune(ubm: UBM, task: str, train: Data, valid: Data, epochs: int = 30,
             batch_size: int = 32, lr: float = 3e-5, hidden: Optional[int] = None,
             oversample: bool = True, min_length: int = 5, purchase_action: str = "buy",
             patience: Optional[int] = None, seed: int = 0, threads: Optional[int] = None,
             progress: Optional[bool] = None, dataset: Optional[Dataset] = None) -> FineTuned:
    """Fine-tune a copy of ``ubm`` with a task head on ``train`` and keep the epoch with the lowest
    loss on ``valid`` (see the module docstring; defaults are §4.2.2's).

    ``task``: "pip" (examples from :func:`~sessrec.tasks.pip_examples`, positives oversampled
    1:1 in training when ``oversample``) or "rlp" (:func:`~sessrec.tasks.rlp_examples`, one
    seeded cut per session). ``train``/``valid``: Datasets or SessionSets split from the Dataset
    the UBM's tokenizer was fitted on (``dataset=``: that Dataset, for queries and action names
    when it is not the fitted one). ``min_length``: inputs shorter are skipped (5). ``hidden``:
    width of the feed-forward layers (default: the UBM's dim). ``threads``: OpenMP threads for
    this call (the caller's count is restored after it; None: unchanged). Deterministic for a
    ``seed`` and a thread count."""
    with thread_scope(threads):
        return _finetune(ubm, task, train, valid, epochs, batch_size, lr, hidden, oversample,
                         min_length, purchase_action, patience, seed, progress, dataset)


def _finetune(ubm, task, train, valid, epochs, batch_size, lr, hidden, oversample, min_length,
              purchase_action, patience, seed, progress, dataset) -> FineTuned:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    check_settings(epochs, batch_size, lr, patience)
    model = copy_ubm(ubm, dataset if dataset is not None else train)
    options = dict(min_length=int(min_length), seed=int(seed))
    if task == "pip":
        options.update(purchase_action=purchase_action, oversample=bool(oversample))
    train_ex = task_examples(task, train, model, dataset, options)
    valid_ex = task_examples(task, valid, model, dataset, {**options, "oversample": False})
    for part, ex in (("train", train_ex), ("valid", valid_ex)):
        if len(ex) == 0:
            raise ValueError(f"{task.upper()}: the {part} data gives no examples (sessions "
                             f"shorter than min_length={min_length} are skipped)")
    if task == "pip" and len(np.unique(train_ex["label"])) < 2:
        raise ValueError("PIP: the training examples hold one class only")
    # The pre-trained model's tokenizer: it knows the Dataset it was fitted on (queries, action
    # names), which a copy read back from a file does not.
    tokenizer = ubm.tokenizer
    train_csr = csr_arrays(tokenizer.prefixes(train, np.asarray(train_ex["begin"]),
                                              np.asarray(train_ex["end"]), dataset))
    valid_csr = csr_arrays(tokenizer.prefixes(valid, np.asarray(valid_ex["begin"]),
                                              np.asarray(valid_ex["end"]), dataset))
    train_labels = np.asarray(train_ex["label"], dtype=np.float32)
    valid_labels = np.asarray(valid_ex["label"], dtype=np.float32)
    valid_rows = np.arange(len(valid_ex), dtype=np.int64)
    core = model.core
    head = _core.UBMTaskHead(task, dim=model.dim, hidden=int(hidden or model.dim), seed=int(seed))
    core.reset_optimizer_state()
    model_optimizer = _core.Adam(lr=float(lr))
    head_optimizer = _core.Adam(lr=float(lr))

    def step(rows, counter):
        loss, count, _ = _core.ubm_task_train_step(core, head, *train_csr, rows, train_labels[rows],
                                                   counter, model_optimizer, head_optimizer)
        return loss, count

    def valid_loss():
        return _core.ubm_task_predict(core, head, *valid_csr, valid_rows, valid_labels)[1]

    def get_weights():
        return core.get_parameters(), head.get_parameters()

    def set_weights(weights):
        core.set_parameters(weights[0])
        head.set_parameters(weights[1])

    history, best = train_epochs(f"UBM {task.upper()}", len(train_ex), int(epochs),
                                 int(batch_size), int(seed), patience, show_progress(progress),
                                 step, valid_loss,
                                 get_weights, set_weights)
    return FineTuned(task, model, head, tokenizer, options, dataset, history, best)
