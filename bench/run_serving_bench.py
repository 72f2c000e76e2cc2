"""Serving and ranking at catalogue scale (issue 15): ItemCF's exact sparse ranking against the
dense path, and one-session latency of an embedding model's exact search against its int8, bf16
and hnsw indexes, with recall@20 against exact search. Prints one JSON report; writes nothing.

    nice -n 10 .venv/bin/python bench/run_serving_bench.py [--items 1400000] [--sessions 1000000]
        [--serve-items 1000000] [--dim 64] [--threads 2] [--part itemcf|serving|all]

ItemCF: synthetic data (sr.datasets.synthetic, no query text, mean session length 4.5), time
split, ItemCF(top_n=100); m.rank over every test example (sparse, the default now) against the
former dense path (``_core.rank_examples`` on the scorer: a score row per example) on a fixed
sample of --dense-sample examples, whose ranks must be equal; top-20 alike (recommend_arrays
against ``sessrec.serving.dense_top_k``).

Serving: a SASRec (dim --dim, one layer) built on a synthetic catalogue of --serve-items items;
its item table is replaced by a clustered table (--clusters topic centres plus noise, unequal
norms) so that search has structure to find, as a trained table has. One session per call
(exclude_history on, k=20) for --queries sessions: median and p90 latency of exact search
(dense scores, the evaluation default) and of each index; recall@20 of each against exact; the
index's build time and bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

import sessrec as sr
from sessrec import _core
from sessrec.serving import dense_top_k


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(),
            "threads": sr.get_num_threads()}


def bench_itemcf(args) -> dict:
    start = time.perf_counter()
    ds = sr.datasets.synthetic(num_items=args.items, num_sessions=args.sessions, seed=0,
                               with_queries=False, mean_session_length=4.5)
    generation_s = time.perf_counter() - start
    train, _, test = ds.split("time", valid=0.1, test=0.1, max_history=50)
    start = time.perf_counter()
    model = sr.models.ItemCF(top_n=100).fit(train)
    fit_s = time.perf_counter() - start
    ex = test.examples()
    begin, end, session = (np.asarray(ex.begin), np.asarray(ex.end), np.asarray(ex.session))
    model._sparse_ranking()  # built once per model (sorting the fallback order)

    start = time.perf_counter()
    ranks = model.rank(test, progress=False)
    sparse_rank_s = time.perf_counter() - start

    sample = np.sort(np.random.default_rng(0).choice(len(end), min(args.dense_sample, len(end)),
                                                     replace=False))
    part = _core.ExampleSet(begin[sample], end[sample], session[sample])
    start = time.perf_counter()
    dense_ranks = _core.rank_examples(model._scorer(), test.sessions, part, "pessimistic", False)
    dense_rank_s = time.perf_counter() - start
    if not np.array_equal(dense_ranks, ranks[sample]):
        raise AssertionError("sparse and dense ItemCF ranks differ")

    items = np.asarray(test.sessions.items)
    start = time.perf_counter()
    top = model.recommend_arrays(sr.SessionArrays(items, begin, end), 20)
    sparse_top_s = time.perf_counter() - start
    start = time.perf_counter()
    dense_top = dense_top_k(model, items, begin[sample], end[sample], 20, True)
    dense_top_s = time.perf_counter() - start
    if not (np.array_equal(dense_top[0], top[0][sample])
            and np.array_equal(dense_top[1], top[1][sample])):
        raise AssertionError("sparse and dense ItemCF top-20 differ")
    return {
        "items": ds.num_items, "sessions": ds.sessions.num_sessions,
        "train_events": train.sessions.num_events, "test_examples": len(end),
        "generation_s": round(generation_s, 1), "fit_s": round(fit_s, 1),
        "rank_examples_per_s": {"sparse": round(len(end) / sparse_rank_s),
                                "dense": round(len(sample) / dense_rank_s),
                                "dense_sample": len(sample)},
        "top20_sessions_per_s": {"sparse": round(len(end) / sparse_top_s),
                                 "dense": round(len(sample) / dense_top_s)},
        "hits_at_20": float(np.mean(ranks <= 20)),
    }


def clustered_table(num_items: int, dim: int, clusters: int, rng) -> np.ndarray:
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    table = centres[rng.integers(0, clusters, num_items)]
    table += 0.5 * rng.standard_normal((num_items, dim)).astype(np.float32)
    table *= rng.uniform(0.5, 1.5, (num_items, 1)).astype(np.float32)
    return table


def latencies(model, sessions, k) -> tuple[dict, np.ndarray]:
    seconds, found = [], []
    for s in sessions:
        start = time.perf_counter()
        top, _ = model.recommend_arrays([s], k)
        seconds.append(time.perf_counter() - start)
        found.append(top[0])
    ms = 1000 * np.asarray(seconds)
    return {"median_ms": round(float(np.median(ms)), 2),
            "p90_ms": round(float(np.percentile(ms, 90)), 2)}, np.asarray(found)


def bench_serving(args) -> dict:
    rng = np.random.default_rng(0)
    ds = sr.datasets.synthetic(num_items=args.serve_items, num_sessions=args.serve_items // 5,
                               seed=1, with_queries=False, mean_session_length=4.5)
    train = ds.split("time", valid=0.1, test=0.1)[0]
    model = sr.models.SASRec(dim=args.dim, layers=1, heads=1, max_len=20, seed=0).build(train)
    weights = model.core.get_parameters()
    weights["item_embedding"] = np.array(weights["item_embedding"])
    weights["item_embedding"][1:] = clustered_table(model.num_items, args.dim, args.clusters, rng)
    model.core.set_parameters(weights)
    sessions = [list(rng.integers(0, model.num_items, 5)) for _ in range(args.queries)]
    model.recommend_arrays(sessions[:2], args.k)  # warm-up
    exact, truth = latencies(model, sessions, args.k)
    report = {"items": model.num_items, "dim": args.dim, "queries": args.queries,
              "exact": exact}
    for kind, settings in (("int8", {"pool": 256}), ("bf16", {"pool": 256}),
                           ("hnsw", {"pool": 64, "M": 16, "ef_construction": 100, "ef": 128})):
        start = time.perf_counter()
        model.build_index(kind, **settings)
        build_s = time.perf_counter() - start
        model.recommend_arrays(sessions[:2], args.k)
        timing, found = latencies(model, sessions, args.k)
        recall = np.mean([len(np.intersect1d(t, f)) / args.k for t, f in zip(truth, found)])
        nbytes = (model.index._quantised.nbytes if model.index._quantised is not None
                  else int(model.index.state()["hnsw"].size))
        report[kind] = {**timing, f"recall@{args.k}": round(float(recall), 4),
                        "build_s": round(build_s, 1), "index_mib": round(nbytes / 2**20),
                        "settings": settings}
        model.drop_index()
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["itemcf", "serving", "all"], default="all")
    parser.add_argument("--items", type=int, default=1_400_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--dense-sample", type=int, default=300)
    parser.add_argument("--serve-items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sr.set_num_threads(args.threads)
    sr.set_progress(False)
    report = {"machine": machine(), "args": vars(args)}
    if args.part in ("itemcf", "all"):
        report["itemcf"] = bench_itemcf(args)
    if args.part in ("serving", "all"):
        report["serving"] = bench_serving(args)
    report["machine"]["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
