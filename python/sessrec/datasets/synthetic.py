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
    purchase_intent, start_time, time_span.

    ``purchase_intent`` (s in [0, 1], 0 by default: off, the output unchanged) makes purchases
    depend on the session. Each session draws a latent intent, on with probability 1/2. An
    intent session multiplies ``add_share`` and ``buy_share`` by 1 + 2s (capped so that with
    ``search_share`` they sum to at most 1), ``topic_drift`` by 1 - s, and moves
    ``repeat_probability`` a share s of the way to 0.3; a session without intent multiplies
    ``add_share`` and ``buy_share`` by 1 - s. Buyers therefore add to cart, repeat views and stay
    in few topics before they buy, and PIP labels (``sr.tasks.pip_examples``) can be predicted
    from the events before the purchase. Sessions must be long enough for PIP inputs of at least
    5 interactions (e.g. ``mean_session_length=12``).

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
    dataset = Dataset(
        name,
        data["sessions"],
        catalog,
        action_names=ACTION_NAMES,
        queries=data.get("queries"),
    )
    if "image" in data:  # image_dim > 0: image-like item vectors, catalogue order
        dataset.image_features = data["image"]
    return dataset
