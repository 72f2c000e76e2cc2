"""Recommenders. Every model subclasses :class:`Recommender`."""

from .base import Recommender, load
from .item_cf import ItemCF
from .neural import GRU4Rec, MeanPool, NeuralRecommender, SASRec
from .popularity import POP
from .session_knn import SessionKNN

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
    "SASRec",
    "MeanPool",
]
