"""UBM, the User Behavior Model (Li et al., "Contrastive Pre-training for Deep Session Data
Understanding"): a two-level transformer over sessions of interactions and its two contrastive
pre-training stages, trained by the C++ core (cpp/sessrec/models/ubm.h, one call per step).

The paper, quoted (§3.1.2, §3.1.3):

    "the embedding of the '[CLS]' token is taken as the *interaction's* embedding b'_i"
    "we add the each vector in [b'_1, b'_2, ..., b'_l] with its corresponding sinusoidal
    positional embeddings before feeding them into the Transformer. Then, the output embeddings
    [o'_1, o'_2, ..., o'_l] [...] are then averaged to generate the final session
    representation h'."

(§3.2.1) "The item-next_item pair is collected from the pre-training session dataset, and they
automatically form a positive pair p and p^{++} in a batch with batch size set to N. The 2N
items in the N item-next_item pairs are applied with *Item Token Masking* to obtain p^+."
(§3.2.2) "each session sample s is prepared with two augmented sessions s^+ and s^{++}. The two
augmentation strategies applied are *Behavior Reordering* [...] and *Action and Item Token
Masking* [...] respectively."
(§4.2.1) "the effective batch size is set to 512 and 128 for stage 1 and stage 2 respectively
[...] the dropout rate is set to 10%. [...] the first 10% steps are for warm-up and the peak
value is 3e-5 followed by a linear decrease till 0. The temperature hyper-parameter is set to
0.05. As for both Interaction Encoder and Session Encoder, each transformer block is with 4
layers and the hidden size is set to 256."

Where the paper is silent or ambiguous, and what sessrec does:

- Eq. 1 and Eq. 3/4 as printed pair every anchor with its "++" view (Eq. 3 and 4 are identical).
  Read with the text: l1 pairs each of the 2N interactions with its masked copy (b', b'^+),
  l2 each interaction with the next one (b'_k, b'^{++}_k), l3 each session with its reordered
  copy (h', h'^+) and l4 with its masked copy (h', h'^{++}).
- The printed denominators sum over j != i, the positive left out. ``denominator="all"`` (the
  default) is the standard InfoNCE of SimCSE [12], which the paper builds on, with the positive
  in the denominator (loss/contrastive.h); ``denominator="negatives"`` is the equations as
  printed (loss/decoupled_info_nce.h). Either way the mean over the batch, not the sum (the sum
  only rescales the gradient).
- §3.3.2: "BERT masked 15% of the sentence tokens [...] 10% of them are replaced with '[MASK]'
  tokens, 5% are replaced with random tokens, and 5% are kept unchanged." The shares add to 20%;
  sessrec selects ``mask_rate`` = 15% of the maskable tokens and splits them 10:5:5, i.e.
  ``replace_mask`` 0.5, ``replace_random`` 0.25, a quarter kept. Never masked: [CLS], [SEP],
  [MASK] and the field markers ([TITLE], [CATEGORY], attribute tokens); the action tokens are
  kept in stage 1 ("item token masking" of "the word tokens") and masked in stage 2 ("applied
  on both special action tokens and item (or search query) text tokens"). A random replacement
  is any other maskable token.
- Stage 1's "items" are the interactions as the encoder reads them downstream ([CLS], action
  token, item text or query); a pair is two consecutive interactions of one session.
- Behaviour reordering exchanges two distinct interactions chosen uniformly (sessions of one
  interaction stay as they are); the session encoder has no embedding LayerNorm or dropout of
  its own before its transformer (the paper adds the positions and feeds the transformer).
- Stage 1 trains the interaction encoder alone (the session encoder's parameters are frozen for
  its steps). Each stage has its own Adam (moments zeroed when the stage starts) and its own
  schedule: ``warmup`` of the stage's steps, then linear decay to 0 over
  ``stage<k>_epochs`` epochs.
- Memory: a step keeps every activation of every view, about 100 KB per token at hidden 256
  with 4 + 4 layers (some 21 x 256 floats per token per block, from the buffers of
  nn/transformer.h; an estimate, not a measurement). The paper's stage-2 batch of 128 full
  sessions (3 views x 32 interactions x 64 tokens) would take some 80 GB, its stage-1 batch of
  512 pairs (4 views x 64 tokens) some 13 GB: on a small machine use smaller batches.
- The interaction encoder is post-LN (BERT) with learned token positions, trained from scratch
  (the paper starts from a pre-trained BERT-mini; ``set_parameters`` or an HDF5 import can load
  one). The feed-forward width is 4 x hidden as in BERT.

Determinism: the epoch order is a permutation seeded by (seed, stage, epoch), and masks, swaps
and dropout are hashes of (seed, step); checkpoints hold the weights, Adam's moments and the
counters, so a resumed run continues exactly as one uninterrupted run.
"""

from __future__ import annotations

import json
import math
import time
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import Dataset, SessionSet
from ..io import read_checked
from ..progress import show_progress
from ..text_interactions import ACTION_TOKENS, InteractionTokenizer, InteractionTokens
from .training_log import TrainingDiverged

FORMAT = "sessrec-ubm"
FORMAT_VERSION = "1"
LOSS_NAMES = ("l1", "l2", "l3", "l4")


class UBM:
    """UBM's two-level encoder (see the module docstring) and :meth:`pretrain` for its two
    stages.

    Sizes: ``dim`` (256), ``layers`` (interaction encoder, 4), ``session_layers`` (4),
    ``heads``, ``ffn_dim`` (None: 4 x dim), ``dropout`` (0.1, on in every pre-training step),
    ``ln_eps``, ``positions`` of the interaction encoder ("learned" or "sinusoidal").
    Pre-training: ``temperature`` (0.05), ``denominator`` ("all": the positive in InfoNCE's
    denominator; "negatives": as Eq. 1-4 print it), ``no_loss`` (the losses switched off, e.g. ``(1,)``
    for the paper's no_loss1), ``mask_rate``, ``replace_mask``, ``replace_random``,
    ``stage1_epochs``/``stage2_epochs`` (the length of each stage's schedule),
    ``stage1_batch_size`` (pairs, 512)/``stage2_batch_size`` (sessions, 128), ``lr`` (peak, 3e-5),
    ``warmup`` (0.1 of the stage's steps), ``weight_decay``, ``seed``.
    Tokens: an :class:`~sessrec.text.InteractionTokenizer` (``tokenizer``, fitted or not), or
    one built from ``vocab_size``, ``max_interactions``, ``max_title_tokens``,
    ``max_tokens_per_interaction``.
    """

    name = "UBM"

    def __init__(
        self,
        dim: int = 256,
        layers: int = 4,
        session_layers: int = 4,
        heads: int = 4,
        ffn_dim: Optional[int] = None,
        dropout: float = 0.1,
        ln_eps: float = 1e-12,
        positions: str = "learned",
        temperature: float = 0.05,
        denominator: str = "all",
        no_loss: Sequence[int] = (),
        mask_rate: float = 0.15,
        replace_mask: float = 0.5,
        replace_random: float = 0.25,
        stage1_epochs: int = 1,
        stage2_epochs: int = 1,
        stage1_batch_size: int = 512,
        stage2_batch_size: int = 128,
        lr: float = 3e-5,
        warmup: float = 0.1,
        weight_decay: float = 0.0,
        vocab_size: int = 8000,
        max_interactions: int = 32,
        max_title_tokens: int = 32,
        max_tokens_per_interaction: int = 64,
        seed: int = 0,
        tokenizer: Optional[InteractionTokenizer] = None,
    ):
        no_loss = sorted({int(k) for k in no_loss})
        if any(k not in (1, 2, 3, 4) for k in no_loss):
            raise ValueError(f"no_loss names losses 1..4, got {no_loss}")
        if min(stage1_epochs, stage2_epochs) < 1 or min(stage1_batch_size,
                                                         stage2_batch_size) < 2:
            raise ValueError("need stage epochs >= 1 and batch sizes >= 2 (in-batch negatives)")
        if denominator not in ("all", "negatives"):
            raise ValueError(f"denominator must be 'all' or 'negatives', got {denominator!r}")
        if not (0 <= warmup < 1) or not lr > 0:
            raise ValueError("need 0 <= warmup < 1 and lr > 0")
        self.params = dict(
            dim=int(dim), layers=int(layers), session_layers=int(session_layers),
            heads=int(heads), ffn_dim=int(ffn_dim if ffn_dim is not None else 4 * dim),
            dropout=float(dropout), ln_eps=float(ln_eps), positions=str(positions),
            temperature=float(temperature), denominator=denominator, no_loss=no_loss, mask_rate=float(mask_rate),
            replace_mask=float(replace_mask), replace_random=float(replace_random),
            stage1_epochs=int(stage1_epochs), stage2_epochs=int(stage2_epochs),
            stage1_batch_size=int(stage1_batch_size), stage2_batch_size=int(stage2_batch_size),
            lr=float(lr), warmup=float(warmup), weight_decay=float(weight_decay),
            vocab_size=int(vocab_size), max_interactions=int(max_interactions),
            max_title_tokens=int(max_title_tokens),
            max_tokens_per_interaction=int(max_tokens_per_interaction), seed=int(seed),
        )
        self.tokenizer = tokenizer if tokenizer is not None else InteractionTokenizer(
            max_interactions=max_interactions, max_title_tokens=max_title_tokens,
            max_tokens_per_interaction=max_tokens_per_interaction, vocab_size=vocab_size,
            seed=seed)
        self._core = None
        # Per stage: epochs and optimizer steps done.
        self.epochs_done = [0, 0]
        self.adam_steps = [0, 0]
        self.history_ = pd.DataFrame()

    # ---------------------------------------------------------------------------- network
    @property
    def core(self):
        """The C++ model (None before the first :meth:`pretrain` or :meth:`load`)."""
        return self._core

    @property
    def dim(self) -> int:
        return self.params["dim"]

    def _build(self) -> None:
        p, t = self.params, self.tokenizer
        actions = [t.token_id(a) for a in ACTION_TOKENS]
        protected = [t.token_id(s) for s in t.special_tokens if s not in ACTION_TOKENS]
        # sentencepiece's own pieces (an absent one reads as <unk>'s ID) are never masked either.
        protected += sorted({int(t.tokenizer._core.piece_id(s))
                             for s in ("<pad>", "<unk>", "<s>", "</s>")})
        self._core = _core.UBMModel(
            vocab_size=t.vocab_size, dim=p["dim"], heads=p["heads"], ffn_dim=p["ffn_dim"],
            interaction_layers=p["layers"], session_layers=p["session_layers"],
            max_tokens=t.params["max_tokens_per_interaction"],
            max_interactions=t.params["max_interactions"], post_ln=True, gelu=True,
            dropout=p["dropout"], ln_eps=p["ln_eps"], positions=p["positions"],
            temperature=p["temperature"], positive_in_denominator=p["denominator"] == "all",
            losses=[k not in p["no_loss"] for k in (1, 2, 3, 4)], mask_rate=p["mask_rate"],
            replace_mask=p["replace_mask"], replace_random=p["replace_random"],
            mask_id=t.token_id("[MASK]"), protected_ids=protected, action_ids=actions,
            seed=p["seed"])

    def _tokens(self, data) -> InteractionTokens:
        if isinstance(data, InteractionTokens):
            if self.tokenizer.tokenizer is None:
                raise RuntimeError("UBM: pass a Dataset first, so that the tokenizer is fitted")
            return data
        if self.tokenizer.tokenizer is None:
            if not isinstance(data, Dataset):
                raise TypeError("UBM: the first data must be a sessrec Dataset (the interaction "
                                f"tokenizer is fitted on it), got {type(data).__name__}")
            self.tokenizer.fit(data)
        return self.tokenizer.sessions(data)

    def _ensure_core(self, data) -> InteractionTokens:
        tokens = self._tokens(data)
        if self._core is None:
            self._build()
        return tokens

    # --------------------------------------------------------------------------- training
    def pretrain(self, data, stage: int, epochs: Optional[int] = None,
                 progress: Optional[bool] = None,
                 checkpoint: Optional[str] = None) -> "UBM":
        """Pre-train stage 1 (the interaction encoder on pairs of consecutive interactions) or
        stage 2 (the whole model on sessions) of ``data`` (a Dataset, whose catalogue and
        queries fit the tokenizer on first use; a SessionSet split from it; or
        :class:`InteractionTokens`). Runs ``epochs`` more epochs (default: all that are left of
        ``stage<k>_epochs``, which the learning-rate schedule spans), a tqdm bar per epoch,
        writing ``checkpoint`` (:meth:`save`) after each. A stage already done runs nothing."""
        if stage not in (1, 2):
            raise ValueError(f"stage must be 1 or 2, got {stage!r}")
        active = [k for k in ((1, 2) if stage == 1 else (3, 4))
                  if k not in self.params["no_loss"]]
        if not active:
            raise ValueError(f"stage {stage}: both of its losses are switched off (no_loss)")
        tokens = self._ensure_core(data)
        p, k = self.params, stage - 1
        so = np.asarray(tokens.session_offsets, dtype=np.int64)
        to = np.asarray(tokens.token_offsets, dtype=np.int64)
        ids = np.asarray(tokens.ids, dtype=np.int32)
        if stage == 1:
            session_of = np.repeat(np.arange(len(so) - 1), np.diff(so))
            first = np.flatnonzero(session_of[:-1] == session_of[1:]).astype(np.int64)
            units, batch = first, p["stage1_batch_size"]
        else:
            units, batch = np.flatnonzero(np.diff(so) > 0).astype(np.int64), p["stage2_batch_size"]
        if len(units) < 2:
            raise ValueError(f"stage {stage}: the data has {len(units)} "
                             f"{'interaction pairs' if stage == 1 else 'sessions'}; a batch "
                             "needs at least 2")
        starts = [s for s in range(0, len(units), batch) if len(units) - s >= 2]
        planned = p[f"stage{stage}_epochs"]
        left = planned - self.epochs_done[k]
        epochs = left if epochs is None else min(int(epochs), left)
        if epochs <= 0:
            return self
        total = planned * len(starts)
        # At least one warm-up step when warmup > 0, and at least one step of decay.
        warmup_steps = min(math.ceil(p["warmup"] * total), total - 1)
        optimizer = _core.Adam(lr=p["lr"], weight_decay=p["weight_decay"], schedule="linear",
                               warmup_steps=warmup_steps, total_steps=total)
        if self.adam_steps[k] == 0:
            self._core.reset_optimizer_state()
        optimizer.steps_taken = self.adam_steps[k]
        for _ in range(epochs):
            row = self._run_epoch(stage, so, to, ids, units, starts, batch, optimizer,
                                  show_progress(progress))
            self.history_ = pd.concat([self.history_, pd.DataFrame([row])], ignore_index=True)
            if checkpoint is not None:
                self.save(checkpoint)
        return self

    def _run_epoch(self, stage, so, to, ids, units, starts, batch, optimizer, progress) -> dict:
        from tqdm.auto import tqdm

        p, k = self.params, stage - 1
        epoch = self.epochs_done[k]
        order = units[np.random.default_rng([p["seed"], stage, epoch]).permutation(len(units))]
        restore = self._training_arrays()
        sums, examples, tokens, start = np.zeros(5), 0, 0, time.perf_counter()
        bar = tqdm(starts, desc=f"UBM stage {stage} epoch {epoch + 1}", unit="batch",
                   disable=not progress, leave=False)
        try:
            for step, s in enumerate(bar, start=1):
                chosen = order[s:s + batch]
                if stage == 1:
                    loss, parts, n, _, t = self._core.train_stage1(so, to, ids, chosen,
                                                                   chosen + 1, optimizer)
                else:
                    loss, parts, n, _, t = self._core.train_stage2(so, to, ids, chosen,
                                                                   optimizer)
                if not np.isfinite(loss):
                    raise TrainingDiverged(
                        f"UBM: stage {stage} diverged in epoch {epoch + 1} at step {step} (loss "
                        f"{loss}); the model keeps its state from the start of that epoch")
                sums += n * np.array([loss, *parts])
                examples += n
                tokens += t
                if progress:
                    rate = tokens / max(time.perf_counter() - start, 1e-9)
                    bar.set_postfix(loss=f"{loss:.4f}", lr=f"{optimizer.current_lr:.2e}",
                                    tokens_s=f"{rate:,.0f}")
        except BaseException:  # divergence, Ctrl-C, bad input: back to the epoch's start
            bar.close()
            self._set_training_arrays(restore)
            raise
        bar.close()
        seconds = time.perf_counter() - start
        self.epochs_done[k] += 1
        self.adam_steps[k] = optimizer.steps_taken
        means = sums / max(examples, 1)
        row = dict(stage=stage, epoch=self.epochs_done[k], loss=means[0], seconds=seconds,
                   examples_per_s=examples / max(seconds, 1e-9),
                   tokens_per_s=tokens / max(seconds, 1e-9))
        for j, name in enumerate(LOSS_NAMES):
            if (j < 2) == (stage == 1) and (j + 1) not in p["no_loss"]:
                row[name] = means[1 + j]
        return row

    # --------------------------------------------------------------------------- encoding
    def encode_sessions(self, data) -> np.ndarray:
        """Session vectors h' [sessions, dim] (evaluation mode) of a Dataset, a SessionSet or
        InteractionTokens; a session without interactions is a ValueError."""
        if self._core is None:
            raise RuntimeError("UBM: pretrain or load it first")
        tokens = self._tokens(data)
        so = np.asarray(tokens.session_offsets, dtype=np.int64)
        return self._core.encode_sessions(so, np.asarray(tokens.token_offsets, dtype=np.int64),
                                          np.asarray(tokens.ids, dtype=np.int32),
                                          np.arange(len(so) - 1, dtype=np.int64))

    # ------------------------------------------------------------------------ persistence
    def _training_arrays(self) -> dict:
        arrays = {f"param/{k}": v for k, v in self._core.get_parameters().items()}
        m1, m2 = self._core.get_optimizer_state()
        arrays.update({f"adam_m/{k}": v for k, v in m1.items()})
        arrays.update({f"adam_v/{k}": v for k, v in m2.items()})
        arrays["counters"] = np.array([self._core.steps, *self.epochs_done, *self.adam_steps],
                                      dtype=np.int64)
        return arrays

    def _set_training_arrays(self, arrays: dict) -> None:
        def group(prefix):
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        self._core.set_parameters(group("param/"))
        self._core.set_optimizer_state(group("adam_m/"), group("adam_v/"))
        counters = [int(x) for x in arrays["counters"]]
        self._core.steps = counters[0]
        self.epochs_done, self.adam_steps = counters[1:3], counters[3:5]

    def save(self, path) -> None:
        """Write the model, the tokenizer, Adam's moments, the counters and the history to
        HDF5 (atomically, with checksums); :meth:`load` resumes pre-training exactly."""
        if self._core is None:
            raise RuntimeError("UBM: nothing to save before pretrain")
        arrays = self._training_arrays()
        arrays["tokenizer"] = np.frombuffer(self.tokenizer.to_bytes(), dtype=np.uint8).copy()
        attributes = {"format": FORMAT, "format_version": FORMAT_VERSION,
                      "params": json.dumps(self.params),
                      "history": json.dumps(self.history_.to_dict("records"))}  # exact floats
        _core.write_array_file(str(path), arrays, attributes)

    @classmethod
    def load(cls, path) -> "UBM":
        """A model written by :meth:`save` (ValueError for another or a damaged file)."""
        arrays, attributes = read_checked(path, FORMAT, FORMAT_VERSION,
                                          checksummed_from=FORMAT_VERSION)
        try:
            model = cls(**json.loads(attributes["params"]))
            model.tokenizer = InteractionTokenizer.from_bytes(arrays["tokenizer"].tobytes())
            model._build()
            model._set_training_arrays(arrays)
            history = json.loads(attributes.get("history", "[]"))
            model.history_ = pd.DataFrame(history)
        except KeyError as missing:
            raise ValueError(f"{path}: the UBM file lacks {missing}; it is incomplete") from None
        return model
