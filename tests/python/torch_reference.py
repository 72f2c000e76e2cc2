"""PyTorch versions of sessrec's neural models, for the parity tests and the benchmarks.

They follow the C++ models operation for operation (same parameter names and layouts, right
padding, tied item embeddings with row 0 as padding, full softmax over items 1..N), so weights
copied from sessrec give the same loss and gradients.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class TorchGRU4Rec(nn.Module):
    def __init__(self, num_items, dim=64, hidden=64, dropout=0.0):
        super().__init__()
        self.item_embedding = nn.Embedding(num_items + 1, dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.dense = nn.Linear(hidden, dim)

    def forward(self, inputs):
        h, _ = self.gru(self.dropout(self.item_embedding(inputs)))
        return self.dense(h)

    def load_sessrec(self, params):
        t = {k: torch.from_numpy(np.array(v)) for k, v in params.items()}
        with torch.no_grad():
            self.item_embedding.weight.copy_(t["item_embedding"])
            self.gru.weight_ih_l0.copy_(t["gru.weight_ih"])
            self.gru.bias_ih_l0.copy_(t["gru.bias_ih"].reshape(-1))
            self.gru.weight_hh_l0.copy_(t["gru.weight_hh"])
            self.gru.bias_hh_l0.copy_(t["gru.bias_hh"].reshape(-1))
            self.dense.weight.copy_(t["dense.weight"])
            self.dense.bias.copy_(t["dense.bias"].reshape(-1))

    def sessrec_gradients(self):
        return {
            "item_embedding": self.item_embedding.weight.grad,
            "gru.weight_ih": self.gru.weight_ih_l0.grad,
            "gru.bias_ih": self.gru.bias_ih_l0.grad,
            "gru.weight_hh": self.gru.weight_hh_l0.grad,
            "gru.bias_hh": self.gru.bias_hh_l0.grad,
            "dense.weight": self.dense.weight.grad,
            "dense.bias": self.dense.bias.grad,
        }


class TorchSASRecBlock(nn.Module):
    def __init__(self, dim, heads, ffn_dim, dropout, post_ln, gelu):
        super().__init__()
        self.heads, self.post_ln, self.gelu = heads, post_ln, gelu
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        eps = 1e-12 if post_ln else 1e-5
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.ln2 = nn.LayerNorm(dim, eps=eps)
        self.w1 = nn.Linear(dim, ffn_dim)
        self.w2 = nn.Linear(ffn_dim, dim)
        self.dropout = nn.Dropout(dropout)

    def attention(self, x, key_valid):
        B, T, C = x.shape
        hs = C // self.heads
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, hs).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        allowed = causal[None, None] & key_valid[:, None, None, :]
        scores = scores.masked_fill(~allowed, float("-inf"))
        att = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.out(y)

    def ffn(self, x):
        act = F.gelu if self.gelu else F.relu
        return self.w2(act(self.w1(x)))

    def forward(self, x, key_valid):
        if self.post_ln:
            x = self.ln1(x + self.dropout(self.attention(x, key_valid)))
            return self.ln2(x + self.dropout(self.ffn(x)))
        x = x + self.dropout(self.attention(self.ln1(x), key_valid))
        return x + self.dropout(self.ffn(self.ln2(x)))


class TorchSASRec(nn.Module):
    def __init__(self, num_items, dim=64, layers=2, heads=2, ffn_dim=256, max_len=50,
                 dropout=0.0, post_ln=True, gelu=True):
        super().__init__()
        self.post_ln = post_ln
        self.item_embedding = nn.Embedding(num_items + 1, dim, padding_idx=0)
        self.position_embedding = nn.Embedding(max_len, dim)
        self.ln = nn.LayerNorm(dim, eps=1e-12 if post_ln else 1e-5)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            TorchSASRecBlock(dim, heads, ffn_dim, dropout, post_ln, gelu) for _ in range(layers)
        )

    def forward(self, inputs):
        T = inputs.shape[1]
        x = self.item_embedding(inputs) + self.position_embedding.weight[:T][None]
        if self.post_ln:
            x = self.ln(x)
        x = self.dropout(x)
        valid = inputs > 0
        for layer in self.layers:
            x = layer(x, valid)
        return x if self.post_ln else self.ln(x)

    def _names(self):
        names = {
            "item_embedding": self.item_embedding.weight,
            "position_embedding": self.position_embedding.weight,
            ("embedding_ln" if self.post_ln else "final_ln") + ".weight": self.ln.weight,
            ("embedding_ln" if self.post_ln else "final_ln") + ".bias": self.ln.bias,
        }
        for i, layer in enumerate(self.layers):
            p = f"layers.{i}."
            for name, tensor in [
                ("attn.qkv.weight", layer.qkv.weight), ("attn.qkv.bias", layer.qkv.bias),
                ("attn.out.weight", layer.out.weight), ("attn.out.bias", layer.out.bias),
                ("ln1.weight", layer.ln1.weight), ("ln1.bias", layer.ln1.bias),
                ("ffn.w1.weight", layer.w1.weight), ("ffn.w1.bias", layer.w1.bias),
                ("ffn.w2.weight", layer.w2.weight), ("ffn.w2.bias", layer.w2.bias),
                ("ln2.weight", layer.ln2.weight), ("ln2.bias", layer.ln2.bias),
            ]:
                names[p + name] = tensor
        return names

    def load_sessrec(self, params):
        with torch.no_grad():
            for name, tensor in self._names().items():
                tensor.copy_(torch.from_numpy(np.array(params[name])).reshape(tensor.shape))

    def sessrec_gradients(self):
        return {name: tensor.grad for name, tensor in self._names().items()}


def padded_batch(offsets_items, begin, end, last_only=False):
    """The C++ training batch, rebuilt in NumPy: inputs [B, T] (ids, 0 = pad), targets [B, T]
    (ids, -1 = none), right padded."""
    items = np.asarray(offsets_items)
    n = end - begin - 1
    T = int(n.max())
    inputs = np.zeros((len(begin), T), dtype=np.int64)
    targets = np.full((len(begin), T), -1, dtype=np.int64)
    for r, (b, length) in enumerate(zip(begin, n)):
        inputs[r, :length] = items[b : b + length] + 1
        if last_only:
            targets[r, length - 1] = items[b + length] + 1
        else:
            targets[r, :length] = items[b + 1 : b + length + 1] + 1
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def full_softmax_loss(outputs, targets, item_embedding):
    """Mean cross-entropy over items 1..N at the positions that have a target."""
    mask = targets >= 0
    logits = outputs[mask] @ item_embedding[1:].T
    return F.cross_entropy(logits, targets[mask] - 1)
