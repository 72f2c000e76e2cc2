"""Command line: ``sessrec demo | run | compare | search | train | evaluate | recommend |
datasets | cache | synthetic``.

Run as ``python -m sessrec.cli ...`` or, once installed, ``sessrec ...``. Exit codes: 0 done;
2 bad input (arguments, experiment file, data, parameters: ``sessrec: error: ...`` on stderr);
1 a run that failed (``sessrec: failed: ...``, e.g. training diverged); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

DEFAULT_MODELS = ("pop", "itemcf", "vsknn", "gru4rec", "sasrec", "meanpool")


def _model_names() -> tuple:
    from .models.registry import model_names

    return tuple(model_names())


class UsageError(SystemExit):
    """Bad input found by the command line: exits with status 2 after ``main`` prints
    ``sessrec: error: <message>``; ``str()`` is the message."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _model(name: str, params: dict):
    from .models.registry import create

    try:
        return create(name, **params)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _params(pairs) -> dict:
    """``--param key=value`` pairs (values read as YAML: numbers, true/false, lists)."""
    from .experiment import ExperimentError, parse_override

    out = {}
    for pair in pairs or ():
        try:
            target, key, value = parse_override(pair)
        except ExperimentError as e:
            raise UsageError(f"--param expects key=value, got {pair!r} ({e})") from None
        out[f"{target}.{key}" if target else key] = value
    return out


def _model_params(name: str, params: dict, names=()) -> dict:
    """The ``--param`` values for model ``name`` among ``names``: ``name.key`` ones, and
    unprefixed ones that it takes (one that no model takes goes to every model, whose
    constructor then names it as a bad parameter)."""
    from .experiment import _takes
    from .models.registry import _key

    out = {}
    for key, value in params.items():
        target, _, short = key.rpartition(".")
        if not target:
            if _takes(name, key) or not any(_takes(n, key) for n in names):
                out[key] = value
        elif _key(target) == _key(name):
            out[short] = value
    return out


def _check_targets(params: dict, names) -> None:
    from .models.registry import _key

    for key in params:
        target = key.rpartition(".")[0]
        if target and _key(target) not in {_key(n) for n in names}:
            raise UsageError(f"--param {key}: no model {target!r} among {', '.join(names)}")


def _fit_and_evaluate(models: dict, train, test, k, ties, exclude_history, valid=None):
    import pandas as pd

    from .evaluation import evaluate, stack_tables
    from .experiment_run import fit_model

    tables, timings = {}, []
    for name, model in models.items():
        start = time.perf_counter()
        if not model.is_fitted:  # early stopping on the validation part, never on test
            fit_model(model, train, valid, use_valid=True)
        fitted = time.perf_counter()
        tables[name] = evaluate(model, test, k=k, ties=ties, exclude_history=exclude_history)
        timings.append(
            {"model": name, "fit_s": fitted - start, "evaluate_s": time.perf_counter() - fitted}
        )
    results = stack_tables(tables)
    results.attrs.update(dataset=test.dataset_name, part=test.role)
    return results, pd.DataFrame(timings).set_index("model")


def _print_results(results, k):
    import pandas as pd

    headline = [f"{m}@{kk}" for kk in k for m in ("Hits", "NDCG", "MRR")]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(results[["examples", *headline]].round(4).to_string())


def cmd_demo(args) -> int:
    """The quick job (``make demo-quick``): online_retail, temporal split, POP / ItemCF /
    V-SKNN, table and plot. The main job is ``sessrec run experiments/demo.yaml``."""
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
    params = _params(args.param)
    _check_targets(params, args.model)
    if args.load:
        models = {Path(path).stem: sr.load(path) for path in args.load}
    else:
        models = {name: _model(name, _model_params(name, params, args.model))
                  for name in args.model}
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


def _model_name(name: str) -> str:
    from .models.registry import canonical_name

    try:
        return canonical_name(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_run(args) -> int:
    """Run an experiment file into a run folder."""
    from .experiment_run import run_experiment

    result = run_experiment(args.experiment, overrides=args.param or (), out=args.out,
                            settings=args.set or ())
    e = result.config["evaluation"]
    headline = [f"{m}@{k}" for k in e["k"] for m in ("Hits", "NDCG", "MRR")]
    _print_table(result.summary[["seeds", *headline, "fit_s", "evaluate_s"]])
    cold = result.table().xs(("cold", "cold"), level=("breakdown", "group"))
    print(f"\ntargets never seen in training ({int(cold['examples'].iloc[0])} examples):")
    _print_table(cold[headline])
    print(f"\nrun folder: {result.folder}")
    return 0


def cmd_compare(args) -> int:
    from .experiment_run import compare_runs

    table = compare_runs(args.runs, args.columns)
    _print_table(table)
    if args.out:
        table.to_csv(args.out)
        print(f"wrote {args.out}")
    return 0


def cmd_search(args) -> int:
    """Run or resume the Optuna search of an experiment file."""
    from .search_study import search

    result = search(args.experiment, overrides=args.param or (), scheduler=args.scheduler,
                    jobs=args.jobs, trials=args.trials, out=args.out, settings=args.set or ())
    shown = [c for c in result.trials.columns if c not in ("duration",)]
    _print_table(result.trials[shown])
    print(f"\nbest trial {result.study.best_trial.number}: valid {result.best_value:.4f} with "
          f"{result.best_params}")
    if result.test is not None:
        print("refit on the best parameters, test part:")
        _print_table(result.test.summary().to_frame().T)
    print(f"\nsearch folder: {result.folder}")
    return 0


def _split(args):
    import sessrec as sr

    ds = sr.datasets.load(args.data)
    return ds, *ds.split(args.split, valid=args.valid, test=args.test, k=args.folds,
                         fold=args.fold, seed=args.seed, max_history=args.max_history,
                         targets=args.targets)


def cmd_train(args) -> int:
    """Fit one model on the training part (early stopping on the validation part) and save."""
    from .experiment_run import fit_model

    params = _params(args.param)
    _check_targets(params, [args.model])
    model = _model(args.model, _model_params(args.model, params, [args.model]))
    _, train, valid, _ = _split(args)
    start = time.perf_counter()
    fit_model(model, train, valid, use_valid=not args.no_valid)
    print(f"{args.model}: fitted in {time.perf_counter() - start:.1f}s")
    model.save(args.out)
    print(f"wrote {args.out}")
    return 0


def cmd_recommend(args) -> int:
    """Top-k items for one session given on the command line, or for a file of sessions
    (sharded over a Dask cluster with --scheduler; CSV or HDF5 with --out)."""
    import sessrec as sr

    from .batch_recommend import read_sessions, recommend_file, score_shard

    if (args.session is None) == (args.sessions is None):
        raise UsageError("recommend needs --session a,b,c or --sessions FILE (one of them)")
    if args.scheduler and not (args.sessions and args.out):
        raise UsageError("--scheduler scores a --sessions file into --out")
    model = sr.load(args.model_file)
    exclude = not args.keep_history
    if args.sessions is not None and args.out:
        table = recommend_file(model, args.sessions, args.out, k=args.k, exclude_history=exclude,
                               scheduler=args.scheduler, shard_size=args.shard_size,
                               skip_unknown=args.skip_unknown)
        print(f"wrote {len(table)} rows for {table['session'].nunique()} sessions to {args.out}")
        return 0
    if args.session is not None:
        names, sessions = ["0"], [[t for t in args.session.split(",") if t]]
    else:
        names, sessions = read_sessions(args.sessions)
    table = score_shard(model, names, sessions, args.k, exclude, args.skip_unknown)
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {len(table)} rows to {args.out}")
    elif len(sessions) == 1:
        _print_table(table.drop(columns="session").set_index("rank"))
    else:
        _print_table(table.set_index(["session", "rank"]))
    return 0


def cmd_datasets(args) -> int:
    """What sessrec loads, and the sizes of the embedded data."""
    import pandas as pd

    import sessrec as sr

    print("embedded: online_retail (UCI Online Retail; " + sr.datasets.ONLINE_RETAIL_ATTRIBUTION
          + ")")
    print("generated: synthetic (sr.datasets.synthetic: num_items=, num_sessions=, seed=, ...)")
    print("files: a CSV/TSV of interactions, a RecBole folder, Amazon-M2 sessions_*.csv, a "
          ".h5 cache (sessrec cache DATA OUT.h5)")
    for name in args.stats or ():
        ds = sr.datasets.load(name)
        print()
        print(pd.DataFrame(ds.stats()).to_string())
    return 0


def _print_table(table) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 40):
        print(table.round(4).to_string())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sessrec", description=__doc__.splitlines()[0])
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log lines (epochs, timings) on stderr")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="POP, ItemCF and V-SKNN on online_retail in seconds "
                                    "(the main job: run experiments/demo.yaml)")
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
    e.add_argument("--model", nargs="+", default=list(DEFAULT_MODELS), type=_model_name,
                   help=f"registry names: {', '.join(_model_names())}")
    e.add_argument("--load", nargs="+", metavar="MODEL.h5",
                   help="evaluate saved models instead of fitting --model")
    e.add_argument("--param", nargs="*", help="model parameters key=value (every model) or "
                   "model.key=value (one model); neural models early-stop on the validation part")
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

    r = sub.add_parser("run", help="run an experiment file into a run folder")
    r.add_argument("experiment", help="EXPERIMENT.yaml (see sessrec.experiment)")
    r.add_argument("--param", nargs="*", help="overrides model.key=value or key=value")
    r.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                   help="change the file's keys: training.threads=1 seeds=[0,1] ...")
    r.add_argument("--out", help="the run folder (default: <output.folder>/<name>-<time>)")
    r.set_defaults(run=cmd_run)

    m = sub.add_parser("compare", help="stack the summaries of run folders into one table")
    m.add_argument("runs", nargs="+", help="run folders")
    m.add_argument("--columns", nargs="+", help="metrics to show (default: all)")
    m.add_argument("--out", help="CSV file for the table")
    m.set_defaults(run=cmd_compare)

    se = sub.add_parser("search", help="Optuna search over an experiment's search: section")
    se.add_argument("experiment", help="EXPERIMENT.yaml with a search: section")
    se.add_argument("--param", nargs="*", help="overrides model.key=value or key=value")
    se.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                    help="change the file's keys: search.jobs=2 split.valid=0.2 ...")
    se.add_argument("--trials", type=int, help="the study's total number of trials")
    se.add_argument("--jobs", type=int, help="trials at once on this machine (processes)")
    se.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786)")
    se.add_argument("--out", help="result folder (default: <output.folder>/<name>-search)")
    se.set_defaults(run=cmd_search)

    t = sub.add_parser("train", help="fit one model and save it")
    t.add_argument("data")
    t.add_argument("--model", required=True, type=_model_name)
    t.add_argument("--param", nargs="*", help="model parameters key=value")
    t.add_argument("--out", required=True, help="MODEL.h5")
    t.add_argument("--no-valid", action="store_true", help="no early stopping on valid")
    t.add_argument("--split", default="time",
                   choices=("time", "leave_one_out", "kfold", "given"))
    t.add_argument("--valid", type=float, default=0.1)
    t.add_argument("--test", type=float, default=0.1)
    t.add_argument("--targets", default="all", choices=("all", "last"))
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--fold", type=int, default=0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--max-history", type=int, default=50)
    t.set_defaults(run=cmd_train)

    rec = sub.add_parser("recommend", help="top-k items from a saved model")
    rec.add_argument("model_file", metavar="MODEL.h5")
    rec.add_argument("--session", help="one session: item IDs separated by commas")
    rec.add_argument("--sessions", help="a file with one session per line")
    rec.add_argument("--k", type=int, default=10)
    rec.add_argument("--keep-history", action="store_true",
                     help="let the session's own items be recommended")
    rec.add_argument("--out", help="a .csv or .h5 file (session, rank, item_id, score)")
    rec.add_argument("--scheduler", help="Dask scheduler address: score --sessions in shards "
                                         "on its workers")
    rec.add_argument("--shard-size", type=int, default=10_000, help="sessions per shard")
    rec.add_argument("--skip-unknown", action="store_true",
                     help="drop item IDs the model does not know instead of failing")
    rec.set_defaults(run=cmd_recommend)

    ds = sub.add_parser("datasets", help="what sessrec loads; --stats NAME for sizes")
    ds.add_argument("--stats", nargs="*", metavar="DATA")
    ds.set_defaults(run=cmd_datasets)

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
    import sessrec as sr

    from .experiment import ExperimentError

    if getattr(args, "no_progress", False):
        sr.set_progress(False)
    # sessrec's INFO lines (epochs, timings) always reach a run folder's run.log; on stderr
    # only with --verbose.
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.setLevel(logging.INFO if args.verbose else logging.WARNING)
        root.addHandler(handler)
    logging.getLogger("sessrec").setLevel(logging.INFO)
    try:
        return args.run(args)
    except UsageError as e:
        print(f"sessrec: error: {e}", file=sys.stderr)
        raise
    except (ValueError, KeyError, TypeError, ExperimentError, FileNotFoundError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"sessrec: error: {message}", file=sys.stderr)
        return 2
    except (sr.TrainingDiverged, RuntimeError, OSError) as e:
        print(f"sessrec: failed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sessrec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
