"""LangEmb (KDD Cup 2023 §2.1.3): the paper's Table 2 ablation of the decoupled contrastive loss
on real data, with cold targets.

    .venv/bin/python bench/run_lang_emb_bench.py --datasets online_retail ml-100k \\
        --seeds 0 1 2 --out bench/lang_emb_table2.jsonl
    .venv/bin/python bench/run_lang_emb_bench.py --report bench/lang_emb_table2.jsonl

Data: online_retail (embedded) split by time 0.8/0.1/0.1 with the last item of each held-out
session as its target (the paper validated on "the final item serving as the label");
ml-100k (../shared/data/ml-100k, RecBole atomic files: titles and genres as the item's
attributes) leave-one-out. Model selection (early stopping) on the validation part only; the
test part is read once per run. Every row trains from scratch (the paper fine-tunes a
pre-trained BERT for three epochs; nothing is downloaded here), 2 layers, dim 64, 3 epochs,
batch 256, one thread. Metrics: MRR@100 (the paper's), Hits@20 and NDCG@20, overall and on
cold targets (items with no training event). Each run appends one JSON line to --out; runs
already in the file are skipped, so the script resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import sessrec as sr
from kdd_common import seed_table, load_parts, metrics
from sessrec.models.lang_emb import TABLE2_VARIANTS

SETTINGS = dict(dim=64, layers=2, heads=2, ffn_dim=256, max_tokens=64, max_len=10, epochs=3,
                batch_size=256, lr=1e-3, threads=1)


def run(dataset: str, variant: str, seed: int, parts) -> dict:
    train, valid, test = parts
    start = time.perf_counter()
    model = sr.models.LangEmb(**{**SETTINGS, **TABLE2_VARIANTS[variant]}, seed=seed)
    model.fit(train, valid, progress=False)
    seconds = time.perf_counter() - start
    queues = [getattr(model.core.objective, f"{s}_queue") for s in ("anchor", "positive")]
    return dict(dataset=dataset, variant=variant, seed=seed, seconds=seconds,
                epochs=int(model.epochs_done),
                queue_bytes=int(sum(q.get_state()[0].nbytes for q in queues if q is not None)),
                history=model.history_.to_dict("records"), valid=metrics(model, valid),
                test=metrics(model, test), commit=os.popen("git rev-parse --short HEAD").read()
                .strip(), machine=platform.processor() or platform.machine())


def report(paths) -> str:
    return seed_table(paths, ("valid MRR@100", "test MRR@100", "test Hits@20", "test NDCG@20", "test cold MRR@100", "test cold Hits@20", "test cold NDCG@20"),
                      TABLE2_VARIANTS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["online_retail", "ml-100k"],
                        choices=["online_retail", "ml-100k"])
    parser.add_argument("--variants", nargs="+", default=list(TABLE2_VARIANTS),
                        choices=list(TABLE2_VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k")
    parser.add_argument("--out", type=Path, default=Path("bench/lang_emb_table2.jsonl"))
    parser.add_argument("--report", nargs="+", type=Path)
    args = parser.parse_args()
    if args.report:
        print(report(args.report))
        return
    done = set()
    if args.out.exists():
        for line in open(args.out):
            if line.strip():
                r = json.loads(line)
                done.add((r["dataset"], r["variant"], r["seed"]))
    for dataset in args.datasets:
        parts = load_parts(dataset, args.ml100k)
        for seed in args.seeds:
            for variant in args.variants:
                if (dataset, variant, seed) in done:
                    continue
                result = run(dataset, variant, seed, parts)
                with open(args.out, "a") as f:
                    f.write(json.dumps(result) + "\n")
                print(f"{dataset} {variant} seed {seed}: valid MRR@100 "
                      f"{result['valid']['MRR@100']:.4f}, test MRR@100 "
                      f"{result['test']['MRR@100']:.4f} ({result['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
