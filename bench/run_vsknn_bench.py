"""V-SKNN tuned on validation, then evaluated once on test, next to ItemCF.

    .venv/bin/python bench/run_vsknn_bench.py [--datasets online_retail yoochoose_100k]
        [--threads 1] [--out out/vsknn_bench.json]

Datasets and parts:

* online_retail: ``ds.split("time", valid=0.1, test=0.1)``; models fit on the training part,
  tuned on the validation part, evaluated on the test part.
* yoochoose_100k (/work/shared/data/yoochoose_100k, session-rec's pre-split files): tuned by
  fitting on train_tr and evaluating train_valid; the chosen setting is then fit on train_full
  and evaluated on test. Every position of an evaluated session is an example; items never
  seen in training stay in the catalogue (they count as misses; session-rec drops them).

Metrics: Hits@20, NDCG@20, MRR@20 over the whole catalogue, pessimistic ties, the session's
own items competing (``sr.evaluate`` defaults). The search selects on validation NDCG@20 and
is a coordinate search from session-rec's defaults, each stage keeping the best so far:
(1) weighting x weighting_score x similarity, (2) k x sample_size, then sampling,
(3) idf_weighting x remind x last_n_clicks, (4) stage 1 again. The test part is scored once,
for the defaults and for the chosen setting. Every trial goes to --out as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sessrec as sr
from sessrec.dataset import SPLIT_LABELS

YOOCHOOSE = Path("/work/shared/data/yoochoose_100k")
DECAYS = ("same", "div", "linear", "log", "quadratic")
METRICS = ("Hits@20", "NDCG@20", "MRR@20")
SELECT_ON = "NDCG@20"
# session-rec's defaults (k and sample_size from its docstring): where the search starts, so
# the search does not depend on sessrec's defaults (which it chose).
SESSION_REC = dict(k=100, sample_size=500, sampling="recent", similarity="vec", weighting="div",
                   weighting_score="div", idf_weighting=0.0, remind=True, last_n_clicks=None)


def yoochoose_parts(train_file: str, eval_file: str):
    """(train, eval) SessionSets from two of the pre-split files, over one catalogue."""
    frames = {f: pd.read_csv(YOOCHOOSE / f"yoochoose-clicks-100k_{f}.txt.gz", sep="\t")
              for f in (train_file, eval_file)}
    combined = Path("out") / f"yoochoose_100k_{train_file}+{eval_file}.tsv"
    combined.parent.mkdir(exist_ok=True)
    pd.concat(frames.values()).to_csv(combined, sep="\t", index=False)
    ds = sr.datasets.load_interactions(combined, session_column="SessionId", item_column="ItemId",
                                       time_column="Time", name="yoochoose_100k")
    eval_ids = frames[eval_file]["SessionId"].astype(str).unique()
    held_out = np.isin(ds.session_ids.astype(str), eval_ids)
    ds.session_split = np.where(held_out, SPLIT_LABELS["test"], SPLIT_LABELS["train"])
    train, _, evaluated = ds.split("given")
    return train, evaluated


def datasets(names):
    """name -> (tuning train, validation, final train, test)."""
    out = {}
    for name in names:
        if name == "online_retail":
            train, valid, test = sr.datasets.load("online_retail").split("time", valid=0.1,
                                                                         test=0.1)
            out[name] = (train, valid, train, test)
        elif name == "yoochoose_100k":
            out[name] = (*yoochoose_parts("train_tr", "train_valid"),
                         *yoochoose_parts("train_full", "test"))
        else:
            raise ValueError(f"unknown dataset {name!r}")
    return out


def evaluate(model, part) -> dict:
    row = sr.evaluate(model, part, k=(20,), metrics=("Hits", "NDCG", "MRR"),
                      progress=False).loc[("overall", "all")]
    return {m: float(row[m]) for m in METRICS}


def tune(train, valid, log):
    """Coordinate search on validation from SESSION_REC; returns the best parameters."""
    best, best_value, seen = dict(SESSION_REC), -1.0, {}

    def trial(params):
        nonlocal best, best_value
        key = json.dumps(params, sort_keys=True)
        if key not in seen:
            start = time.perf_counter()
            scores = evaluate(sr.models.SessionKNN(**params).fit(train), valid)
            seen[key] = scores
            log.append({"params": params, "valid": scores,
                        "seconds": round(time.perf_counter() - start, 1)})
            changed = {k: v for k, v in params.items() if SESSION_REC.get(k) != v}
            print(f"  {changed} {scores[SELECT_ON]:.4f}", flush=True)
        if seen[key][SELECT_ON] > best_value:
            best, best_value = dict(params), seen[key][SELECT_ON]

    def stage(grid):
        base = dict(best)
        for values in itertools.product(*grid.values()):
            trial({**base, **dict(zip(grid.keys(), values))})

    trial(dict(SESSION_REC))
    scoring = {"weighting": DECAYS, "weighting_score": DECAYS,
               "similarity": ("vec", "cosine", "jaccard")}
    stage(scoring)
    stage({"k": (50, 100, 200, 500, 1000), "sample_size": (250, 500, 1000, 2500, 5000, 0)})
    stage({"sampling": ("recent", "random")})
    stage({"idf_weighting": (0.0, 1.0, 2.0, 5.0, 10.0), "remind": (True, False),
           "last_n_clicks": (None, 10, 5, 3)})
    stage(scoring)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["online_retail", "yoochoose_100k"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="out/vsknn_bench.json")
    args = parser.parse_args()
    sr.set_num_threads(args.threads)
    report = {}
    for name, (tune_train, valid, final_train, test) in datasets(args.datasets).items():
        print(f"{name}: tuning on {valid.num_examples()} validation examples", flush=True)
        log = []
        best = tune(tune_train, valid, log)
        rows = {}
        for label, make in [("ItemCF", lambda: sr.models.ItemCF()),
                            ("V-SKNN, weighting_score='same' (the old scoring)",
                             lambda: sr.models.SessionKNN(**{**SESSION_REC,
                                                             "weighting_score": "same"})),
                            ("V-SKNN, session-rec defaults",
                             lambda: sr.models.SessionKNN(**SESSION_REC)),
                            ("V-SKNN, sessrec defaults", lambda: sr.models.SessionKNN()),
                            ("V-SKNN, tuned on validation", lambda: sr.models.SessionKNN(**best))]:
            rows[label] = {"valid": evaluate(make().fit(tune_train), valid),
                           "test": evaluate(make().fit(final_train), test)}
        report[name] = {"best": best, "rows": rows, "trials": log}
        changed = {k: v for k, v in best.items() if SESSION_REC.get(k) != v}
        print(f"\n### {name}\n\nchosen on validation {SELECT_ON}: session-rec's defaults with "
              f"`{changed}`\n")
        print("| model | " + " | ".join(f"valid {m}" for m in METRICS) + " | "
              + " | ".join(f"test {m}" for m in METRICS) + " |")
        print("|---" * (1 + 2 * len(METRICS)) + "|")
        for label, r in rows.items():
            print(f"| {label} | " + " | ".join(f"{r['valid'][m]:.4f}" for m in METRICS) + " | "
                  + " | ".join(f"{r['test'][m]:.4f}" for m in METRICS) + " |")
        print(flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
