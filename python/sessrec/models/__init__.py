"""Recommenders. Every model subclasses :class:`Recommender`."""

from .alterrec import AlterRec
from .base import Recommender, ScorerView, load
from .fusion_rerank import FusionRerank
from .item_cf import ItemCF
from .lang_emb import LangEmb
from .macl import MACL
from .neural import NeuralRecommender
from .sequence_models import GRU4Rec, MeanPool, NFRec, SASRec, TextOnly
from .popularity import POP
from .registry import MODELS, canonical_name, create, model_names
from .session_knn import SessionKNN
from .side_info_gru import SideInfoGRU
from .text_contrastive import TextContrastive
from .ubm import UBM

VSKNN = SessionKNN

__all__ = [
    "Recommender",
    "load",
    "POP",
    "ItemCF",
    "SessionKNN",
    "VSKNN",
    "NeuralRecommender",
    "GRU4Rec",
    "SideInfoGRU",
    "SASRec",
    "MeanPool",
    "TextOnly",
    "NFRec",
    "AlterRec",
    "TextContrastive",
    "LangEmb",
    "ScorerView",
    "FusionRerank",
    "UBM",
    "MACL",
    "MODELS",
    "create",
    "model_names",
    "canonical_name",
]
