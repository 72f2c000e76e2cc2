"""The PyTorch side of bench/run_ubm_bench.py's pre-training throughput: UBM's two-level encoder
in PyTorch at any size, holding a sessrec core's parameters, and one pre-training step of each
stage on the views the sessrec core draws.

The model is tests/python/test_parity_ubm.py's ``TorchUBM`` (parity-tested: the same session
vectors, losses and gradients as cpp/sessrec/models/ubm.h for the same weights) with its sizes as
arguments instead of module constants, and its padding done with index arrays instead of a
Python loop per session (a per-session loop would charge torch for Python, not for the model).
``max_difference`` re-checks this copy against the sessrec core it was loaded from before a
measurement (dropout off), and the benchmark compares the first step's loss as well.

Imported only by the torch side, so that the sessrec side's peak RSS holds no torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sessrec.models.text_encoder import torch_transformer_names


def sinusoids(T: int, D: int) -> torch.Tensor:
    t, d = np.arange(T)[:, None], np.arange(D)[None, :]
    angle = t / np.power(10000.0, (2 * (d // 2)) / D)
    return torch.tensor(np.where(d % 2 == 0, np.sin(angle), np.cos(angle)), dtype=torch.float32)


def segment_positions(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment, position inside it) of every element of the CSR ``offsets``."""
    lengths = np.diff(offsets)
    segment = np.repeat(np.arange(len(lengths)), lengths)
    return segment, np.arange(offsets[-1]) - offsets[:-1][segment]


class TorchUBM(nn.Module):
    def __init__(self, vocab: int, dim: int, heads: int, ffn: int, layers: int,
                 session_layers: int, max_tokens: int, max_interactions: int, dropout: float,
                 eps: float):
        super().__init__()
        self.max_tokens = max_tokens
        self.token_embedding = nn.Embedding(vocab, dim)
        self.position_embedding = nn.Embedding(max_tokens, dim)
        self.embedding_ln = nn.LayerNorm(dim, eps=eps)

        def stack(n):
            layer = nn.TransformerEncoderLayer(dim, heads, ffn, dropout=dropout,
                                               activation="gelu", batch_first=True,
                                               layer_norm_eps=eps)
            return nn.TransformerEncoder(layer, n, enable_nested_tensor=False)

        self.encoder = stack(layers)
        self.session_encoder = stack(session_layers)
        self.register_buffer("sinusoids", sinusoids(max_interactions, dim))
        self.names = torch_transformer_names(layers, True)
        session = torch_transformer_names(session_layers, True, encoder="session_encoder.")
        self.names.update({k: "session." + v for k, v in session.items()
                           if k.startswith("session_encoder.")})

    def load_sessrec(self, parameters: dict) -> None:
        """Copy a sessrec UBM core's ``get_parameters()`` into this model."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                p.copy_(torch.tensor(parameters[self.names[name]]).reshape(p.shape))

    def interactions(self, offsets: np.ndarray, ids: np.ndarray) -> torch.Tensor:
        """[CLS] outputs [B, dim] of the token lists, each cut to max_tokens."""
        row, position = segment_positions(offsets)
        keep = position < self.max_tokens
        row, position = row[keep], position[keep]
        T = int(position.max()) + 1
        padded = torch.zeros(len(offsets) - 1, T, dtype=torch.long)
        valid = torch.zeros(len(offsets) - 1, T, dtype=torch.bool)
        padded[row, position] = torch.from_numpy(ids[keep].astype(np.int64))
        valid[row, position] = True
        x = self.embedding_ln(self.token_embedding(padded) + self.position_embedding.weight[:T])
        return self.encoder(x, src_key_padding_mask=~valid)[:, 0]

    def forward(self, session_offsets: np.ndarray, token_offsets: np.ndarray,
                ids: np.ndarray) -> torch.Tensor:
        """Session vectors h' [S, dim]: the mean of the session encoder's outputs."""
        b = self.interactions(token_offsets, ids)
        session, position = segment_positions(session_offsets)
        S, L = len(session_offsets) - 1, int(position.max()) + 1
        x = torch.zeros(S, L, b.shape[1])
        valid = torch.zeros(S, L, dtype=torch.bool)
        x[session, position] = b + self.sinusoids[position]
        valid[session, position] = True
        o = self.session_encoder(x, src_key_padding_mask=~valid)
        w = valid.float().unsqueeze(-1)
        return (o * w).sum(1) / w.sum(1)


def build(ubm) -> TorchUBM:
    """The torch twin of a built ``sessrec.models.UBM`` (its sizes, dropout and current
    parameters)."""
    p, t = ubm.params, ubm.tokenizer
    model = TorchUBM(t.vocab_size, p["dim"], p["heads"], p["ffn_dim"], p["layers"],
                     p["session_layers"], t.params["max_tokens_per_interaction"],
                     t.params["max_interactions"], p["dropout"], p["ln_eps"])
    model.load_sessrec(ubm.core.get_parameters())
    return model


def info_nce(a: torch.Tensor, p: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE of cosine / temperature with the positive in the denominator (sessrec's default,
    ``denominator="all"``), the mean over the rows."""
    a = a / a.norm(dim=1, keepdim=True)
    p = p / p.norm(dim=1, keepdim=True)
    return nn.functional.cross_entropy(a @ p.T / temperature, torch.arange(len(a)))


def stage1_loss(model: TorchUBM, offsets, ids, N: int, losses, temperature: float):
    """l1 + l2 of stage 1's views [p (2N), p^+ (2N, when l1 is on)] (cpp/sessrec/models/ubm.h)."""
    b = model.interactions(offsets, ids)
    total = 0.0
    if losses[0]:
        total = total + info_nce(b[:2 * N], b[2 * N:4 * N], temperature)
    if losses[1]:
        total = total + info_nce(b[:N], b[N:2 * N], temperature)
    return total


def stage2_loss(model: TorchUBM, session_offsets, token_offsets, ids, N: int, losses,
                temperature: float):
    """l3 + l4 of stage 2's views [s, s^+ (when l3 is on), s^{++} (when l4 is on)]."""
    h = model(session_offsets, token_offsets, ids)
    total, next_view = 0.0, N
    if losses[2]:
        total = total + info_nce(h[:N], h[next_view:next_view + N], temperature)
        next_view += N
    if losses[3]:
        total = total + info_nce(h[:N], h[next_view:next_view + N], temperature)
    return total


def max_difference(model: TorchUBM, core, session_offsets, token_offsets, ids) -> float:
    """Largest absolute difference between this model's session vectors and the sessrec core's
    (evaluation mode, no dropout) on the given sessions."""
    model.eval()
    with torch.no_grad():
        theirs = model(session_offsets, token_offsets, ids).numpy()
    model.train()
    ours = core.encode_sessions(session_offsets, token_offsets, ids,
                                np.arange(len(session_offsets) - 1, dtype=np.int64))
    return float(np.abs(ours - theirs).max())
