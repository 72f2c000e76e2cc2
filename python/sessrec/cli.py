"""Command line: ``sessrec demo``, ``sessrec evaluate``, ``sessrec cache``, ``sessrec synthetic``.

Run as ``python -m sessrec.cli ...`` or, once installed, ``sessrec ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

DEFAULT_MODELS = ("pop", "itemcf", "vsknn", "gru4rec", "sasrec", "meanpool")
MODEL_NAMES = DEFAULT_MODELS + ("textonly", "nfrec-sum", "nfrec-concat", "alterrec")


def _model(name: str, params: dict):
    from . import models

    classes = {
        "pop": models.POP,
        "itemcf": models.ItemCF,
        "vsknn": models.SessionKNN,
        "gru4rec": models.GRU4Rec,
        "sasrec": models.SASRec,
        "meanpool": models.MeanPool,
        "textonly": models.TextOnly,
        "nfrec-sum": lambda **p: models.NFRec("sum", **p),
        "nfrec-concat": lambda **p: models.NFRec("concat", **p),
        "alterrec": models.AlterRec,
    }
    if name not in classes:
        raise SystemExit(f"unknown model {name!r}; choose from {', '.join(classes)}")
    try:
        return classes[name](**params)
    except TypeError as e:
        raise SystemExit(f"bad parameter for {name}: {e}")


def _params(pairs) -> dict:
    out = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise SystemExit(f"--param expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        if value in ("true", "True"):
            value = True
        elif value in ("false", "False"):
            value = False
        out[key] = value
    return out


def _fit_and_evaluate(models: dict, train, test, k, ties, exclude_history, valid=None):
    import pandas as pd

    from .evaluation import evaluate
    tables, timings = {}, []
    for name, model in models.items():
        start = time.perf_counter()
        if hasattr(model, "history_"):  # trained models: neural encoders and AlterRec
            model.fit(train, valid)  # early stopping on the validation part, never on test
        else:
            model.fit(train)
        fitted = time.perf_counter()
        tables[name] = evaluate(model, test, k=k, ties=ties, exclude_history=exclude_history)
        timings.append(
            {"model": name, "fit_s": fitted - start, "evaluate_s": time.perf_counter() - fitted}
        )
    results = pd.concat(tables, names=["model"])
    results.attrs.update(dataset=test.dataset_name, part=test.role)
    return results, pd.DataFrame(timings).set_index("model")


def _print_results(results, k):
    import pandas as pd

    headline = [f"{m}@{kk}" for kk in k for m in ("Hits", "NDCG", "MRR")]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(results[["examples", *headline]].round(4).to_string())


def cmd_demo(args) -> int:
    """The main job: online_retail, temporal split, POP / ItemCF / V-SKNN, table and plot."""
    import sessrec as sr

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.threads:
        sr.set_num_threads(args.threads)
    ds = sr.datasets.load("online_retail")
    print(f"{ds}\n  source: {sr.datasets.ONLINE_RETAIL_ATTRIBUTION}")
    train, valid, test = ds.split("time", valid=args.valid, test=args.test,
                                  max_history=args.max_history)
    print(f"  split by time: train {len(train)} / valid {len(valid)} / test {len(test)} sessions;"
          f" {test.num_examples()} test examples, full ranking over {ds.num_items} items,"
          f" ties pessimistic, history items not excluded")
    models = {"POP": sr.models.POP(), "ItemCF": sr.models.ItemCF(), "V-SKNN": sr.models.SessionKNN()}
    k = tuple(args.k)
    results, timings = _fit_and_evaluate(models, train, test, k, "pessimistic", False)
    _print_results(results, k)
    print("\nseconds:\n" + timings.round(2).to_string())
    results.to_csv(out / "results.csv")
    timings.to_csv(out / "timings.csv")
    metric = f"Hits@{20 if 20 in k else k[0]}"
    sr.plot_long_tail(results, metric=metric, path=out / "long_tail.png")
    print(f"\nwrote {out / 'results.csv'}, {out / 'timings.csv'} and {out / 'long_tail.png'}")
    return 0


def cmd_evaluate(args) -> int:
    import sessrec as sr

    if args.threads:
        sr.set_num_threads(args.threads)
    ds = sr.datasets.load(args.data)
    train, valid, test = ds.split(args.split, valid=args.valid, test=args.test, k=args.folds,
                                  fold=args.fold, seed=args.seed, max_history=args.max_history,
                                  targets=args.targets)
    part = valid if args.on == "valid" else test
    models = {name: _model(name, _params(args.param)) for name in args.model}
    k = tuple(args.k)
    results, timings = _fit_and_evaluate(models, train, part, k, args.ties, args.exclude_history,
                                         valid=valid if args.on == "test" and valid.num_examples() else None)
    _print_results(results, k)
    print("\nseconds:\n" + timings.round(2).to_string())
    if args.out:
        results.to_csv(args.out)
        print(f"wrote {args.out}")
    return 0


def cmd_cache(args) -> int:
    import sessrec as sr

    ds = sr.datasets.load(args.data)
    ds.save(args.out)
    print(f"{ds} -> {args.out}")
    return 0


def cmd_synthetic(args) -> int:
    import sessrec as sr

    start = time.perf_counter()
    ds = sr.datasets.synthetic(num_items=args.items, num_sessions=args.sessions, seed=args.seed,
                               cold_share=args.cold_share, with_queries=not args.no_queries)
    print(f"{ds} generated in {time.perf_counter() - start:.1f}s")
    ds.save(args.out)
    print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sessrec", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="main job on the embedded online_retail data")
    d.add_argument("--out", default="out/demo", help="folder for results.csv and long_tail.png")
    d.add_argument("--k", type=int, nargs="+", default=[10, 20, 100])
    d.add_argument("--valid", type=float, default=0.1)
    d.add_argument("--test", type=float, default=0.1)
    d.add_argument("--max-history", type=int, default=50)
    d.add_argument("--threads", type=int, default=0, help="OpenMP threads (default: all)")
    d.set_defaults(run=cmd_demo)

    e = sub.add_parser("evaluate", help="fit and evaluate models on a dataset")
    e.add_argument("data", help="online_retail, a CSV/TSV, a RecBole folder, Amazon-M2 sessions "
                                "or a cached .h5")
    e.add_argument("--model", nargs="+", default=list(DEFAULT_MODELS), choices=MODEL_NAMES)
    e.add_argument("--param", nargs="*", help="model parameters key=value (applied to every model);"
                   " neural models early-stop on the validation part")
    e.add_argument("--split", default="time",
                   choices=("time", "leave_one_out", "kfold", "given"))
    e.add_argument("--on", default="test", choices=("valid", "test"))
    e.add_argument("--valid", type=float, default=0.1)
    e.add_argument("--test", type=float, default=0.1)
    e.add_argument("--targets", default="all", choices=("all", "last"),
                   help="evaluate every position of a valid/test session, or only its last "
                        "(the KDD Cup 2023 protocol); training keeps every position")
    e.add_argument("--folds", type=int, default=5)
    e.add_argument("--fold", type=int, default=0)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--max-history", type=int, default=50)
    e.add_argument("--k", type=int, nargs="+", default=[10, 20, 100])
    e.add_argument("--ties", default="pessimistic", choices=("pessimistic", "optimistic", "average"))
    e.add_argument("--exclude-history", action="store_true")
    e.add_argument("--threads", type=int, default=0)
    e.add_argument("--out", help="CSV file for the full table")
    e.set_defaults(run=cmd_evaluate)

    c = sub.add_parser("cache", help="load a dataset and cache it to HDF5")
    c.add_argument("data")
    c.add_argument("out")
    c.set_defaults(run=cmd_cache)

    s = sub.add_parser("synthetic", help="generate a synthetic dataset into an HDF5 cache")
    s.add_argument("out")
    s.add_argument("--items", type=int, default=10_000)
    s.add_argument("--sessions", type=int, default=50_000)
    s.add_argument("--cold-share", type=float, default=0.05)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-queries", action="store_true")
    s.set_defaults(run=cmd_synthetic)
    return p


def main(argv=None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, KeyError) as e:
        print(f"sessrec: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
