"""Seeded synthetic sessions with item text, actions and query text (generated in C++)."""

from __future__ import annotations

import numpy as np

from .. import _core
from ..dataset import Dataset

ACTION_NAMES = ["search", "view", "add_to_cart", "buy"]


def synthetic(
    num_items: int = 1000,
    num_sessions: int = 5000,
    seed: int = 0,
    with_queries: bool = True,
    name: str = "synthetic",
    **config,
) -> Dataset:
    """Generate a dataset; ``config`` sets any field of ``sessrec._core.SyntheticConfig``:
    num_topics, num_brands, zipf_exponent, mean_session_length, topic_drift,
    repeat_probability, cold_share, cold_period, search_share, add_share, buy_share,
    start_time, time_span.

    Cold items occur only in sessions that start in the last ``cold_period`` share of the time
    span, so ``split("time", test=cold_period)`` holds them out of training. Per-event query
    text (``with_queries``) costs one Python string per event; turn it off at scale.
    """
    cfg = _core.SyntheticConfig()
    cfg.num_items, cfg.num_sessions, cfg.seed = num_items, num_sessions, seed
    for key, value in config.items():
        if not hasattr(cfg, key):
            raise TypeError(f"synthetic() got an unknown setting {key!r}")
        setattr(cfg, key, value)
    data = _core.generate_synthetic(cfg, with_queries)
    catalog = _core.Catalog(data["item_ids"])
    catalog.set_text("title", data["titles"])
    catalog.set_text("text", data["titles"])
    catalog.set_numeric("price", data["price"])
    catalog.set_categorical("brand", data["brand"], data["brand_names"])
    topics = data["topic"]
    catalog.set_categorical("topic", topics, [f"topic{t}" for t in range(int(topics.max()) + 1)])
    catalog.set_numeric("cold", data["cold"].astype(np.float32))
    return Dataset(
        name,
        data["sessions"],
        catalog,
        action_names=ACTION_NAMES,
        queries=data.get("queries"),
    )
