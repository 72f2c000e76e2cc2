"""The KDD Cup 2023 5th-place system end to end: the paper's Table 3 (single retrievers, product
fusion, GBDT fusion without and with the extra features) on real and synthetic data, with cold
targets, the cost of each stage and the ranker's feature importances.

    .venv/bin/python bench/run_kdd_pipeline_bench.py --datasets online_retail ml-100k synthetic \\
        --seeds 0 1 2 --out bench/kdd_pipeline.jsonl
    .venv/bin/python bench/run_kdd_pipeline_bench.py --report bench/kdd_pipeline.jsonl

Data: online_retail (embedded) split by time 0.8/0.1/0.1, last-item targets (the paper
validated on "the final item serving as the label"); ml-100k (../shared/data/ml-100k: titles,
genres and release year as LangEmb's attributes) leave-one-out; the synthetic generator
(brand and topic as side fields and attributes) split by time, last-item targets. Validation
parts serve early stopping only; each test part is read once per run.

Retrievers (the paper's three): SideInfoGRU ("GRU", §2.1.2; price on online_retail, brand and
topic on synthetic, release year on ml-100k), ItemCF (eqs. 1-4, its defaults), LangEmb
(§2.1.3; as bench/run_lang_emb_bench.py's default row). They are fitted once on the training
part; the fusion variants reuse them (``refit_retrievers=False``), and the GBDT variants share
one fit of the retrievers per fold (``shared_out_of_fold_rows``; the "retriever" variant reads
its columns from the "all" rows), on ``--folds`` folds (the paper: five). The ", quota" rows
are sessrec's option, not the paper's: each retriever's top ``--quota`` items keep a candidate
place whatever their product score (without it, an item only LangEmb can score - one never
seen in training - never becomes a candidate). Only a ranker can use them: product fusion keeps
its candidates in product order, so reserved items would sit at the bottom of its list. Metrics: MRR@100, Hits@20,
NDCG@20, overall and on cold targets. Every run appends one JSON line to --out and is skipped
when already there.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import pandas as pd

import sessrec as sr
from kdd_common import seed_table, SYNTHETIC, load_parts, metrics
from sessrec.models.fusion_rerank import shared_out_of_fold_rows

GRU = dict(dim=64, hidden=64, epochs=10, max_len=20, threads=1)
LANG = dict(dim=64, layers=2, heads=2, ffn_dim=256, max_tokens=64, max_len=10, epochs=3,
            batch_size=256, lr=1e-3, threads=1)
SIDE_FIELDS = {"online_retail": ["price"], "synthetic": ["brand", "topic"],
               "ml-100k": ["release_year"]}
VARIANTS = ("GRU", "ItemCF", "LangEmb", "product fusion", "GBDT fusion (retriever features)",
            "GBDT fusion (all features)", "GBDT fusion (all features), quota")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(dataset: str, seed: int, parts, folds: int, quota: int, progress: bool) -> list[dict]:
    train, valid, test = parts
    fields = [f for f in SIDE_FIELDS[dataset]
              if f in train.catalog.numeric_fields() + train.catalog.categorical_fields()]
    makers = {
        "GRU": lambda: sr.models.SideInfoGRU(side_fields=fields, seed=seed, **GRU),
        "ItemCF": lambda: sr.models.ItemCF(),
        "LangEmb": lambda: sr.models.LangEmb(seed=seed, **LANG),
    }
    commit = os.popen("git rev-parse --short HEAD").read().strip()
    rows, fitted = [], {}
    for name, make in makers.items():
        start = time.perf_counter()
        model = make()
        if isinstance(model, sr.models.ItemCF):
            model.fit(train)
        else:
            model.fit(train, valid, progress=progress)
        seconds = time.perf_counter() - start
        fitted[name] = model
        rows.append(dict(variant=name, seconds=seconds, peak_mib=peak_mib(),
                         test=metrics(model, test), valid=metrics(model, valid)))
    retrievers = list(fitted.values())
    common = dict(retrievers=retrievers, refit_retrievers=False, folds=folds, seed=seed,
                  threads=1)
    start = time.perf_counter()
    product = sr.models.FusionRerank(ranker=None, **common).fit(train, valid, progress=progress)
    rows.append(dict(variant="product fusion", quota=0, seconds=time.perf_counter() - start,
                     peak_mib=peak_mib(), test=metrics(product, test),
                     valid=metrics(product, valid)))
    # One fit of the retrievers per fold serves every GBDT variant (the paper's candidates and
    # the quota's); the "retriever features" variant reads its columns from the "all" rows.
    gbdt = {"GBDT fusion (retriever features)": (sr.models.FusionRerank(features="retriever",
                                                                        **common), 0),
            "GBDT fusion (all features)": (sr.models.FusionRerank(features="all", **common), 0),
            "GBDT fusion (all features), quota": (
                sr.models.FusionRerank(features="all", quota=quota, **common), 1)}
    start = time.perf_counter()
    shared = shared_out_of_fold_rows([gbdt["GBDT fusion (all features)"][0],
                                      gbdt["GBDT fusion (all features), quota"][0]],
                                     train, valid, progress=progress)
    rows_seconds = time.perf_counter() - start
    for name, (model, which) in gbdt.items():
        start = time.perf_counter()
        model.fit(train, valid, progress=progress, rows=shared[which])
        row = dict(variant=name, quota=model.params["quota"],
                   seconds=time.perf_counter() - start, out_of_fold_seconds=rows_seconds,
                   timings={k: float(v) for k, v in model.timings_.items()},
                   peak_mib=peak_mib(), test=metrics(model, test), valid=metrics(model, valid),
                   best_iteration=model.best_iteration,
                   importances={k: float(v) for k, v in
                                model.feature_importances("gain").items()})
        rows.append(row)
    queues = [getattr(fitted["LangEmb"].core.objective, f"{s}_queue")
              for s in ("anchor", "positive")]
    queue_bytes = int(sum(q.get_state()[0].nbytes for q in queues if q is not None))
    for r in rows:
        r.update(dataset=dataset, seed=seed, folds=folds, commit=commit,
                 langemb_queue_bytes=queue_bytes, ranker_rows=int(len(shared[0]["label"])))
    return rows


def report(paths) -> str:
    return seed_table(paths, ("test MRR@100", "test Hits@20", "test NDCG@20", "test cold MRR@100", "test cold Hits@20"),
                      VARIANTS)


def plot_importances(paths, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    rows = [r for r in rows if r["variant"] == "GBDT fusion (all features)"]
    if not rows:
        return
    datasets = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 7), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        frame = pd.DataFrame([r["importances"] for r in rows if r["dataset"] == dataset])
        mean = frame.mean().sort_values()
        shares = mean / mean.sum()
        shares.tail(20).plot.barh(ax=ax)
        ax.set_title(f"{dataset}: rerank feature importance (gain share, {len(frame)} seeds)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["online_retail", "ml-100k", "synthetic"],
                        choices=["online_retail", "ml-100k", "synthetic"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--quota", type=int, default=10,
                        help="the quota variants' reserved places per retriever (the paper: 0)")
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k")
    parser.add_argument("--out", type=Path, default=Path("bench/kdd_pipeline.jsonl"))
    parser.add_argument("--report", nargs="+", type=Path)
    parser.add_argument("--plot", type=Path, default=Path("bench/figures/kdd_rerank_importance.png"))
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny models and a small synthetic catalogue: checks the script "
                             "runs, measures nothing")
    args = parser.parse_args()
    if args.smoke:
        GRU.update(dim=16, hidden=16, epochs=1)
        LANG.update(dim=16, layers=1, ffn_dim=32, epochs=1, max_tokens=32)
        SYNTHETIC.update(num_items=200, num_sessions=1500)
    if args.report:
        print(report(args.report))
        plot_importances(args.report, args.plot)
        return
    done = set()
    if args.out.exists():
        done = {(r["dataset"], r["seed"]) for r in map(json.loads, open(args.out)) if r}
    for dataset in args.datasets:
        for seed in args.seeds:
            if (dataset, seed) in done:
                continue
            parts = load_parts(dataset, args.ml100k, seed)
            rows = run(dataset, seed, parts, args.folds, args.quota, args.progress)
            with open(args.out, "a") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
            for r in rows:
                print(f"{dataset} seed {seed} {r['variant']}: test MRR@100 "
                      f"{r['test']['MRR@100']:.4f}, NDCG@20 {r['test']['NDCG@20']:.4f} "
                      f"({r['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
