"""Fusion and rerank, the last stage of the KDD Cup 2023 5th-place system (Zhang et al. 2023,
§2.2 "Multimodal Fusion Rerank").

The paper: "we retrieve items for each session using three retrieval methods [...] To combine
the scores from the retrieval methods, we multiply them together [...] From the fused scores, we
select the top 120 items as the preliminary retrieval results. Next, we integrate the scoring of
retrieval results from different modalities and perform fine-grained feature engineering. We
employ the CatBoost algorithm". CatBoost is not packaged for Debian; the ranker here is
XGBoost's learning-to-rank objective (``objective``, default ``rank:pairwise``).

Stages (each a module of :mod:`sessrec.rerank`):

1. candidates (:mod:`sessrec.rerank.candidates`): the union of every retriever's top
   ``top_m``; the fused score is the product of the retrievers' scores, each first mapped to
   (0, 1] over the catalogue (``scale``: "minmax", floor + (1 - floor) * (s - min) / (max - min);
   or "softmax"); the ``keep`` best (default 120, the paper's) stay;
2. features (:mod:`sessrec.rerank.features`): retriever scores and ranks, fused score and rank;
   with ``features="all"`` also hot, session and graph features (PageRank, betweenness, Katz
   and degree centrality of the ItemCF co-occurrence graph through igraph, and the C++ edge-
   weight statistics between the candidate and the session's items);
3. the ranker, trained on rows that no retriever saw: the training sessions are cut into
   ``folds`` folds (the paper: "Through a five-fold cross-validation method, the data was
   partitioned into training and validation sets. [...] The validation set not only served for
   evaluating the model’s performance but also facilitated training set generation during the
   reranking stage."). For each fold, fresh copies of the retrievers (and the ItemCF graph and
   the item counts) are fitted on the other folds, and the fold's sessions (their last position
   with ``ranker_targets="last"``, as the paper's validation, or every position) get candidates
   and features from them. Sessions whose target is not among the candidates are dropped (they
   teach a ranker nothing). The last fold's rows are the validation set for early stopping
   (``early_stopping_rounds`` on MAP@100, which with one relevant item per session is
   MRR@100); the others train.

The final retrievers are fitted on the whole training part (or used as given with
``refit_retrievers=False``: they must be fitted on the same catalogue), and the graph features
come from it too. Table 3 of the paper, as options of this class: ``ranker=None`` is product
fusion alone, ``features="retriever"`` GBDT fusion without extra features, ``features="all"``
GBDT fusion with all features.

Scores: for each session, the candidate at position p (0 = best) of the final order gets
``1 + (keep - p) / keep`` (in (1, 2]); every other item gets its fused log score (<= 0), so it
ranks below every candidate, and items outside the candidates keep the fused order among
themselves (equal fused scores tie, and evaluation's tie policy applies). The final order of the
candidates is the ranker's score (the fused score without a ranker), ties broken by the fused
score, then the lower item index.

``threads``: the core's OpenMP threads during this model's fit/score/rank calls (the caller's
count is restored after each, as for every Recommender) and XGBoost's ``nthread``.
"""

from __future__ import annotations

import inspect
import json
import time
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import SessionSet
from ..progress import show_progress
from ..rerank.candidates import SCALES, check_quota, retrieve_candidates
from ..rerank.features import FEATURE_SETS, ItemTable, candidate_features, feature_names
from .base import _REGISTRY, Recommender, check_k
from .item_cf import ItemCF

RANKERS = (None, "xgboost")
RANKER_TARGETS = ("last", "all")


def _spec(retriever) -> dict:
    if isinstance(retriever, dict):
        if set(retriever) != {"class", "params"} or retriever["class"] not in _REGISTRY:
            raise ValueError(f"a retriever given as a dict needs 'class' (a model name) and "
                             f"'params'; got {retriever!r}")
        return {"class": retriever["class"], "params": dict(retriever["params"])}
    if not isinstance(retriever, Recommender):
        raise TypeError(f"retrievers must be sessrec Recommenders, got {type(retriever).__name__}")
    return {"class": retriever.name, "params": dict(retriever.params)}


def _fresh(spec: dict) -> Recommender:
    try:
        return _REGISTRY[spec["class"]](**spec["params"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"cannot rebuild retriever {spec['class']!r} from its parameters "
                         f"{spec['params']!r}: {e}") from None


def _fit_retriever(model: Recommender, train: SessionSet, valid, progress: bool) -> Recommender:
    accepted = inspect.signature(model.fit).parameters
    kwargs = {"progress": progress} if "progress" in accepted else {}
    return model.fit(train, valid, **kwargs)


def _part(train: SessionSet, index: np.ndarray, role: str, targets: str,
          counts: Optional[np.ndarray] = None) -> SessionSet:
    store = train.sessions.subset(np.asarray(index, dtype=np.int64))
    return SessionSet(
        sessions=store, catalog=train.catalog, role=role,
        train_counts=store.item_counts(train.num_items) if counts is None else counts,
        targets=targets, max_history=train.max_history, dataset_name=train.dataset_name,
    )


class FusionRerank(Recommender):
    """Candidates from several retrievers, fused by product, reranked by XGBoost (see the
    module docstring for every stage and the Table 3 variants).

    ``retrievers``: sessrec Recommenders (unfitted is fine: ``fit`` trains them) or
    ``{"class": name, "params": {...}}`` dicts; ``top_m`` per retriever; ``keep`` candidates
    after fusion; ``quota`` each retriever's top items that keep a candidate place whatever
    their fused score (0: the paper's rule; see :mod:`sessrec.rerank.candidates`); ``ranker`` "xgboost" or None (product fusion); ``features`` "all" or
    "retriever"; ``scale``/``floor`` the positive mapping; ``folds`` and ``ranker_targets`` the
    out-of-fold ranker rows; ``objective``, ``num_rounds``, ``early_stopping_rounds``,
    ``learning_rate``, ``max_depth`` the XGBoost ranker; ``recent_share`` the hot features'
    recent window; ``pagerank_damping``, ``betweenness_exact_max_nodes``,
    ``betweenness_sample``, ``katz_attenuation`` the graph features
    (:mod:`sessrec.rerank.graph`); ``graph_itemcf`` the ItemCF parameters of the co-occurrence
    graph when no retriever is an ItemCF (otherwise the first ItemCF retriever's graph is used);
    ``refit_retrievers``; ``seed``; ``threads``.
    """

    name = "fusion_rerank"

    def __init__(
        self,
        retrievers: Sequence = (),
        top_m: int = 100,
        keep: int = 120,
        quota: int = 0,
        ranker: Optional[str] = "xgboost",
        features: str = "all",
        scale: str = "minmax",
        floor: float = 1e-3,
        folds: int = 5,
        ranker_targets: str = "last",
        objective: str = "rank:pairwise",
        num_rounds: int = 300,
        early_stopping_rounds: int = 20,
        learning_rate: float = 0.1,
        max_depth: int = 6,
        recent_share: float = 0.1,
        pagerank_damping: float = 0.85,
        betweenness_exact_max_nodes: int = 2000,
        betweenness_sample: int = 200,
        katz_attenuation: float = 0.5,
        graph_itemcf: Optional[dict] = None,
        refit_retrievers: bool = True,
        seed: int = 0,
        threads: Optional[int] = None,
    ):
        if isinstance(retrievers, (Recommender, dict)) or len(retrievers) == 0:
            raise ValueError("FusionRerank needs a non-empty list of retrievers")
        specs = [_spec(r) for r in retrievers]
        check_k(top_m, "top_m")
        check_k(keep, "keep")
        check_quota(quota, top_m, keep, len(specs))
        if ranker not in RANKERS:
            raise ValueError(f"ranker must be 'xgboost' or None (product fusion), got {ranker!r}")
        if features not in FEATURE_SETS:
            raise ValueError(f"features must be one of {FEATURE_SETS}, got {features!r}")
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        if not 0 < floor < 1:
            raise ValueError(f"floor must be in (0, 1), got {floor}")
        if ranker is not None and (check_k(folds, "folds") < 2):
            raise ValueError(f"folds must be at least 2, got {folds}")
        if ranker_targets not in RANKER_TARGETS:
            raise ValueError(f"ranker_targets must be 'last' or 'all', got {ranker_targets!r}")
        if not 0 < recent_share <= 1:
            raise ValueError(f"recent_share must be in (0, 1], got {recent_share}")
        super().__init__(
            retrievers=specs, top_m=top_m, keep=keep, quota=quota, ranker=ranker, features=features,
            scale=scale, floor=floor, folds=folds, ranker_targets=ranker_targets,
            objective=objective, num_rounds=num_rounds,
            early_stopping_rounds=early_stopping_rounds, learning_rate=learning_rate,
            max_depth=max_depth, recent_share=recent_share, pagerank_damping=pagerank_damping,
            betweenness_exact_max_nodes=betweenness_exact_max_nodes,
            betweenness_sample=betweenness_sample, katz_attenuation=katz_attenuation,
            graph_itemcf=graph_itemcf, refit_retrievers=refit_retrievers, seed=seed,
            threads=threads,
        )
        try:
            json.dumps(self.params)
        except TypeError as e:
            raise ValueError(f"FusionRerank's parameters, the retrievers' included, must be JSON "
                             f"values (they are saved with the model): {e}") from None
        given = [r for r in retrievers if isinstance(r, Recommender)]
        self.retrievers: list[Recommender] = given if len(given) == len(specs) else \
            [_fresh(s) for s in specs]
        labels = []
        for spec in specs:
            label, k = spec["class"], 2
            while label in labels:
                label, k = f"{spec['class']}_{k}", k + 1
            labels.append(label)
        self.retriever_labels = labels
        self.feature_names = feature_names(labels, features)
        self.item_table: Optional[ItemTable] = None
        self.booster = None
        self.best_iteration: Optional[int] = None
        self.timings_: Optional[pd.Series] = None

    # ------------------------------------------------------------------------------ fitting
    def fit(self, train: SessionSet, valid: Optional[SessionSet] = None,
            progress: Optional[bool] = None, rows: Optional[dict] = None) -> "FusionRerank":
        """Fit the retrievers on ``train`` (``valid`` goes to their ``fit``, for the neural
        models' early stopping), build the item table (hot and graph columns: only for the ranker
        with ``features="all"``), and, with a ranker, the out-of-fold rows and the ranker.
        ``rows``: ranker rows from :meth:`out_of_fold_rows` of a model with the same retrievers
        and candidate settings, reused instead of computed (their columns are picked by name, so
        rows built with ``features="all"`` serve ``features="retriever"`` too). ``timings_``
        holds the seconds of each stage; ``progress`` None follows ``sr.set_progress``."""
        if not isinstance(train, SessionSet):
            raise TypeError(f"fit() expects a SessionSet from Dataset.split, got {type(train)}")
        if train.sessions.num_events == 0:
            raise ValueError(f"{train.dataset_name}: the training part has no events")
        p = self.params
        progress = show_progress(progress)
        timings = {}
        start = time.perf_counter()
        if p["refit_retrievers"]:
            self.retrievers = [_fit_retriever(_fresh(s), train, valid, progress)
                               for s in p["retrievers"]]
        else:
            self._check_given_retrievers(train)
        timings["retrievers"] = time.perf_counter() - start
        if self._uses_item_table:
            start = time.perf_counter()
            self.item_table = self._item_table(train, self.retrievers)
            timings["item_features"] = time.perf_counter() - start
        self.catalog = train.catalog
        if p["ranker"] is not None:
            if rows is None:
                start = time.perf_counter()
                rows = self.out_of_fold_rows(train, valid, progress)
                timings["out_of_fold_rows"] = time.perf_counter() - start
            else:
                rows = self._select_columns(rows)
            start = time.perf_counter()
            self._fit_ranker(rows)
            timings["ranker"] = time.perf_counter() - start
        self.timings_ = pd.Series(timings, name="seconds")
        return self

    def _fit(self, train):  # fit() is overridden; kept for the base-class contract
        self.fit(train)

    def _check_given_retrievers(self, train: SessionSet) -> None:
        for i, r in enumerate(self.retrievers):
            if not r.is_fitted:
                raise ValueError(f"refit_retrievers=False, but retriever {i} "
                                 f"({self.retriever_labels[i]}) is not fitted")
            if r.catalog is not train.catalog and (
                    len(r.catalog) != train.num_items or r.catalog.ids() != train.catalog.ids()):
                raise ValueError(f"retriever {i} ({self.retriever_labels[i]}) was fitted on a "
                                 f"different catalogue ({len(r.catalog)} items; the training "
                                 f"part has {train.num_items})")

    @property
    def _uses_item_table(self) -> bool:
        """Only the ranker with all features reads the hot and graph columns."""
        return self.params["ranker"] is not None and self.params["features"] == "all"

    def _item_table(self, train: SessionSet, retrievers) -> ItemTable:
        """Hot and graph columns from ``train``; the graph is the first ItemCF retriever's, or
        an ItemCF(**graph_itemcf) fitted here."""
        p = self.params
        cf = next((r for r in retrievers if isinstance(r, ItemCF)), None)
        if cf is None:
            cf = ItemCF(**(p["graph_itemcf"] or {})).fit(train)
        state = cf._state()  # the Recommender state hook: ItemCF's neighbour lists
        graph = _core.CooccurrenceGraph.from_neighbours(
            train.num_items, state["offsets"], state["indices"], state["similarities"])
        return ItemTable.build(
            train, graph, recent_share=p["recent_share"], pagerank_damping=p["pagerank_damping"],
            betweenness_exact_max_nodes=p["betweenness_exact_max_nodes"],
            betweenness_sample=p["betweenness_sample"], katz_attenuation=p["katz_attenuation"],
            seed=p["seed"])

    def _candidates(self, retrievers, items, begin, end, with_full=False, progress=False,
                    desc="candidates"):
        p = self.params
        return retrieve_candidates(retrievers, items, begin, end, p["top_m"], p["keep"],
                                   p["scale"], p["floor"], with_full=with_full,
                                   quota=p.get("quota", 0), progress=progress, desc=desc)

    def out_of_fold_rows(self, train: SessionSet, valid: Optional[SessionSet] = None,
                         progress: bool = False) -> dict:
        """The ranker's rows: for each fold, retrievers fitted on the other folds give the
        fold's sessions their candidates and features. Returns a dict with ``features``
        (float32 [rows, features]), ``feature_names``, ``label`` (1 for the target), ``group``
        (rows per example), ``fold`` (per example), ``candidates`` (item per row), ``targets``
        and ``histories`` (per example, as item index arrays), keeping only examples whose
        target is a candidate. :func:`shared_out_of_fold_rows` builds the rows of several
        models (other candidate settings, other features) from one set of fold fits."""
        return shared_out_of_fold_rows([self], train, valid, progress)[0]

    def _fold_rows(self, retrievers, fit_part, held, fold: int, folds: int, progress: bool,
                   tables: dict) -> Optional[dict]:
        """One fold's rows for this model from retrievers fitted on ``fit_part``; ``tables``
        caches item tables by their parameters across the models of one fold."""
        p = self.params
        table = None
        if self._uses_item_table:
            key = json.dumps({k: p.get(k) for k in _TABLE_PARAMS})
            if key not in tables:
                tables[key] = self._item_table(fit_part, retrievers)
            table = tables[key]
        ex = held.examples()
        if len(ex) == 0:
            return None
        items = np.asarray(held.sessions.items)
        begin, end = np.asarray(ex.begin), np.asarray(ex.end)
        cands = self._candidates(retrievers, items, begin, end, progress=progress,
                                 desc=f"candidates fold {fold + 1}/{folds}")
        targets = items[end]
        hit = cands.items == targets[:, None]
        useful = hit.any(axis=1)
        features = candidate_features(cands, items, begin, end, table,
                                      self.retriever_labels, p["features"])
        slots = (cands.valid & useful[:, None]).ravel()
        return {
            "features": features[slots],
            "label": hit.ravel()[slots].astype(np.float32),
            "group": cands.valid[useful].sum(axis=1),
            "fold": np.full(int(useful.sum()), fold),
            "candidates": cands.items.ravel()[slots],
            "targets": targets[useful],
            "histories": [items[b:e] for b, e in zip(begin[useful], end[useful])],
        }

    def _select_columns(self, rows: dict) -> dict:
        """``rows`` with the feature columns of this model, in its order."""
        names = list(rows.get("feature_names", ()))
        missing = [n for n in self.feature_names if n not in names]
        if missing:
            raise ValueError(f"the given ranker rows lack the features {missing[:4]}; build them "
                             f"with out_of_fold_rows of a model with the same retrievers and "
                             f"features='all'")
        picked = dict(rows)
        picked["features"] = rows["features"][:, [names.index(n) for n in self.feature_names]]
        picked["feature_names"] = list(self.feature_names)
        return picked

    def _fit_ranker(self, rows: dict) -> None:
        import xgboost as xgb

        p = self.params
        folds_present = np.unique(rows["fold"])
        valid_fold = folds_present[-1] if len(folds_present) > 1 else None
        row_fold = np.repeat(rows["fold"], rows["group"])

        def matrix(fold_mask_rows, fold_mask_groups):
            d = xgb.DMatrix(rows["features"][fold_mask_rows], label=rows["label"][fold_mask_rows],
                            feature_names=self.feature_names, missing=np.nan)
            d.set_group(rows["group"][fold_mask_groups])
            return d

        is_valid = row_fold == valid_fold
        train_matrix = matrix(~is_valid, rows["fold"] != valid_fold)
        evals = []
        if valid_fold is not None:
            evals = [(matrix(is_valid, rows["fold"] == valid_fold), "valid")]
        params = {
            "objective": p["objective"], "eta": p["learning_rate"], "max_depth": p["max_depth"],
            "eval_metric": "map@100", "seed": p["seed"],
            "nthread": int(p["threads"] or _core.get_num_threads()),
        }
        self.booster = xgb.train(
            params, train_matrix, num_boost_round=p["num_rounds"], evals=evals,
            early_stopping_rounds=p["early_stopping_rounds"] if evals else None,
            verbose_eval=False)
        self.best_iteration = int(getattr(self.booster, "best_iteration", p["num_rounds"] - 1)
                                  if evals else p["num_rounds"] - 1)

    # ---------------------------------------------------------------------------- scoring
    def _final_order(self, cands, items, begin, end) -> np.ndarray:
        """Slot order per history, best first: the ranker's (fused order without one)."""
        n, keep = cands.items.shape
        if self.booster is None or n == 0:
            return np.broadcast_to(np.arange(keep), (n, keep))
        import xgboost as xgb

        features = candidate_features(cands, items, begin, end, self.item_table,
                                      self.retriever_labels, self.params["features"])
        valid = cands.valid.ravel()
        predicted = np.full(n * keep, -np.inf, dtype=np.float32)
        if valid.any():
            d = xgb.DMatrix(features[valid], feature_names=self.feature_names, missing=np.nan)
            predicted[valid] = self.booster.predict(
                d, iteration_range=(0, self.best_iteration + 1))
        # Slots are in fused order (ties by item index): a stable sort keeps both tie-breaks.
        return np.argsort(-predicted.reshape(n, keep), axis=1, kind="stable")

    def _score_arrays(self, items, begin, end) -> np.ndarray:
        items, begin, end = (np.asarray(items, dtype=np.int32), np.asarray(begin, np.int64),
                             np.asarray(end, np.int64))
        cands = self._candidates(self.retrievers, items, begin, end, with_full=True)
        out = cands.full_fused
        keep = cands.items.shape[1]
        order = self._final_order(cands, items, begin, end)
        ordered = np.take_along_axis(cands.items, order, axis=1)
        rows, position = np.nonzero(ordered >= 0)
        out[rows, ordered[rows, position]] = (1.0 + (keep - position) / keep).astype(np.float32)
        return out

    def candidates(self, sessions: Sequence[Sequence[int]]) -> pd.DataFrame:
        """The final candidate list of each session (item indices), best first: session,
        position, item, fused score and (with a ranker) the ranker's order."""
        from .base import histories_to_arrays

        self._require_fitted()
        items, begin, end = histories_to_arrays(sessions, self.num_items)
        scores = self._score_arrays(items, begin, end)
        top, top_scores = _core.top_k_from_scores(scores, min(self.params["keep"],
                                                              self.num_items))
        keep = top_scores > 1.0  # candidates score in (1, 2]
        rows, position = np.nonzero(keep)
        return pd.DataFrame({"session": rows, "position": position, "item": top[keep],
                             "score": top_scores[keep]})

    # ------------------------------------------------------------------------ inspection
    def feature_importances(self, kind: str = "gain") -> pd.Series:
        """The ranker's feature importances (XGBoost ``get_score(importance_type=kind)``: gain,
        weight, cover, total_gain, total_cover) over every feature (0 if unused), largest
        first."""
        if self.booster is None:
            raise ValueError("no ranker: fit with ranker='xgboost' first (product fusion has no "
                             "feature importances)")
        scores = self.booster.get_score(importance_type=kind)
        series = pd.Series({name: float(scores.get(name, 0.0)) for name in self.feature_names},
                           name=f"importance ({kind})")
        return series.sort_values(ascending=False)

    @property
    def feature_importances_(self) -> pd.Series:
        return self.feature_importances("gain")

    # ---------------------------------------------------------------------------- save/load
    def _state(self):
        """``retriever{i}/``: each retriever's state (the base class's save hook); ``items/``:
        the item table (hot and graph columns, the co-occurrence graph; with ``features="all"``
        only); ``ranker/``: the
        XGBoost model (JSON bytes) and its best iteration."""
        arrays = {}
        for i, r in enumerate(self.retrievers):
            arrays.update({f"retriever{i}/{k}": v for k, v in r._state().items()})
        if self.item_table is not None:
            arrays.update({f"items/{k}": v for k, v in self.item_table.arrays().items()})
        if self.booster is not None:
            raw = self.booster.save_raw(raw_format="json")
            arrays["ranker/model"] = np.frombuffer(bytes(raw), dtype=np.uint8).copy()
            arrays["ranker/best_iteration"] = np.array([self.best_iteration], dtype=np.int64)
        return arrays

    def _set_state(self, arrays):
        self.retrievers = []
        for i, spec in enumerate(self.params["retrievers"]):
            prefix = f"retriever{i}/"
            part = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            if not part:
                raise KeyError(f"'{prefix}' (retriever {i}, {spec['class']})")
            r = _fresh(spec)
            r.catalog = self.catalog
            r._set_state(part)  # the Recommender load hook, as sessrec.load does
            self.retrievers.append(r)
        if self._uses_item_table:
            self.item_table = ItemTable.from_arrays(
                {k[6:]: v for k, v in arrays.items() if k.startswith("items/")},
                len(self.catalog))
        if self.params["ranker"] is not None:
            import xgboost as xgb

            self.booster = xgb.Booster()
            self.booster.load_model(bytearray(arrays["ranker/model"].tobytes()))
            self.best_iteration = int(arrays["ranker/best_iteration"][0])


# The parameters that define the item table (hot and graph columns).
_TABLE_PARAMS = ("graph_itemcf", "recent_share", "pagerank_damping",
                 "betweenness_exact_max_nodes", "betweenness_sample", "katz_attenuation", "seed")
# The parameters that define the folds and what is fitted in them: models that share rows
# must agree on these.
_FOLD_PARAMS = ("retrievers", "folds", "seed", "ranker_targets")


def shared_out_of_fold_rows(models: Sequence[FusionRerank], train: SessionSet,
                            valid: Optional[SessionSet] = None,
                            progress: bool = False) -> list:
    """:meth:`FusionRerank.out_of_fold_rows` of each of ``models`` from one fit of the
    retrievers per fold: the models must have the same retrievers, ``folds``, ``seed`` and
    ``ranker_targets``; they may differ in candidate settings (``top_m``, ``keep``, ``quota``,
    ``scale``, ``floor``) and ``features``. Returns one rows dict per model, in order (pass each
    to its model's ``fit(rows=...)``)."""
    from tqdm.auto import tqdm

    models = list(models)
    if not models or not all(isinstance(m, FusionRerank) for m in models):
        raise TypeError("shared_out_of_fold_rows needs a non-empty list of FusionRerank models")
    first = models[0].params
    for i, m in enumerate(models[1:], 1):
        differ = [k for k in _FOLD_PARAMS if m.params[k] != first[k]]
        if differ:
            raise ValueError(f"model {i} differs from model 0 in {differ}: models that share "
                             f"out-of-fold rows must fit the same retrievers on the same folds")
    n = train.sessions.num_sessions
    folds = first["folds"]
    if n < folds:
        raise ValueError(f"{n} training sessions are too few for {folds} folds")
    fold_of = np.random.default_rng(first["seed"]).permutation(n) % folds
    parts = [[] for _ in models]
    for f in tqdm(range(folds), desc="fusion_rerank folds", disable=not progress, leave=False):
        fit_part = _part(train, np.flatnonzero(fold_of != f), "train", "all")
        held = _part(train, np.flatnonzero(fold_of == f), "valid", first["ranker_targets"],
                     counts=fit_part.train_counts)
        retrievers = [_fit_retriever(_fresh(s), fit_part, valid, False)
                      for s in first["retrievers"]]
        tables: dict = {}
        for m, out in zip(models, parts):
            rows = m._fold_rows(retrievers, fit_part, held, f, folds, progress, tables)
            if rows is not None:
                out.append(rows)
    result = []
    for m, model_parts in zip(models, parts):
        if not model_parts or sum(len(part["group"]) for part in model_parts) == 0:
            raise ValueError("no held-out session has its target among the candidates; "
                             "raise top_m or check the retrievers")
        out = {key: np.concatenate([part[key] for part in model_parts])
               for key in ("features", "label", "group", "fold", "candidates", "targets")}
        out["histories"] = [h for part in model_parts for h in part["histories"]]
        out["feature_names"] = list(m.feature_names)
        result.append(out)
    return result
