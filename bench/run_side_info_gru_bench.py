"""SideInfoGRU (issue 11, KDD Cup 2023 §2.1.2) against GRU4Rec, with and without side
information, on online_retail (price) and on the synthetic data (brand, topic, price).

Temporal split 0.8/0.1/0.1, every position of a held-out session a target. Each model trains up
to ``--epochs`` epochs with early stopping on validation NDCG@20 (patience 3; the best epoch's
weights are kept): the validation part is the only thing any choice looks at. The test part is
evaluated once per run: Hits@20, NDCG@20, MRR@100 over the full catalogue, pessimistic ties.
One JSON line per (variant, seed) is appended to ``--out`` as soon as the run ends, so a run
cut short keeps what it finished; ``--report`` prints the markdown table of a JSON-lines file.

    nice -n 5 .venv/bin/python bench/run_side_info_gru_bench.py --dataset online_retail \\
        --seeds 0 1 2 --out bench/side_info_gru_online_retail.jsonl
    nice -n 5 .venv/bin/python bench/run_side_info_gru_bench.py --dataset synthetic \\
        --seeds 0 1 2 --out bench/side_info_gru_synthetic.jsonl
    .venv/bin/python bench/run_side_info_gru_bench.py --report bench/side_info_gru_online_retail.jsonl
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

import sessrec as sr

# Shared by every model: GRU4Rec's bench settings (bench/RESULTS.md, "Neural model quality").
COMMON = dict(dim=64, hidden=64, max_len=50, dropout=0.2, batch_size=256, lr=1e-2, loss="ce",
              patience=3, metric="NDCG@20")
SYNTHETIC = dict(num_items=3000, num_sessions=30000, seed=0)

# variant name -> (class name, extra parameters)
VARIANTS = {
    "online_retail": {
        "GRU4Rec": ("GRU4Rec", {}),
        "SideInfoGRU, no side info": ("SideInfoGRU", dict(side_fields=[])),
        "SideInfoGRU, price": ("SideInfoGRU", dict(side_fields=["price"])),
        "SideInfoGRU, price, no residual": ("SideInfoGRU",
                                            dict(side_fields=["price"], residual=False)),
    },
    "synthetic": {
        "GRU4Rec": ("GRU4Rec", {}),
        "SideInfoGRU, no side info": ("SideInfoGRU", dict(side_fields=[])),
        "SideInfoGRU, price": ("SideInfoGRU", dict(side_fields=["price"])),
        "SideInfoGRU, brand": ("SideInfoGRU", dict(side_fields=["brand"])),
        "SideInfoGRU, brand + price": ("SideInfoGRU", dict(side_fields=["brand", "price"])),
        "SideInfoGRU, brand + topic + price": ("SideInfoGRU", dict(side_fields=None)),
    },
}
METRICS = ("Hits@20", "NDCG@20", "MRR@100")


def load(dataset: str):
    data = (sr.datasets.synthetic(**SYNTHETIC, with_queries=False) if dataset == "synthetic"
            else sr.datasets.load(dataset))
    return data.split("time", valid=0.1, test=0.1)


def test_metrics(model, part) -> dict:
    table = sr.evaluate(model, part, k=(20, 100), progress=False)
    return {m: float(table.loc[("overall", "all"), m]) for m in METRICS}


def metrics_from_ranks(ranks: np.ndarray) -> dict:
    """Hits@20, NDCG@20 and MRR@100 of 1-based target ranks (one relevant item per example)."""
    return {"Hits@20": float(np.mean(ranks <= 20)),
            "NDCG@20": float(np.mean(np.where(ranks <= 20, 1 / np.log2(ranks + 1), 0))),
            "MRR@100": float(np.mean(np.where(ranks <= 100, 1 / ranks, 0))), "examples": len(ranks)}


def by_unseen_history(model, train, test, max_len: int) -> dict:
    """Test metrics split by whether the history (its last ``max_len`` items, what the model
    reads) holds an item never seen in training: such an item's ID embedding is untrained, its
    side rows are not."""
    ranks = model.rank(test, progress=False)
    ex = test.examples()
    begin, end = np.asarray(ex.begin), np.asarray(ex.end)
    unseen = np.asarray(train.train_counts)[np.asarray(test.sessions.items)] == 0
    before = np.concatenate([[0], np.cumsum(unseen)])
    holds = before[end] - before[np.maximum(begin, end - max_len)] > 0
    return {"history holds an unseen item": metrics_from_ranks(ranks[holds]),
            "history all seen": metrics_from_ranks(ranks[~holds])}


def run(dataset: str, variant: str, seed: int, epochs: int, threads: int, parts) -> dict:
    train, valid, test = parts
    class_name, extra = VARIANTS[dataset][variant]
    model = getattr(sr.models, class_name)(**COMMON, **extra, epochs=epochs, seed=seed,
                                           threads=threads)
    start = time.time()
    model.fit(train, valid, progress=False)
    seconds = time.time() - start
    history = model.history_
    return dict(
        dataset=dataset, variant=variant, model=class_name, params={**COMMON, **extra},
        seed=seed, threads=threads, max_epochs=epochs, epochs_trained=int(len(history)),
        best_epoch=int(model.early_stopping_.epoch) if model.early_stopping_ else None,
        best_valid_ndcg20=float(history["valid_NDCG@20"].max()),
        side_fields=getattr(model, "side_fields_", None),
        side_sizes=getattr(model, "side_sizes_", None),
        train_seconds=seconds, seconds_per_epoch=float(history["seconds"].mean()),
        test=test_metrics(model, test),
        test_by_history=by_unseen_history(model, train, test, COMMON["max_len"]),
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        load_average=Path("/proc/loadavg").read_text().split()[:3],
    )


def report(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lines = ["| variant | seeds | " + " | ".join(f"test {m}" for m in METRICS)
             + " | best valid NDCG@20 | epochs trained (best) | s/epoch |",
             "|---|---|" + "---|" * (len(METRICS) + 3)]
    order = list(VARIANTS[rows[0]["dataset"]]) if rows else []
    present = dict.fromkeys(r["variant"] for r in rows)
    for variant in [v for v in order if v in present] + [v for v in present if v not in order]:
        runs = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["seed"])

        def cell(values):
            v = np.asarray(values)
            return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v[0]:.4f}"

        lines.append(
            f"| {variant} | {', '.join(str(r['seed']) for r in runs)} | "
            + " | ".join(cell([r["test"][m] for r in runs]) for m in METRICS)
            + f" | {cell([r['best_valid_ndcg20'] for r in runs])} | "
            + ", ".join(f"{r['epochs_trained']} ({r['best_epoch']})" for r in runs)
            + f" | {np.mean([r['seconds_per_epoch'] for r in runs]):.1f} |"
        )
    split = [r for r in rows if "test_by_history" in r]
    if split:
        lines += ["", "| variant | seeds | history | examples | test Hits@20 | test NDCG@20 | "
                  "test MRR@100 |", "|---|---|---|---|---|---|---|"]
        for variant in dict.fromkeys(r["variant"] for r in split):
            runs = sorted((r for r in split if r["variant"] == variant), key=lambda r: r["seed"])
            for part in runs[0]["test_by_history"]:
                cells = [np.mean([r["test_by_history"][part][m] for r in runs]) for m in METRICS]
                lines.append(f"| {variant} | {', '.join(str(r['seed']) for r in runs)} | {part} | "
                             f"{runs[0]['test_by_history'][part]['examples']} | "
                             + " | ".join(f"{c:.4f}" for c in cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(VARIANTS), default="online_retail")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", nargs="*", default=None,
                        help="names of VARIANTS[dataset] to run (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report", type=Path, default=None,
                        help="print the table of a JSON-lines file and exit")
    args = parser.parse_args()
    if args.report:
        print(report(args.report))
        return
    out = args.out or Path(f"bench/side_info_gru_{args.dataset}.jsonl")
    variants = args.variants or list(VARIANTS[args.dataset])
    unknown = [v for v in variants if v not in VARIANTS[args.dataset]]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS[args.dataset])}")
    parts = load(args.dataset)
    for seed in args.seeds:  # every variant of a seed before the next seed
        for variant in variants:
            row = run(args.dataset, variant, seed, args.epochs, args.threads, parts)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
