"""MACL (Zhang et al., 2025, "Rethinking Contrastive Learning in Session-based Recommendation"):
multi-modal items, semantics-preserving augmentation and the adaptive contrastive loss, over a
SASRec encoder. The network, its losses and augmentations are C++
(``cpp/sessrec/models/macl.h``); this class adds the parameters, the item inputs
(:mod:`.macl_inputs`) and the neural model's training, scoring and checkpoints."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .. import _core
from . import macl_inputs
from .neural import NeuralRecommender
from .training import fit_epochs

TEXT_SOURCES = ("subword", "lsa", "matrix", "none")


class MACL(NeuralRecommender):
    """MACL: each item is its ID embedding plus its gated image and text embeddings, "e_i =
    e^{id}_i + g_1 \\odot e^{img}_i + g_2 \\odot e^{txt}_i" (Sec. 4.1.1), a SASRec encoder over
    the session, and joint training of the recommendation cross-entropy with an item-level and a
    session-level contrastive task, "applying the same technique to all items in a session
    creates an augmented session view", weighted by the adaptive contrastive loss ("a weight
    \\alpha_i is assigned to each signal set to highlight informative signals while downplaying
    uninformative ones", Sec. 4.3).

    Modalities (``modalities``, default: the ones given - image when ``image`` is, text unless
    ``text="none"``; name one alone for the "w/o image" / "w/o text" ablations):

    - ``image``: a matrix [items, F] (NumPy, or an HDF5 path with ``image_dataset``), rows in
      catalogue order, or aligned by ``image_ids``; items without a row, or flagged False in
      ``image_mask``, lack an image - masked in the fusion, not zero-filled into the gate.
      Images arrive as vectors (from a CNN run elsewhere; the paper uses GoogLeNet), each
      projected by a linear layer.
    - ``text``: "subword" (default: the catalogue's sentencepiece tokens with learned token
      embeddings, averaged and projected; token augmentations apply), "lsa" (the library's
      frozen LSA vectors), a matrix or HDF5 path (e.g. BERT vectors computed elsewhere, as the
      paper), or "none". Frozen text vectors have no tokens to edit, so their views are the
      feature views (noise, dropout).

    Contrastive training: ``item_weight`` and ``session_weight`` (the two tasks' lambdas),
    ``cl_negatives`` (M random negatives per signal set), ``cl_temperature``, ``weighting``
    ("adaptive": the MLP of ``weight_hidden`` units; "equal": the plain contrastive loss of the
    paper's ablation) and ``augmentation`` ("semantic": MACL's multi-modal views; "id":
    MACL-com, crop / mask / reorder of the item IDs, ``crop_ratio``, ``mask_ratio``,
    ``reorder_ratio``, with no item-level task). Semantic views: ``image_ops`` from "noise"
    (``noise_std`` times the row's RMS), "dropout" (``feature_dropout``) and "mix" (with another
    item of the same ``categories`` field, ``mix_ratio``) - feature-level stand-ins for the
    paper's flip and blur; ``text_ops`` from "delete", "substitute", "insert" (substitutes from
    each token's ``neighbours`` most co-occurring catalogue tokens, ``token_rate`` of the tokens
    edited) and "swap" (left out by default: the averaged token embeddings do not see order, so
    a swap would leave the view equal to the item). ``max_item_sets`` caps the item-level sets
    per step.

    Values the paper does not give are ours: lambdas 0.1, M 64, tau 0.2, the MLP's inputs and
    normalisation (``cpp/sessrec/loss/adaptive_info_nce.h``). Encoder and training parameters
    are SASRec's and :class:`NeuralRecommender`'s; logits use ``temperature`` (default 1: the
    fused table has no LayerNorm).
    """

    name = "macl"

    def __init__(
        self,
        image=None,
        image_ids: Optional[Sequence] = None,
        image_mask=None,
        image_dataset: str = "features",
        text="subword",
        text_ids: Optional[Sequence] = None,
        text_mask=None,
        text_dataset: str = "features",
        modalities: Optional[Sequence[str]] = None,
        categories: Optional[str] = None,
        item_weight: float = 0.1,
        session_weight: float = 0.1,
        cl_negatives: int = 64,
        cl_temperature: float = 0.2,
        weighting: str = "adaptive",
        weight_hidden: int = 32,
        augmentation: str = "semantic",
        max_item_sets: int = 256,
        image_ops: Sequence[str] = ("noise", "dropout", "mix"),
        text_ops: Sequence[str] = ("delete", "substitute", "insert"),
        id_ops: Sequence[str] = ("crop", "mask", "reorder"),
        noise_std: float = 0.1,
        feature_dropout: float = 0.2,
        mix_ratio: float = 0.2,
        token_rate: float = 0.2,
        neighbours: int = 5,
        crop_ratio: float = 0.6,
        mask_ratio: float = 0.3,
        reorder_ratio: float = 0.6,
        layers: int = 2,
        heads: int = 2,
        ffn_dim: int = 256,
        post_ln: bool = True,
        gelu: bool = True,
        **kwargs,
    ):
        # Matrices and masks are model state (saved under macl/), not JSON parameters.
        self._image = self._text = None
        self._image_mask = None if image_mask is None else np.asarray(image_mask)
        self._text_mask = None if text_mask is None else np.asarray(text_mask)
        if image is None or (isinstance(image, str) and image == "matrix"):
            image_param = image
        else:
            self._image = macl_inputs.check_matrix("image", image, image_dataset)
            image_param = "matrix"
        if isinstance(text, str) and text in TEXT_SOURCES:
            text_param = text
        else:
            self._text = macl_inputs.check_matrix("text", text, text_dataset)
            text_param = "matrix"
        if modalities is None:  # the ones given
            modalities = (["image"] if image_param is not None else []) + (
                ["text"] if text_param != "none" else [])
        modalities = [str(m) for m in modalities]
        unknown = [m for m in modalities if m not in ("image", "text")]
        if unknown or not modalities:
            raise ValueError(f"modalities must be a non-empty subset of ('image', 'text'), got "
                             f"{modalities}")
        if weighting not in ("adaptive", "equal"):
            raise ValueError(f"weighting must be 'adaptive' or 'equal', got {weighting!r}")
        if augmentation not in ("semantic", "id"):
            raise ValueError(f"augmentation must be 'semantic' or 'id', got {augmentation!r}")
        for name, value in (("item_weight", item_weight), ("session_weight", session_weight)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if kwargs.get("items", "id") != "id":
            raise ValueError("MACL builds its own items (ID + gated image and text); items= "
                             "must stay 'id'")
        kwargs["items"] = "id"
        super().__init__(
            text="lsa" if text_param in ("none", "matrix") else text_param,
            layers=layers, heads=heads, ffn_dim=ffn_dim, post_ln=post_ln, gelu=gelu,
            image=image_param, image_ids=None if image_ids is None else [str(i) for i in image_ids],
            image_dataset=image_dataset, text_ids=None if text_ids is None else
            [str(i) for i in text_ids], text_dataset=text_dataset, modalities=modalities,
            categories=categories, item_weight=float(item_weight),
            session_weight=float(session_weight), cl_negatives=int(cl_negatives),
            cl_temperature=float(cl_temperature), weighting=weighting,
            weight_hidden=int(weight_hidden), augmentation=augmentation,
            max_item_sets=int(max_item_sets), image_ops=list(image_ops), text_ops=list(text_ops),
            id_ops=list(id_ops), noise_std=float(noise_std),
            feature_dropout=float(feature_dropout), mix_ratio=float(mix_ratio),
            token_rate=float(token_rate), neighbours=int(neighbours),
            crop_ratio=float(crop_ratio), mask_ratio=float(mask_ratio),
            reorder_ratio=float(reorder_ratio), **kwargs,
        )
        self.params["text"] = text_param
        self._inputs: Optional[dict] = None

    @property
    def temperature(self) -> float:
        """The logit divisor: the ``temperature`` parameter, default 1 (the fused rows are not
        LayerNorm'd)."""
        t = self.params["temperature"]
        return 1.0 if t is None else float(t)

    def _build_core(self, num_items: int):
        if self._inputs is None:
            self._inputs = macl_inputs.modality_inputs(
                self.catalog, self.params, self._image, self._text, self._image_mask,
                self._text_mask)
        p = self.params
        return _core.MACL(
            num_items, dim=p["dim"], layers=p["layers"], heads=p["heads"], ffn_dim=p["ffn_dim"],
            post_ln=p["post_ln"], gelu=p["gelu"], max_len=p["max_len"], dropout=p["dropout"],
            seed=p["seed"], loss=p["loss"], num_negatives=p["num_negatives"],
            sampler=p["sampler"], temperature=self.temperature,
            macl=macl_inputs.core_settings(p, self._inputs),
        )

    def fit(self, train, valid=None, epochs: Optional[int] = None, progress: bool = True,
            checkpoint: Optional[str] = None) -> "MACL":
        """As :meth:`NeuralRecommender.fit`; each row of ``history_`` also has the epoch's mean
        ``ce``, ``item_loss`` and ``session_loss`` per step and the range of the adaptive
        weights (``alpha_min``, ``alpha_max``; both 1 with equal weights)."""
        run = self.start_training(train)
        n_epochs = self.params["epochs"] if epochs is None else epochs

        def run_epoch():
            self._core.take_loss_totals()
            row = run.run_epoch(progress)
            totals = self._core.take_loss_totals()
            row.update({k: totals[k] for k in ("ce", "item_loss", "session_loss", "alpha_min",
                                               "alpha_max")})
            return row

        fit_epochs(self, valid, n_epochs, checkpoint, run_epoch, self._core.get_parameters,
                   self._core.set_parameters)
        return self

    def state_arrays(self) -> dict:
        arrays = super().state_arrays()
        arrays.update({f"macl/{k}": v for k, v in (self._inputs or {}).items()})
        return arrays

    def load_state_arrays(self, arrays: dict) -> None:
        self._inputs = {k[5:]: v for k, v in arrays.items() if k.startswith("macl/")}
        super().load_state_arrays(arrays)
