"""AlterRec (Li et al., "Enhancing ID and Text Fusion via Alternative Training in Session-based
Recommendation"): an ID network and a text network, trained in turn, each learning from the
other's hard negatives.

Training follows Algorithm 1 (Appendix E):

1. ``m_random`` epochs of the ID network, then ``m_random`` epochs of the text network, with
   random negatives ("replacing the hard negatives in Eq. (8) and Eq. (9) with randomly selected
   negatives with equal number");
2. then the two alternate every ``m_gap`` epochs until ``m_max`` epochs in all. The network in
   training takes negatives from ranks k1..k2-1 of the other, frozen network's scores (r[k1:k2],
   mined in C++: blocked scoring plus partial selection, no full sort) in a softmax over
   [target, negatives];
3. AlterRec_aug (``p > 0``) adds the other network's top-``p`` items (the target excluded) as
   positives of weight ``beta``;
4. inference blends y = alpha * y_ID + (1 - alpha) * y_text (Eq. 12).

``AlterRec.paper(setting)`` builds the published configuration. Section 5.1.3: "We set the
parameters as follows: $m_{random} = 2$, $m_{gap} = 2$, $m_{max} = 30$, $\\alpha = 0.5$,
$\\beta = 0.5$, p = 5. Additionally, for the Homedepot dataset, we set $k_1 = 6$, $k_2 = 2000$,
and for the three Amazon-M2 datasets, $k_1 = 20$, $k_2 = 20000$ are used." (beta and p belong to
AlterRec_aug: ``paper(setting, augmented=True)``), and "for Homedepot dataset, we use the mean
function to generate ID session embedding and Transformer to generate text session embedding.
For Amazon-M2, we use Transformer to generate both ID and text session embeddings." Appendix G:
"we search the learning rate in $\\{0.01, 0.001\\}$ and dropout in $\\{0.1, 0.3, 0.5\\}$, and we
set hidden dimension as 300," and "number of Transformer layer to be 2". The default
``AlterRec()`` departs from it in the ways below; each has a parameter that switches it back, so
``AlterRec(**{one of them: the paper's value})`` removes one deviation at a time
(bench/RESULTS.md, "AlterRec as published, and each deviation", measures each on the validation
and test parts):

- ``negatives``: "mixed" (half of k2 - k1 drawn from r[k1:k2], half uniform, as the authors'
  released code) / the paper's "hard" (every item of r[k1:k2] is a negative);
- ``k1``, ``k2``, ``fit_window``: 50, 5000 (released code) and "scale" (a catalogue smaller than
  4 * k2 gets k2 = a quarter of it and k1 = k2 / 20, at least p + 1; logged) / the paper's 6, 2000
  (Homedepot) or 20, 20000 (Amazon-M2) with "clip" (the Python slice r[k1:k2]: k2 cut to the
  catalogue, logged when it is);
- ``tower_norm``: True (both item tables end in LayerNorm; logits divided by sqrt(dim)) / False,
  the paper's plain dot products (Eq. 5-6, y = X_i^T q_s) over a free ID table and
  H = MLP(SBERT) (Eq. 1), temperature 1;
- ``cold_items``: "text" (items absent from the training part are scored by the text network
  alone: their ID embeddings were only ever pushed down as negatives, so any alpha > 0 buries
  them) / "blend", Eq. 12 for every item;
- ``alpha``: "valid" (chosen from ALPHA_GRID on the validation part after every epoch; the epoch
  kept is the one with the best blend at its best alpha; 0.5 without a validation part) / the
  paper's fixed 0.5 ("α is a pre-defined parameter");
- ``id_encoder``: "sasrec" / "mean" (g_mean, Eq. 2) on Homedepot, "sasrec" on Amazon-M2;
- ``dim`` 64 and ``dropout`` 0.2 / 300 (lr and dropout searched in {0.01, 0.001} and
  {0.1, 0.3, 0.5}).

The same as the paper in both: the text encoder is a transformer ("sasrec", on both settings),
m_random 2, m_gap 2 and m_max 30 (the default was 20 until 2026-12-02; 30 was better on the
validation parts of both online_retail, NDCG@20 0.2062 ± 0.0006 vs 0.1993 ± 0.0003, and ml-100k, 0.0736 ±
0.0013 vs 0.0701 ± 0.0021, 3 seeds: bench/RESULTS.md, "AlterRec as published"), and, when
``p > 0``,
``positive_terms="separate"``: each extra positive is its own log f(.) term against the same
negatives (Eq. 10-11: "these augmented samples are paired with the same corresponding hard
negative samples as the target item"); ``"shared"`` puts all positives in one softmax. ``beta``
defaults to the paper's 0.5. ``negatives="random"`` is AlterRec_random.

The authors' released code differs from the paper in places (it mixes hard and random negatives,
k1 50 / k2 5000, so k2 - k1 = 4,950 negatives per target, trains the ID network 2 epochs with
random negatives and the text network none, and divides text logits by 0.07); ``negatives=
"mixed"`` with ``num_hard``/``num_random`` reproduces its negatives, not the paper's.

Text features: the paper uses frozen Sentence-BERT vectors; pass them as ``text=`` (a matrix),
or use the library's "lsa" / "subword" features. A mining window that does not fit the catalogue
is never changed silently: ``fit_window="error"`` refuses it, "scale" and "clip" warn with the
numbers (``mining_window`` shows what a catalogue gets).
"""

from __future__ import annotations

import warnings
from typing import Callable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import SessionSet
from .base import Recommender, ScorerView
from .sequence_models import ENCODERS
from ..thread_scope import with_model_threads
from .training import epoch_callbacks, log_epoch, run_callbacks
from .training_log import BestEpoch, decode_training_log, encode_training_log

NETWORKS = ("id", "text")
# Blend weights compared on the validation part when alpha="valid"; 1.0 is the ID network
# alone, 0.0 the text network alone.
ALPHA_GRID = tuple(round(0.1 * i, 1) for i in range(11))
# Validation rows scored per block by the alpha search (two blocks of rows x items floats).
_GRID_ROWS = 512
SESSION_ENCODERS = ("sasrec", "mean", "meanpool")
# The published configuration (section 5.1.3 and Appendix G). Not given by the paper, chosen
# here: lr 1e-3 and dropout 0.3 (inside the searched grids), ffn_dim 256 and max_len 50
# (RecBole's SASRec defaults; the baselines "are implemented based on the RecBole"), 2 heads, a
# text MLP with one hidden layer of the hidden dimension, and the kept epoch = best validation.
PAPER = dict(
    m_random=2, m_gap=2, m_max=30, alpha=0.5, negatives="hard", positive_terms="separate",
    tower_norm=False, cold_items="blend", fit_window="clip", text_encoder="sasrec", dim=300,
    layers=2, heads=2, ffn_dim=256, max_len=50, text_hidden=(300,), lr=1e-3, dropout=0.3,
    text_dropout=0.3, patience=None,
)
PAPER_SETTINGS = {
    "homedepot": dict(id_encoder="mean", k1=6, k2=2000),
    "amazon-m2": dict(id_encoder="sasrec", k1=20, k2=20000),
}
# AlterRec_aug: "beta = 0.5, p = 5".
PAPER_AUGMENTED = dict(p=5, beta=0.5)


class AlterRec(Recommender):
    """Alternating ID/text training with hard negatives; see the module docstring.

    Architecture: ``dim``, ``layers``, ``heads``, ``ffn_dim``, ``max_len``, ``dropout``,
    ``id_encoder`` and ``text_encoder`` ("sasrec", "mean": the plain mean g_mean, "meanpool":
    mean + linear), ``tower_norm``. Text: ``text`` ("lsa", "subword" or a feature matrix),
    ``text_field``, ``text_dim``, ``text_hidden``, ``text_dropout``, ``vocab_size``,
    ``token_dim``. Alternation: ``m_random``, ``m_gap``, ``m_max``, ``negatives`` ("mixed",
    "hard" or "random"), ``k1``, ``k2``, ``fit_window`` ("scale", "clip" or "error"), ``num_hard``
    and ``num_random`` ("mixed" only; None: half of k2 - k1 each), ``p``, ``beta``,
    ``positive_terms`` ("separate" or "shared"), ``alpha`` (a number, or "valid": chosen on the
    validation part; the one in use is ``alpha_``), ``cold_items`` ("text" or "blend"),
    ``temperature_id``, ``temperature_text`` (None: sqrt(dim) with ``tower_norm``, else 1).
    Training: ``batch_size``, ``lr``, ``lr_text`` (None: ``lr``), ``metric`` (validation metric
    of the blend used to keep the best epoch), ``patience`` (epochs without improvement before
    stopping; None: run to ``m_max``), ``seed``, ``threads``.
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
        id_encoder: str = "sasrec",
        text_encoder: str = "sasrec",
        tower_norm: bool = True,
        text="lsa",
        text_field: str = "text",
        text_dim: int = 64,
        text_hidden=(256,),
        text_dropout: float = 0.1,
        vocab_size: int = 8000,
        token_dim: int = 64,
        m_random: int = 2,
        m_gap: int = 2,
        m_max: int = 30,
        negatives: str = "mixed",
        k1: int = 50,
        k2: int = 5000,
        fit_window: str = "scale",
        num_hard: Optional[int] = None,
        num_random: Optional[int] = None,
        p: int = 0,
        beta: float = 0.5,
        positive_terms: str = "separate",
        alpha: Union[float, str] = "valid",
        cold_items: str = "text",
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
        choices = dict(negatives=("mixed", "hard", "random"), fit_window=("scale", "clip", "error"),
                       positive_terms=("separate", "shared"), cold_items=("text", "blend"),
                       id_encoder=SESSION_ENCODERS, text_encoder=SESSION_ENCODERS)
        for key, allowed in choices.items():
            if params[key] not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {params[key]!r}")
        if negatives != "mixed" and (num_hard is not None or num_random is not None):
            raise ValueError(f"num_hard and num_random apply to negatives='mixed'; "
                             f"negatives={negatives!r} takes every item of r[k1:k2]")
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
        train_args = dict(dim=dim, max_len=max_len, dropout=dropout, batch_size=batch_size,
                          metric=metric, seed=seed, threads=threads, epochs=m_max,
                          tower_norm=tower_norm)

        def network(encoder, **kwargs):
            if encoder == "sasrec":
                kwargs.update(layers=layers, heads=heads, ffn_dim=ffn_dim)
            return ENCODERS[encoder](**train_args, **kwargs)

        self.networks = {
            "id": network(id_encoder, items="id_ln" if tower_norm else "id",
                          temperature=temperature_id, lr=lr),
            "text": network(
                text_encoder, items="text", temperature=temperature_text, lr=lr_text or lr,
                text=user_matrix if user_matrix is not None else text, text_field=text_field,
                text_dim=text_dim, text_hidden=text_hidden, text_dropout=text_dropout,
                vocab_size=vocab_size, token_dim=token_dim,
            ),
        }
        self.epochs_done = 0
        self.history_: Optional[pd.DataFrame] = None
        # Best blend so far, its epoch, epochs waited, and the last epoch's weights when the
        # model holds the best ones: saved with the model, so a resumed fit keeps its patience.
        self.early_stopping_: Optional[BestEpoch] = None
        # The blend weight in use: the fixed alpha, or the one chosen on validation.
        self.alpha_: float = 0.5 if alpha == "valid" else float(alpha)
        # 1 for items the blend scores by the text network alone (cold_items="text": the items
        # absent from the training part; "blend": none).
        self.text_only_items_: Optional[np.ndarray] = None
        self._blend = None  # (id core, text core, alpha, BlendScorer), rebuilt when one changes

    @classmethod
    def paper(cls, setting: str = "amazon-m2", augmented: bool = False, **overrides) -> "AlterRec":
        """The published configuration for ``setting`` "amazon-m2" or "homedepot" (section 5.1.3,
        Appendix G; see ``PAPER`` and ``PAPER_SETTINGS`` for what the paper leaves open and the
        value chosen here). ``augmented=True`` is AlterRec_aug (p 5, beta 0.5). ``overrides``
        replace any parameter, e.g. ``dim=64`` or ``text=sbert_matrix``."""
        if setting not in PAPER_SETTINGS:
            raise ValueError(f"setting must be one of {sorted(PAPER_SETTINGS)}, got {setting!r}")
        config = dict(PAPER, **PAPER_SETTINGS[setting])
        if augmented:
            config.update(PAPER_AUGMENTED)
        config.update(overrides)
        return cls(**config)

    # -------------------------------------------------------------------------- schedule
    def mining_window(self, num_items: int) -> dict:
        """k1, k2 and the per-target counts used for a catalogue of ``num_items`` (the keyword
        arguments of the mined training step). See ``window_change`` for when they differ from
        the parameters."""
        p = self.params
        k1, k2 = self._fitted_window(num_items)
        window = k2 - k1
        if p["negatives"] == "mixed":
            num_hard = window // 2 if p["num_hard"] is None else p["num_hard"]
            num_random = window - window // 2 if p["num_random"] is None else p["num_random"]
        else:  # every item of r[k1:k2]; in the random phases as many random ones
            num_hard, num_random = window, 0
        return dict(k1=k1, k2=k2, num_hard=num_hard, num_random=num_random, num_aug=p["p"],
                    aug_weight=p["beta"],
                    separate_positives=p["positive_terms"] == "separate")

    def _fitted_window(self, num_items: int) -> tuple[int, int]:
        p = self.params
        k1, k2 = p["k1"], p["k2"]
        rule = p["fit_window"]
        if rule == "scale" and num_items < 4 * k2:
            k2 = max(2, num_items // 4)
            k1 = min(k1, max(p["p"] + 1, k2 // 20))
        elif k2 > num_items:
            if rule == "error":
                raise ValueError(
                    f"AlterRec: the mining window k1={k1}, k2={k2} does not fit a catalogue of "
                    f"{num_items} items; choose k2 <= {num_items} or fit_window='clip'/'scale'")
            k2 = num_items  # "clip": the Python slice r[k1:k2] of a shorter ranking
        if k1 >= k2:
            raise ValueError(f"AlterRec: k1={k1} leaves no negatives in a catalogue of "
                             f"{num_items} items")
        return k1, k2

    def window_change(self, num_items: int) -> Optional[str]:
        """None when the window (k1, k2) is used as given for ``num_items`` items; otherwise the
        message that ``fit`` warns with."""
        p = self.params
        k1, k2 = self._fitted_window(num_items)
        if (k1, k2) == (p["k1"], p["k2"]):
            return None
        counts = self.mining_window(num_items)
        why = (f"a catalogue of {num_items} items is smaller than 4 * k2 = {4 * p['k2']}"
               if p["fit_window"] == "scale" else f"k2 exceeds the catalogue of {num_items} items")
        return (f"AlterRec: {why}; mining window k1={p['k1']}, k2={p['k2']} changed to "
                f"k1={k1}, k2={k2} (fit_window={p['fit_window']!r}): {counts['num_hard']} hard + "
                f"{counts['num_random']} random negatives per target")

    def schedule(self, epoch: int) -> tuple[str, bool]:
        """(network trained, hard negatives?) at 0-based ``epoch`` (Algorithm 1)."""
        m_random, m_gap = self.params["m_random"], self.params["m_gap"]
        if epoch < m_random:
            return "id", False
        if epoch < 2 * m_random:
            return "text", False
        block = (epoch - 2 * m_random) // m_gap
        return ("id" if block % 2 == 0 else "text"), self.params["negatives"] != "random"

    # --------------------------------------------------------------------------- training
    @with_model_threads
    def fit(
        self,
        train: SessionSet,
        valid: Optional[SessionSet] = None,
        epochs: Optional[int] = None,
        progress: Optional[bool] = None,
        callbacks: Optional[Sequence[Callable]] = None,
        log: Optional[str] = None,
    ) -> "AlterRec":
        """Run the schedule up to ``m_max`` epochs in all (or ``epochs`` more). With ``valid``,
        after every epoch the validation ``metric`` of the ID network, the text network and the
        blend is recorded in ``history_``; the weights of the epoch with the best blend are kept
        (and training stops after ``patience`` epochs without improvement, if set). A second
        ``fit`` call, or ``fit`` on a model loaded from :meth:`save`, continues from the last
        epoch's weights with the same history and patience, as one uninterrupted run would.
        ``callbacks`` and ``log`` as in :meth:`sessrec.models.SASRec.fit` (the row carries
        ``valid_fused_<metric>``)."""
        callbacks = epoch_callbacks(callbacks, log)
        if not isinstance(train, SessionSet):
            raise TypeError(f"fit() expects a SessionSet from Dataset.split, got {type(train)}")
        if train.sessions.num_events == 0:
            raise ValueError(f"{train.dataset_name}: the training part has no events")
        p = self.params
        if valid is None and p["alpha"] == "valid":
            warnings.warn("AlterRec: alpha='valid' needs a validation part; blending with "
                          f"alpha={self.alpha_}", stacklevel=3)  # past the threads wrapper
        mining = self.mining_window(train.num_items)
        change = self.window_change(train.num_items)
        if change is not None:
            warnings.warn(change, stacklevel=3)
        runs = {name: net.start_training(train) for name, net in self.networks.items()}
        self.catalog = train.catalog
        cold = np.asarray(train.train_counts) == 0
        if p["cold_items"] == "blend":
            cold[:] = False
        self.text_only_items_ = cold.astype(np.uint8)
        history = [] if self.history_ is None else self.history_.to_dict("records")
        # Continue the early-stopping state (and train on the last epoch's weights, not the
        # best ones the model scores with); without validation, nothing to compare against.
        best = self.early_stopping_ or BestEpoch(p["patience"])
        best.resume_training(self._weights, self._put_weights)
        if valid is None:
            best = BestEpoch(p["patience"])
        self.early_stopping_ = best

        n_epochs = p["m_max"] - self.epochs_done if epochs is None else epochs
        for _ in range(max(0, n_epochs)):
            trained, hard = self.schedule(self.epochs_done)
            net = self.networks[trained]
            other = self.networks["text" if trained == "id" else "id"]
            step_mining = dict(mining)
            if not hard:  # random negatives only, as many as in the hard phases
                step_mining.update(num_aug=0)  # (the hard slots are drawn at random)
            row = runs[trained].run_epoch(
                progress, mining=step_mining, teacher=other.core if hard else None,
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
                stop = best.update(row[f"valid_fused_{metric}"], self._weights,
                                   self.epochs_done)
            history.append(row)
            self.history_ = pd.DataFrame(history)
            log_epoch(self, row)
            if run_callbacks(callbacks, self, row):
                stop = True
            if stop:
                break
        best.finish_training(self._weights, self._put_weights, self.epochs_done)
        return self

    def _weights(self) -> dict:
        """Both networks' weights and the blend weight: what early stopping keeps."""
        return {"alpha": self.alpha_,
                **{n: m.core.get_parameters() for n, m in self.networks.items()}}

    def _put_weights(self, weights: dict) -> None:
        self.alpha_ = weights["alpha"]
        for name in NETWORKS:
            self.networks[name].core.set_parameters(weights[name])

    def validation_by_alpha(self, valid: SessionSet) -> dict[float, float]:
        """The validation ``metric`` of the blend for every alpha of ALPHA_GRID (and the fixed
        alpha, if one is set). Each network scores the validation examples once; the blends are
        ranked from those scores (pessimistic ties, as ``sr.evaluate``): alpha 1.0 is the ID
        network alone (with cold_items="text", the text network for items absent from
        training), 0.0 the text network alone."""
        self._check_catalog(valid)
        name, _, k = self.params["metric"].partition("@")
        ex = valid.examples()
        begin, end = np.asarray(ex.begin), np.asarray(ex.end)
        items = np.asarray(valid.sessions.items)
        alphas = sorted(set(ALPHA_GRID) | {self.alpha_})
        ranks = {a: np.empty(len(begin)) for a in alphas}
        ids, text = (self.networks[n].core for n in NETWORKS)
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

    def _constructor_arguments(self) -> dict:
        # A user text matrix lives in the text network; the parameters only say "matrix".
        matrix = self.networks["text"]._user_features
        return {} if matrix is None else {"text": matrix}

    # ---------------------------------------------------------------------------- scoring
    def _scorer(self):
        # Kept while the two cores (which load() replaces) and alpha stay the same: copying the
        # per-item flags into C++ costs O(items) per build.
        ids, text = (self.networks[n].core for n in NETWORKS)
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
        return ScorerView(net.core, self.catalog, f"{which} in alterrec")

    # ------------------------------------------------------------------------- save/load
    def _state(self):
        """Per network (id/, text/): its weights (``param/``: the best epoch's under early
        stopping, what the loaded model scores with), Adam state and counters after the last
        epoch; ``alpha`` the blend weight of the best epoch; ``resume/``: both networks' last-epoch
        weights and alpha when they differ (what ``fit`` on the loaded model continues from);
        ``training_log``: ``history_`` and the early-stopping state."""
        best = self.early_stopping_ or BestEpoch(None)
        scoring, resume = best.scoring_and_resume(self._weights, self.epochs_done)
        arrays = {}
        for name, net in self.networks.items():
            arrays.update({f"{name}/{k}": v for k, v in net.state_arrays().items()})
            arrays.update({f"{name}/param/{k}": v for k, v in scoring[name].items()})
            if resume is not None:
                arrays.update({f"resume/{name}/param/{k}": v for k, v in resume[name].items()})
        if resume is not None:
            arrays["resume/alpha"] = np.array([resume["alpha"]], dtype=np.float64)
        arrays["epochs_done"] = np.array([self.epochs_done], dtype=np.int64)
        arrays["alpha"] = np.array([scoring["alpha"]], dtype=np.float64)
        arrays["text_only_items"] = self.text_only_items_
        arrays["training_log"] = encode_training_log(self.history_, self.early_stopping_)
        return arrays

    def _set_state(self, arrays):
        for name, net in self.networks.items():
            prefix = f"{name}/"
            part = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            if not part:
                raise KeyError(f"'{prefix}' (the {name} network)")
            net.catalog = self.catalog
            net.load_state_arrays(part)
        self.epochs_done = int(arrays["epochs_done"][0])
        self.alpha_ = float(arrays["alpha"][0])
        self.text_only_items_ = np.asarray(arrays["text_only_items"], dtype=np.uint8)
        if "training_log" in arrays:  # files before model format 2 have none
            self.history_, self.early_stopping_ = decode_training_log(
                arrays["training_log"], self.params["patience"])
        if "resume/alpha" in arrays:
            resume = {"alpha": float(arrays["resume/alpha"][0])}
            for name, net in self.networks.items():
                prefix = f"resume/{name}/param/"
                resume[name] = {k[len(prefix):]: v for k, v in arrays.items()
                                if k.startswith(prefix)}
                expected = set(net.core.parameter_names())
                if set(resume[name]) != expected:
                    raise ValueError(f"checkpoint resume weights of the {name} network do not "
                                     f"match the model: {sorted(expected ^ set(resume[name]))[:3]}")
            self.early_stopping_ = self.early_stopping_ or BestEpoch(self.params["patience"])
            self.early_stopping_.resume = resume
