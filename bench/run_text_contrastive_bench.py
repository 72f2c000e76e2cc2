"""TextContrastive (the text encoder trained alone on (session text, next item text) pairs) on
online_retail: validation and test Hits@20 / NDCG@20, overall and on items never seen in
training, for in-batch InfoNCE and for InfoNCE with a memory queue filled by a momentum encoder.
One seed (training is stochastic: read the figures with that in mind). Early stopping keeps the
best epoch on the validation part; the test part is evaluated once.

    .venv/bin/python bench/run_text_contrastive_bench.py --out bench/text_contrastive_online_retail.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import sessrec as sr

CONFIGS = {
    "infonce": dict(),
    "infonce+queue+momentum": dict(queue_capacity=4096, momentum=0.995),
}
COMMON = dict(dim=64, layers=2, heads=2, ffn_dim=256, max_tokens=64, max_len=10, epochs=3,
              batch_size=256, lr=1e-3, temperature=0.05)


def metrics(model, part) -> dict:
    table = sr.evaluate(model, part, k=(20,), progress=False)
    rows = {"overall": ("overall", "all"), "cold": ("cold", "cold")}
    return {name: {k: float(table.loc[row, k]) for k in ("Hits@20", "NDCG@20")}
            for name, row in rows.items() if row in table.index}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/text_contrastive_online_retail.json"))
    args = parser.parse_args()
    train, valid, test = sr.datasets.load("online_retail").split("time", valid=0.1, test=0.1)
    out = {"params": COMMON, "seed": args.seed, "threads": args.threads, "runs": {}}
    for name, changes in CONFIGS.items():
        start = time.time()
        model = sr.models.TextContrastive(**COMMON, **changes, seed=args.seed,
                                          threads=args.threads)
        model.fit(train, valid, progress=False)
        out["runs"][name] = dict(seconds=time.time() - start, changes=changes,
                                 history=model.history_.to_dict("records"),
                                 valid=metrics(model, valid), test=metrics(model, test))
        print(name, json.dumps(out["runs"][name]), flush=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
