"""The session encoders (GRU4Rec, SASRec, MeanPool and g_mean) and the text models built on them
(TextOnly, NFRec). Each encoder only adds its architecture parameters to
:class:`NeuralRecommender` and builds its C++ core."""

from __future__ import annotations

from .. import _core
from .neural import NeuralRecommender


class GRU4Rec(NeuralRecommender):
    """GRU4Rec (RecBole's form): embedding, dropout, a GRU of ``hidden`` units and a dense layer
    back to ``dim``; full-softmax cross-entropy against the tied item embeddings."""

    name = "gru4rec"

    # On online_retail, lr 1e-3 leaves the GRU on the popularity plateau for many epochs;
    # 1e-2 does not (validation NDCG@20 0.21 after 6 epochs against 0.07 at 3e-3).
    def __init__(self, hidden: int = 64, lr: float = 1e-2, **kwargs):
        super().__init__(hidden=hidden, lr=lr, **kwargs)

    def _build_core(self, num_items):
        return _core.GRU4Rec(num_items, hidden=self.params["hidden"], **self._core_arguments())


class SASRec(NeuralRecommender):
    """SASRec: item and learned position embeddings, ``layers`` causal transformer blocks with
    ``heads`` heads and an FFN of ``ffn_dim`` (GELU), post-LN as RecBole (``post_ln=False``
    gives pre-LN); the last position is the session vector, scored against tied embeddings."""

    name = "sasrec"

    def __init__(self, layers: int = 2, heads: int = 2, ffn_dim: int = 256,
                 post_ln: bool = True, gelu: bool = True, **kwargs):
        super().__init__(layers=layers, heads=heads, ffn_dim=ffn_dim, post_ln=post_ln,
                         gelu=gelu, **kwargs)

    def _build_core(self, num_items):
        p = self.params
        return _core.SASRec(num_items, layers=p["layers"], heads=p["heads"],
                            ffn_dim=p["ffn_dim"], post_ln=p["post_ln"], gelu=p["gelu"],
                            **self._core_arguments())


class MeanPool(NeuralRecommender):
    """Mean of the item embeddings so far: an order-blind baseline. ``linear=True`` maps the
    mean through a linear layer; ``linear=False`` is the plain mean, g_mean of the AlterRec paper
    (Eq. 2, "the mean of the item embeddings within the session"), scored against the same
    table."""

    name = "meanpool"

    def __init__(self, linear: bool = True, **kwargs):
        if not isinstance(linear, bool):
            raise ValueError(f"linear must be True or False, got {linear!r}")
        super().__init__(linear=linear, **kwargs)

    def _build_core(self, num_items):
        return _core.MeanPool(num_items, linear=self.params["linear"], **self._core_arguments())


def g_mean(**kwargs) -> MeanPool:
    """The plain mean of the item embeddings (the AlterRec paper's g_mean, Eq. 2): MeanPool with
    ``linear=False``."""
    return MeanPool(linear=False, **kwargs)


# Session encoders by name: "mean" is the plain mean (g_mean), "meanpool" the mean + linear.
ENCODERS = {"sasrec": SASRec, "gru4rec": GRU4Rec, "meanpool": MeanPool, "mean": g_mean}


def _encoder(encoder: str):
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {sorted(ENCODERS)}, got {encoder!r}")
    return ENCODERS[encoder]


def TextOnly(encoder: str = "sasrec", **kwargs) -> NeuralRecommender:
    """The text-only session model: items are represented by their text alone (an MLP over
    frozen features, ``text="lsa"`` or a matrix, or the subword encoder, ``text="subword"``), fed
    to the chosen session encoder ("sasrec", "gru4rec", "meanpool", "mean"). Returns that
    encoder's model with ``items="text"``; it recommends items never seen in training from their
    text."""
    return _encoder(encoder)(items="text", **kwargs)


def NFRec(fusion: str = "sum", encoder: str = "sasrec", **kwargs) -> NeuralRecommender:
    """NFRec naive fusion (AlterRec, appendix A): each item is its ID embedding and its text
    embedding fused by ``fusion`` "sum" or "concat" (then a linear map back to ``dim``), trained
    with one loss. ``model.part("id")`` / ``model.part("text")`` give the decomposed scores.
    The paper's NFRec pools with g_mean (appendix A: "we apply the mean function based on the
    fused item embedding to get the session embedding"): ``encoder="mean"``, with
    ``tower_norm=False`` for its plain tables; the default encoder is SASRec."""
    if fusion not in ("sum", "concat"):
        raise ValueError(f"fusion must be 'sum' or 'concat', got {fusion!r}")
    return _encoder(encoder)(items=fusion, **kwargs)
