"""Interaction token sequences of UBM (Li et al., "Contrastive Pre-training for Deep Session Data
Understanding", §3.1.1), built in C++ (cpp/sessrec/text/interaction_tokens.h).

The paper, quoted:

    "there are four key actions that we consider: *search*, *view*, *add to cart* and *buy*.
    They are represented with four special action tokens in the input sequence: '[SEARCH]',
    '[VIEW]', '[ADD]' and '[BUY]'."

    "We formulate the item text to be a concatenation of product title, product category and
    product attributes. To differentiate the different elements forming the item text, we put
    special tokens before the start of each element, which are '[TITLE]', '[CATEGORY]' and the
    specific attribute names. For example, if the attribute name is 'size' and the attribute
    value is 'large', it is formatted as '[SIZE] large'."

    (§3.1.2) "other than special tokens like '[CLS]', '[SEP]', *etc.*, there are some new special
    tokens involved, such as the special action tokens and the item special tokens. They are
    added to the vocabulary [...] the embedding of the '[CLS]' token is taken as the
    *interaction's* embedding"

    (§4.1.1) "We limit each constructed session with length less than 32 [...] only the first 32
    tokens of the product title is considered, and the overall length of the product text is
    limited to 64 tokens." (§4.2.1) "each session data may consists of 32 x 64 = 2048 tokens."

    (§3.4.3) "treating each product as a session with no action tokens and with length l = 1"

What sessrec does, and where the paper is silent:

- An interaction is ``[CLS] action content``: content is the event's query text when it has
  any (a search), otherwise its item's text. A search event without query text (no queries in
  the dataset, or an empty query) reads its item's text. ``cls=False`` drops the [CLS].
- Item text: the title (``title_field``), the category (``category_field``), then every
  attribute (``attributes``: the other text fields and the categorical fields), each behind
  its marker ([TITLE], [CATEGORY], [BRAND], ...); a field an item lacks leaves no marker.
  Numeric fields (price) are not text and are left out. No [SEP] goes between fields: the
  markers separate them (the paper names [SEP] among the special tokens without placing it;
  it is in the vocabulary for other uses).
- Limits (defaults in the C++ ``InteractionConfig``): at most 32 interactions per session (the
  most recent; the paper's "less than 32" read as "at most 32", the 32 x 64 figure), the title
  cut to 32 tokens, and 64 tokens per interaction counting [CLS] and the action token (the
  paper's 64 bounds the "product text"; the issue and the 2048-token figure bound the whole
  interaction).
- Actions: a dataset's action names map to the four tokens by common names (``search``;
  ``view``/``click``...; ``add_to_cart``/``cart``...; ``buy``/``purchase``...) or by
  ``action_tokens``. A dataset without actions makes every event a [VIEW].
- The sentencepiece model is trained on the catalogue's field values and the dataset's
  queries, with every special token a user-defined symbol (one piece each). There is no [PAD]:
  sentencepiece's id 0 is <pad>, and the encoders pack token lists without padding.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from . import _core
from .dataset import Dataset, SessionSet
from .text import Tokenizer

BASE_TOKENS = ("[CLS]", "[SEP]", "[MASK]")
ACTION_TOKENS = ("[SEARCH]", "[VIEW]", "[ADD]", "[BUY]")
TITLE_TOKEN, CATEGORY_TOKEN = "[TITLE]", "[CATEGORY]"
# Action names of common logs -> UBM's action tokens (names compared lowercased, '-'/' ' as '_').
ACTION_ALIASES = {
    "search": "[SEARCH]", "query": "[SEARCH]", "search_query": "[SEARCH]",
    "view": "[VIEW]", "click": "[VIEW]", "clickout": "[VIEW]", "pageview": "[VIEW]",
    "page_view": "[VIEW]", "detail": "[VIEW]", "item_view": "[VIEW]",
    "add": "[ADD]", "add_to_cart": "[ADD]", "addtocart": "[ADD]", "cart": "[ADD]",
    "add_to_basket": "[ADD]", "basket": "[ADD]",
    "buy": "[BUY]", "purchase": "[BUY]", "transaction": "[BUY]", "order": "[BUY]",
    "checkout": "[BUY]",
}
FORMAT = "sessrec-interaction-tokenizer"
FORMAT_VERSION = 1
# The limits' defaults live in the C++ configuration (cpp/sessrec/text/interaction_tokens.h).
_LIMITS = _core.InteractionConfig()


@dataclass
class InteractionTokens:
    """Two-level CSR: session ``s`` owns interactions ``session_offsets[s]:session_offsets[s+1]``
    (oldest first), interaction ``i`` owns ``ids[token_offsets[i]:token_offsets[i+1]]``;
    ``items[i]`` is its item and ``events[i]`` its event row in the store it came from (-1 for
    catalogue candidates)."""

    session_offsets: np.ndarray
    token_offsets: np.ndarray
    ids: np.ndarray
    items: np.ndarray
    events: np.ndarray

    def __len__(self) -> int:
        return len(self.session_offsets) - 1

    @property
    def num_interactions(self) -> int:
        return len(self.token_offsets) - 1

    def interaction(self, i: int) -> np.ndarray:
        return self.ids[self.token_offsets[i] : self.token_offsets[i + 1]]

    def session(self, s: int) -> list[np.ndarray]:
        """The token arrays of session ``s`` (for inspection and small sets)."""
        first, last = self.session_offsets[s], self.session_offsets[s + 1]
        return [self.interaction(i) for i in range(first, last)]


def _marker(name: str) -> str:
    """'size' -> '[SIZE]'; characters other than letters and digits become '_'."""
    cleaned = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").upper()
    if not cleaned:
        raise ValueError(f"attribute {name!r} has no letter or digit to name its token")
    return f"[{cleaned}]"


def _action_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


class InteractionTokenizer:
    """UBM's interaction tokens of a dataset (see the module docstring).

    ``fit(dataset)`` trains the sentencepiece model (``vocab_size`` an upper bound,
    ``model_type``, ``lowercase``, ``seed``) and tokenizes the catalogue once; then
    :meth:`sessions`, :meth:`prefixes`, :meth:`histories` and :meth:`items` build
    :class:`InteractionTokens` in C++. Fields: ``title_field`` (default "title", else the first
    text field other than the loaders' joined "text", else "text"), ``category_field``
    (default a text or categorical field named "category" in any case, else none),
    ``attributes`` (default the other text fields but the loaders' joined "text", then every
    categorical field), each read as text. ``action_tokens`` maps action
    names to ACTION_TOKENS, extending ACTION_ALIASES.
    """

    def __init__(
        self,
        max_interactions: int = _LIMITS.max_interactions,
        max_title_tokens: int = _LIMITS.max_title_tokens,
        max_tokens_per_interaction: int = _LIMITS.max_tokens_per_interaction,
        cls: bool = True,
        vocab_size: int = 8000,
        model_type: str = "unigram",
        lowercase: bool = True,
        title_field: Optional[str] = None,
        category_field: Optional[str] = None,
        attributes: Optional[Sequence[str]] = None,
        action_tokens: Optional[Mapping[str, str]] = None,
        seed: int = 0,
    ):
        if isinstance(attributes, str):
            attributes = [attributes]
        self.params = dict(
            max_interactions=int(max_interactions), max_title_tokens=int(max_title_tokens),
            max_tokens_per_interaction=int(max_tokens_per_interaction), cls=bool(cls),
            vocab_size=int(vocab_size), model_type=str(model_type), lowercase=bool(lowercase),
            title_field=title_field, category_field=category_field,
            attributes=None if attributes is None else [str(a) for a in attributes],
            action_tokens=None if action_tokens is None else dict(action_tokens), seed=int(seed),
        )
        for name, token in (action_tokens or {}).items():
            if token not in ACTION_TOKENS:
                raise ValueError(f"action_tokens: {name!r} maps to {token!r}, not one of "
                                 f"{ACTION_TOKENS}")
        # Bad limits fail here, not at fit (0 stands in for the [CLS] ID, unknown before fit).
        self._limits(cls_id=0 if cls else -1)
        self.tokenizer: Optional[Tokenizer] = None
        self.fields: list[tuple[str, str]] = []  # (catalogue field, marker), in item-text order
        self.special_tokens: list[str] = []
        self.action_names: Optional[list[str]] = None
        self._item_text: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._fitted: Optional[Dataset] = None  # for SessionSets split from it; not saved
        self._queries = None  # (dataset.queries list, offsets, ids) of the last dataset seen

    # --------------------------------------------------------------------------------- fit
    def _limits(self, cls_id: int) -> _core.InteractionConfig:
        c = _core.InteractionConfig()
        c.max_interactions = self.params["max_interactions"]
        c.max_title_tokens = self.params["max_title_tokens"]
        c.max_tokens_per_interaction = self.params["max_tokens_per_interaction"]
        c.cls_id = cls_id
        c.validate()
        return c

    def _resolve_fields(self, catalog) -> list[tuple[str, str]]:
        text, categorical = list(catalog.text_fields()), list(catalog.categorical_fields())
        known = text + categorical

        def check(name, what):
            if name not in known:
                raise KeyError(f"InteractionTokenizer: {what} {name!r} is not a field of the "
                               f"catalogue; its text fields are {text} and its categorical "
                               f"fields {categorical}")
            return name

        p = self.params
        if p["title_field"] is not None:
            title = check(p["title_field"], "title_field")
        else:
            own = [f for f in text if f != "text"]
            title = "title" if "title" in text else (own[0] if own else ("text" if text else None))
        if p["category_field"] is not None:
            category = check(p["category_field"], "category_field")
        else:
            category = next((f for f in known if f.lower() == "category" and f != title), None)
        if p["attributes"] is not None:
            attributes = [check(a, "attribute") for a in p["attributes"]]
            taken = [a for a in attributes if a in (title, category)]
            if taken:
                raise ValueError(f"InteractionTokenizer: {taken} already serve as the title or "
                                 "the category; leave them out of attributes")
        else:
            # "text" is the loaders' join of the other text fields (or the title itself).
            others = [f for f in text if f not in (title, category, "text")]
            attributes = others + [f for f in categorical if f != category]
        fields = [(title, TITLE_TOKEN)] if title is not None else []
        if category is not None:
            fields.append((category, CATEGORY_TOKEN))
        fields += [(a, _marker(a)) for a in attributes]
        markers = [m for _, m in fields]
        reserved = set(BASE_TOKENS + ACTION_TOKENS)
        clash = [m for m in markers if m in reserved or markers.count(m) > 1]
        if clash:
            raise ValueError(f"InteractionTokenizer: attribute tokens {sorted(set(clash))} clash "
                             "with each other or with a reserved token; pick attributes= or "
                             "rename the fields")
        return fields

    @staticmethod
    def _field_values(catalog, name: str) -> list[str]:
        if name in catalog.text_fields():
            return catalog.text(name)
        codes, vocabulary = catalog.categorical(name)
        table = np.asarray(list(vocabulary) + [""], dtype=object)  # code -1 reads ""
        return table[np.asarray(codes)].tolist()

    def fit(self, dataset: Dataset) -> "InteractionTokenizer":
        """Train the sentencepiece model on ``dataset``'s field values and queries, and tokenize
        its catalogue (each item's text, see the module docstring). Returns self."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"fit needs a sessrec Dataset, got {type(dataset).__name__}")
        p = self.params
        fields = self._resolve_fields(dataset.catalog)
        action_names = dataset.action_names if dataset.sessions.actions is not None else None
        self._action_ids_by_code(action_names, check_only=True)
        if not fields and dataset.queries is None:
            raise ValueError(f"{dataset.name}: no text or categorical field and no queries; an "
                             "interaction's content is its item's text or its query")
        values = {name: self._field_values(dataset.catalog, name) for name, _ in fields}
        corpus = [v for column in values.values() for v in column]
        if dataset.queries is not None:
            corpus += dataset.queries
        markers = [TITLE_TOKEN, CATEGORY_TOKEN] + [m for _, m in fields
                                                   if m not in (TITLE_TOKEN, CATEGORY_TOKEN)]
        special = list(BASE_TOKENS + ACTION_TOKENS) + markers
        tokenizer = Tokenizer.train(corpus, vocab_size=p["vocab_size"],
                                    model_type=p["model_type"], lowercase=p["lowercase"],
                                    special_tokens=special, seed=p["seed"])
        self.tokenizer, self.fields, self.special_tokens = tokenizer, fields, special
        self.action_names = None if action_names is None else list(action_names)
        core_fields = []
        for name, marker in fields:
            offsets, ids = tokenizer.encode_catalog(values[name])
            core_fields.append((offsets, ids, self.token_id(marker), marker == TITLE_TOKEN))
        offsets, ids = _core.interaction_item_text(core_fields, dataset.num_items,
                                                   self._limits(cls_id=-1))
        self._item_text = (np.asarray(offsets, dtype=np.int64), np.asarray(ids, dtype=np.int32))
        self._fitted, self._queries = dataset, None
        return self

    # ------------------------------------------------------------------------------ lookups
    def _require_fit(self) -> None:
        if self.tokenizer is None:
            raise RuntimeError("InteractionTokenizer: call fit(dataset) (or from_bytes) first")

    def token_id(self, token: str) -> int:
        """The ID of a special token (KeyError for one this tokenizer does not have)."""
        self._require_fit()
        if token not in self.special_tokens:
            raise KeyError(f"{token!r} is not a special token here; they are "
                           f"{self.special_tokens}")
        return int(self.tokenizer._core.piece_id(token))

    @property
    def vocab_size(self) -> int:
        self._require_fit()
        return self.tokenizer.vocab_size

    @property
    def num_items(self) -> int:
        self._require_fit()
        return len(self._item_text[0]) - 1

    @property
    def item_text(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, ids): item ``i``'s text tokens (markers and field tokens, no [CLS], no
        action) are ``ids[offsets[i]:offsets[i+1]]``."""
        self._require_fit()
        return self._item_text

    def _cls_id(self) -> int:
        return self.token_id("[CLS]") if self.params["cls"] else -1

    def _action_ids_by_code(self, action_names, check_only: bool = False) -> list[int]:
        if action_names is None:
            return []
        table = dict(ACTION_ALIASES)
        table.update({_action_key(k): v for k, v in (self.params["action_tokens"] or {}).items()})
        tokens, unknown = [], []
        for name in action_names:
            token = table.get(_action_key(name))
            if token is None:
                unknown.append(name)
            tokens.append(token)
        if unknown:
            raise ValueError(f"InteractionTokenizer: no action token for the action names "
                             f"{unknown}; pass action_tokens={{name: token}} with tokens from "
                             f"{ACTION_TOKENS}")
        return [] if check_only else [self.token_id(t) for t in tokens]

    # ------------------------------------------------------------------------------ queries
    def _query_tokens(self, dataset: Dataset):
        """(offsets, ids) of ``dataset``'s per-event queries, tokenized once per dataset."""
        if dataset.queries is None:
            return None
        if self._queries is None or self._queries[0] is not dataset.queries:
            offsets, ids = self.tokenizer.encode_catalog(dataset.queries)
            self._queries = (dataset.queries, offsets, ids)
        return self._queries[1:]

    def _source(self, sessions, dataset):
        """(store, dataset for queries and action names or None, query rows or None)."""
        if isinstance(sessions, Dataset):
            return sessions.sessions, sessions, None
        if not isinstance(sessions, SessionSet):
            raise TypeError(f"expected a sessrec Dataset or SessionSet, got "
                            f"{type(sessions).__name__}")
        store = sessions.sessions
        if dataset is None and self._fitted is not None and \
                sessions.dataset_name == self._fitted.name:
            dataset = self._fitted
        if dataset is None:
            return store, None, None
        if sessions.session_index is None or dataset.queries is None:
            return store, dataset, None
        # Event j of the part's session s is event j of the source session session_index[s].
        source = np.asarray(dataset.sessions.offsets)
        index = np.asarray(sessions.session_index, dtype=np.int64)
        offsets = np.asarray(store.offsets)
        lengths = np.diff(offsets)
        if len(index) != len(lengths) or (index < 0).any() or (index >= len(source) - 1).any() \
                or (lengths > np.diff(source)[index]).any():
            raise ValueError(f"the sessions do not come from dataset {dataset.name!r} (their "
                             "session_index does not match its sessions)")
        rows = np.repeat(source[:-1][index] - offsets[:-1], lengths) + np.arange(len(store.items))
        return store, dataset, rows.astype(np.int64)

    # ------------------------------------------------------------------------------- encode
    def prefixes(self, sessions, begin, end, dataset: Optional[Dataset] = None
                 ) -> InteractionTokens:
        """The interactions of the event ranges ``[begin[r], end[r])`` of ``sessions``' store
        (a Dataset or a SessionSet; ranges inside one session), the most recent
        ``max_interactions`` of each. A SessionSet reads query text and action names from
        ``dataset``, the Dataset it was split from (default: the fitted one when the names
        match); without it, its search events read their items' text."""
        self._require_fit()
        store, source, rows = self._source(sessions, dataset)
        names = source.action_names if source is not None else self.action_names
        by_code = self._action_ids_by_code(names if store.actions is not None else None)
        if store.actions is not None and not by_code:
            raise ValueError("the sessions carry action codes but no action names; build the "
                             "Dataset with action_names")
        queries = self._query_tokens(source) if source is not None else None
        query_offsets, query_ids = queries if queries is not None else (None, None)
        if queries is not None and rows is None and len(query_offsets) - 1 != store.num_events:
            raise ValueError(f"{len(query_offsets) - 1} queries for {store.num_events} events")
        out = _core.interaction_token_lists(
            store, np.asarray(begin, dtype=np.int64), np.asarray(end, dtype=np.int64),
            *self._item_text, by_code, self.token_id("[VIEW]"), self._limits(self._cls_id()),
            query_offsets=query_offsets, query_ids=query_ids, query_rows=rows)
        return InteractionTokens(**out)

    def sessions(self, sessions, dataset: Optional[Dataset] = None) -> InteractionTokens:
        """Every session of a Dataset or SessionSet (see :meth:`prefixes`)."""
        offsets = np.asarray(self._source(sessions, dataset)[0].offsets)
        return self.prefixes(sessions, offsets[:-1], offsets[1:], dataset)

    def histories(self, part: SessionSet, dataset: Optional[Dataset] = None
                  ) -> InteractionTokens:
        """The history of every next-item example of ``part`` (``part.examples()``), one
        session each, in example order (see :meth:`prefixes`)."""
        examples = part.examples()
        return self.prefixes(part, examples.begin, examples.end, dataset)

    def items(self, indices=None) -> InteractionTokens:
        """Catalogue items (default: all) as one-interaction sessions without action token,
        UBM's NIP candidates: [CLS] and the item's text, cut to max_tokens_per_interaction."""
        self._require_fit()
        if indices is None:
            indices = np.arange(self.num_items, dtype=np.int32)
        out = _core.item_interaction_lists(*self._item_text, np.asarray(indices, dtype=np.int32),
                                           self._limits(self._cls_id()))
        return InteractionTokens(**out)

    # -------------------------------------------------------------------------- save / load
    def to_bytes(self) -> bytes:
        """The settings, the sentencepiece model, the fields and the item text tokens (not the
        queries, which belong to a dataset)."""
        self._require_fit()
        header = dict(format=FORMAT, version=FORMAT_VERSION, params=self.params,
                      fields=self.fields, special_tokens=self.special_tokens,
                      action_names=self.action_names)
        buffer = io.BytesIO()
        np.savez(buffer, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                 sentencepiece=np.frombuffer(self.tokenizer.to_bytes(), dtype=np.uint8),
                 item_offsets=self._item_text[0], item_ids=self._item_text[1])
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "InteractionTokenizer":
        """Restore :meth:`to_bytes` output; ValueError for anything else."""
        try:
            with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as f:
                header = json.loads(f["header"].tobytes().decode())
                model = f["sentencepiece"].tobytes()
                item_text = (f["item_offsets"].astype(np.int64), f["item_ids"].astype(np.int32))
        except Exception as e:  # zip, key and JSON errors alike
            raise ValueError(f"not InteractionTokenizer bytes ({type(e).__name__}: {e})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"not InteractionTokenizer bytes (format {header.get('format')!r})"
                             if isinstance(header, dict) else "not InteractionTokenizer bytes")
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"InteractionTokenizer bytes of version {header.get('version')}; "
                             f"this sessrec reads version {FORMAT_VERSION}")
        out = cls(**header["params"])
        out.tokenizer = Tokenizer.from_bytes(model)
        out.fields = [tuple(f) for f in header["fields"]]
        out.special_tokens = list(header["special_tokens"])
        out.action_names = header["action_names"]
        out._item_text = item_text
        return out

    def __getstate__(self):
        return self.to_bytes()

    def __setstate__(self, state):
        self.__dict__.update(InteractionTokenizer.from_bytes(state).__dict__)

    def __repr__(self) -> str:
        p = self.params
        fitted = f", items={self.num_items}, vocab={self.vocab_size}" if self.tokenizer else ""
        return (f"InteractionTokenizer(max_interactions={p['max_interactions']}, "
                f"max_title_tokens={p['max_title_tokens']}, "
                f"max_tokens_per_interaction={p['max_tokens_per_interaction']}{fitted})")


__all__ = ["InteractionTokenizer", "InteractionTokens", "ACTION_TOKENS", "ACTION_ALIASES",
           "BASE_TOKENS"]
