"""The bidirectional transformer text encoder (``_core.TextEncoder``,
cpp/sessrec/models/text_encoder.h): its options and their defaults in one place, the two sizes
the issue names, and the names of the same weights in a PyTorch ``nn.TransformerEncoder``.

Inputs are token lists in CSR (``offsets`` [B + 1], ``ids``), e.g. a :class:`sessrec.text.
Tokenizer`'s encoding of each item's fields joined by a separator symbol; each list keeps its
first ``max_tokens`` tokens. With ``pooling="cls"`` the first token's output is the item vector,
so lists should start with a [CLS]-like symbol (a user-defined symbol of the sentencepiece
model).

Parameter names (and the layout of parameter files, see :mod:`.parameter_groups`):
``token_embedding`` [vocab, dim], ``position_embedding`` [max_tokens, dim] (learned positions),
``embedding_ln.weight``/``.bias`` (post-LN) or ``final_ln.weight``/``.bias`` (pre-LN), and per
block ``layers.<l>.attn.qkv.weight`` [3 dim, dim] (q, k, v stacked as torch's
``in_proj_weight``), ``attn.qkv.bias``, ``attn.out.weight``/``.bias``, ``ln1``, ``ffn.w1``
[ffn_dim, dim], ``ffn.w2`` [dim, ffn_dim], ``ln2`` (weights and biases; biases [1, n]).
"""

from __future__ import annotations

from .. import _core

DEFAULTS = dict(
    dim=64, layers=2, heads=2, ffn_dim=256, max_tokens=64, post_ln=True, gelu=True, dropout=0.1,
    ln_eps=1e-12, positions="learned", pooling="cls", pool_layer=-1, normalize=False,
    mlm_head=False, seed=0,
)
# BERT-mini as issue 10 sizes it: 4 layers, hidden 256, 4 heads, 64 tokens per item; the FFN is
# 4 x hidden (1024), as in BERT.
BERT_MINI = dict(dim=256, layers=4, heads=4, ffn_dim=1024, max_tokens=64)


def make_text_encoder(vocab_size: int, **options) -> _core.TextEncoder:
    """A text encoder with ``DEFAULTS`` overridden by ``options`` (unknown names: TypeError).
    ``ln_eps`` 1e-12 is BERT's; PyTorch's ``nn.TransformerEncoderLayer`` uses 1e-5."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown text encoder options {unknown}; the options are "
                        f"{sorted(DEFAULTS)}")
    return _core.TextEncoder(vocab_size=int(vocab_size), **{**DEFAULTS, **options})


def torch_transformer_names(
    layers: int,
    post_ln: bool = True,
    encoder: str = "encoder.",
    token_embedding: str = "token_embedding.weight",
    position_embedding: str | None = "position_embedding.weight",
    embedding_ln: str = "embedding_ln",
) -> dict[str, str]:
    """{PyTorch state_dict name: sessrec parameter name} for a model built as
    ``token_embedding`` (``nn.Embedding``) + ``position_embedding`` (``nn.Embedding``, None for
    sinusoids) + ``embedding_ln`` (``nn.LayerNorm``, post-LN only) + ``encoder``
    (``nn.TransformerEncoder`` of ``nn.TransformerEncoderLayer(batch_first=True,
    norm_first=not post_ln)``, with ``norm=nn.LayerNorm`` when pre-LN). Pass it as ``names`` to
    ``import_parameters`` after writing the state_dict to HDF5 dataset by dataset."""
    names = {token_embedding: "token_embedding"}
    if position_embedding is not None:
        names[position_embedding] = "position_embedding"
    ln_source, ln_target = (embedding_ln, "embedding_ln") if post_ln else (f"{encoder}norm",
                                                                            "final_ln")
    names[f"{ln_source}.weight"] = f"{ln_target}.weight"
    names[f"{ln_source}.bias"] = f"{ln_target}.bias"
    per_layer = {
        "self_attn.in_proj_weight": "attn.qkv.weight", "self_attn.in_proj_bias": "attn.qkv.bias",
        "self_attn.out_proj.weight": "attn.out.weight", "self_attn.out_proj.bias": "attn.out.bias",
        "linear1.weight": "ffn.w1.weight", "linear1.bias": "ffn.w1.bias",
        "linear2.weight": "ffn.w2.weight", "linear2.bias": "ffn.w2.bias",
        "norm1.weight": "ln1.weight", "norm1.bias": "ln1.bias",
        "norm2.weight": "ln2.weight", "norm2.bias": "ln2.bias",
    }
    for layer in range(layers):
        for theirs, ours in per_layer.items():
            names[f"{encoder}layers.{layer}.{theirs}"] = f"layers.{layer}.{ours}"
    return names
