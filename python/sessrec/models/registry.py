"""Model names: one registry used by the command line, experiment files, Python and tables.

A name is looked up without regard to case, "-" or "_" ("V-SKNN", "vsknn" and "VSKNN" are the
same model); :func:`canonical_name` gives the spelling used in tables and run folders.
"""

from __future__ import annotations

import functools
import inspect

from .alterrec import AlterRec
from .base import Recommender
from .fusion_rerank import FusionRerank
from .item_cf import ItemCF
from .lang_emb import LangEmb
from .macl import MACL
from .popularity import POP
from .sequence_models import GRU4Rec, MeanPool, NFRec, SASRec, TextOnly
from .session_knn import SessionKNN
from .side_info_gru import SideInfoGRU
from .text_contrastive import TextContrastive

# name -> (factory, one line of description)
MODELS = {
    "pop": (POP, "training popularity"),
    "itemcf": (ItemCF, "KDD Cup 2023 5th-place ItemCF"),
    "vsknn": (SessionKNN, "V-SKNN session kNN (session-rec)"),
    "gru4rec": (GRU4Rec, "GRU4Rec"),
    "sasrec": (SASRec, "SASRec"),
    "meanpool": (MeanPool, "mean of item embeddings (+ linear)"),
    "side_info_gru": (SideInfoGRU, "GRU over ID and side-field embeddings (KDD Cup 2023)"),
    "textonly": (TextOnly, "items by their text alone (SASRec encoder by default)"),
    "nfrec-sum": (functools.partial(NFRec, "sum"), "NFRec: ID + text embeddings summed"),
    "nfrec-concat": (functools.partial(NFRec, "concat"), "NFRec: ID + text concatenated"),
    "alterrec": (AlterRec, "AlterRec: ID and text networks trained in turn"),
    "textcontrastive": (TextContrastive, "contrastive text encoder, cosine scoring"),
    "langemb": (LangEmb, "KDD Cup 2023 language embedding (ArcCon)"),
    "fusion_rerank": (FusionRerank, "KDD Cup 2023 fusion and XGBoost rerank"),
    "macl": (MACL, "MACL: multi-modal items, augmentation, adaptive contrastive loss"),
}


def _key(name: str) -> str:
    return str(name).lower().replace("-", "").replace("_", "")


_BY_KEY = {_key(name): name for name in MODELS}


def model_names() -> list[str]:
    return list(MODELS)


def canonical_name(name: str) -> str:
    """The registry's spelling of ``name``; ValueError listing the names for an unknown one."""
    try:
        return _BY_KEY[_key(name)]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None


def is_model_name(name: str) -> bool:
    return _key(name) in _BY_KEY


def create(name: str, **params) -> Recommender:
    """An unfitted model by registry name: ``create("sasrec", dim=32)``. A parameter the model
    does not take is a ValueError naming the model and the parameter."""
    canonical = canonical_name(name)
    try:
        model = MODELS[canonical][0](**params)
    except TypeError as e:
        raise ValueError(f"bad parameter for {canonical}: {e}") from None
    # Constructors with **kwargs (the neural models' architecture options) would keep a
    # misspelt name silently; the parameters of a default model are the known ones.
    try:
        known = type(model)().get_params()
    except (TypeError, ValueError):
        return model  # a model without defaults (FusionRerank) checks its own parameters
    factory_args = {n for n, a in inspect.signature(MODELS[canonical][0]).parameters.items()
                    if a.kind not in (a.VAR_KEYWORD, a.VAR_POSITIONAL)}
    unknown = sorted(set(params) - set(known) - factory_args)
    if unknown:
        raise ValueError(f"bad parameter for {canonical}: unknown parameter {unknown[0]!r}")
    return model
