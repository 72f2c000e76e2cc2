"""Running an experiment (:mod:`.experiment`) into a run folder, and stacking run folders.

A run folder holds::

    config.yaml        the resolved experiment (defaults and --param overrides applied)
    meta.json          sessrec version and git commit, command, start/end, machine facts
    results.csv        every evaluation row: model, seed, breakdown, group, metrics (seed -1:
                       a model without a seed parameter, run once)
    summary.csv        per model: the overall metrics averaged over seeds (std when > 1 seed),
                       fit and evaluation seconds
    timings.csv        per model and seed: fit_s, evaluate_s
    tables/NAME.csv    one model's evaluation tables (every seed)
    histories/NAME-seedS.csv   per-epoch history of trained models
    models/NAME-seedS.h5       the fitted models (output.save_models)
    plots/long_tail.png, plots/curves.png   (output.plots)
    run.log            the log lines of the run (epochs, timings)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .evaluation import EvaluationTable, evaluate
from .experiment import ExperimentError, build_model, check_models, load_experiment, takes_seed
from .thread_scope import threads

LOG = logging.getLogger("sessrec.experiment")


@dataclass
class RunResult:
    """What :func:`run_experiment` returns: the folder and its main tables."""

    folder: Path
    config: dict
    results: pd.DataFrame  # index (model, seed, breakdown, group)
    summary: pd.DataFrame  # index model
    timings: pd.DataFrame
    models: dict  # (name, seed) -> fitted model

    def table(self) -> EvaluationTable:
        """The evaluation table averaged over seeds, one outer level per model (what
        ``sr.compare`` gives), with ``metric()``/``summary()``."""
        return seed_mean(self.results)


def load_data(config: dict):
    """(dataset, train, valid, test) of a resolved experiment."""
    from . import datasets

    d, s = config["dataset"], config["split"]
    ds = datasets.load(d["source"], **d["options"])
    parts = ds.split(s["how"], valid=s["valid"], test=s["test"], k=s["k"], fold=s["fold"],
                     seed=s["seed"], max_history=s["max_history"], targets=s["targets"])
    return (ds, *parts)


def fit_model(model, train, valid, use_valid: bool, callbacks=None):
    """Fit with the validation part when asked (early stopping; never the evaluated part)."""
    valid = valid if use_valid and valid is not None and valid.num_examples() else None
    if callbacks is not None:
        return model.fit(train, valid, callbacks=callbacks)
    return model.fit(train, valid)


def run_experiment(experiment, overrides=(), out: Optional[str] = None,
                   settings=()) -> RunResult:
    """Run an experiment file (or dict) and write its run folder: ``out``, or a new
    ``<output.folder>/<name>-<UTC time>``. ``overrides`` (``--param``) and ``settings``
    (``--set``) as in :func:`~.experiment.load_experiment`. Returns a :class:`RunResult`."""
    config = load_experiment(experiment, overrides, settings)
    check_models(config)
    folder = Path(out) if out else new_run_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.time()
    write_yaml(folder / "config.yaml", config)
    meta = run_facts(config)
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    with run_log(folder / "run.log"), threads(config["training"]["threads"] or None):
        result = _run(config, folder)
    meta.update(finished=_utc(time.time()), seconds=round(time.time() - started, 3))
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    return result


class _Forward(logging.Handler):
    """Passes the records the caller's logging would have shown on to the root logger."""

    def __init__(self, threshold: int):
        super().__init__()
        self.threshold = threshold

    def emit(self, record):
        if record.levelno >= self.threshold:
            logging.getLogger().handle(record)


@contextlib.contextmanager
def run_log(path: Path):
    """Every INFO line of the ``sessrec`` loggers (epochs, timings) goes to ``path`` during
    the block; what reaches the caller's own handlers is unchanged."""
    logger = logging.getLogger("sessrec")
    saved = logger.level, logger.propagate
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logger.addHandler(handler)
    forward = None
    threshold = logger.getEffectiveLevel()
    if threshold > logging.INFO:  # let INFO through to the file only
        forward = _Forward(threshold)
        logger.addHandler(forward)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        if forward is not None:
            logger.removeHandler(forward)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _run(config: dict, folder: Path) -> RunResult:
    ds, train, valid, test = load_data(config)
    e = config["evaluation"]
    part = test if e["part"] == "test" else valid
    LOG.info("%s: %s, split %s: train %d / valid %d / test %d sessions; evaluating %d %s "
             "examples", config["name"], ds, config["split"]["how"], len(train), len(valid),
             len(test), part.num_examples(), e["part"])
    tables, timings, models = {}, [], {}
    for sub in ("tables", "histories") + (("models",) if config["output"]["save_models"] else ()):
        (folder / sub).mkdir(exist_ok=True)
    for entry in config["models"]:
        name = entry["name"]
        seeds = config["seeds"] if takes_seed(entry) else [None]
        for seed in seeds:
            model = build_model(entry, seed)
            start = time.perf_counter()
            fit_model(model, train, valid, config["training"]["valid"])
            fitted = time.perf_counter()
            table = evaluate(model, part, k=tuple(e["k"]), ties=e["ties"],
                             exclude_history=e["exclude_history"])
            seconds = time.perf_counter() - fitted
            tag = f"{name}-seed{seed}" if seed is not None else name
            LOG.info("%s: %s %.4f, fit %.1fs, evaluate %.1fs", tag, e["metric"],
                     table.metric(e["metric"]), fitted - start, seconds)
            tables[(name, -1 if seed is None else seed)] = table
            timings.append({"model": name, "seed": -1 if seed is None else seed,
                            "fit_s": fitted - start,
                            "evaluate_s": seconds})
            models[(name, seed)] = model
            history = getattr(model, "history_", None)
            if isinstance(history, pd.DataFrame):
                history.to_csv(folder / "histories" / f"{tag}.csv", index=False)
            if config["output"]["save_models"]:
                model.save(folder / "models" / f"{tag}.h5")
        pd.concat({s: t for (n, s), t in tables.items() if n == name}, names=["seed"]).to_csv(
            folder / "tables" / f"{name}.csv")
    results = pd.concat(tables, names=["model", "seed"])
    results.attrs.update(dataset=ds.name, part=e["part"])
    timings = pd.DataFrame(timings)
    summary = summarize(results, timings)
    results.to_csv(folder / "results.csv")
    timings.to_csv(folder / "timings.csv", index=False)
    summary.to_csv(folder / "summary.csv")
    if config["output"]["plots"]:
        write_plots(folder, seed_mean(results), models, e["metric"])
    return RunResult(folder, config, results, summary, timings, models)


def seed_mean(results: pd.DataFrame) -> EvaluationTable:
    """Results with a ``seed`` level averaged over it: index (model, breakdown, group)."""
    order = list(dict.fromkeys(results.index.get_level_values("model")))
    table = results.groupby(level=["model", "breakdown", "group"], sort=False).mean()
    table = EvaluationTable(table.reindex(order, level="model"))
    table.attrs.update(results.attrs)
    return table


def summarize(results: pd.DataFrame, timings: pd.DataFrame) -> pd.DataFrame:
    """Per model: seeds, the overall metrics' mean (and ``<metric>_std`` with several seeds),
    mean fit and evaluation seconds."""
    overall = results.xs(("overall", "all"), level=("breakdown", "group"))
    grouped = overall.groupby(level="model", sort=False)
    summary = grouped.mean()
    summary.insert(0, "seeds", grouped.size())
    if (summary["seeds"] > 1).any():
        std = grouped.std(ddof=1).drop(columns="examples").add_suffix("_std")
        summary = summary.join(std)
    times = timings.groupby("model", sort=False)[["fit_s", "evaluate_s"]].mean()
    return summary.join(times)


def write_plots(folder: Path, table: EvaluationTable, models: dict, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .plots import plot_long_tail

    (folder / "plots").mkdir(exist_ok=True)
    fig = plot_long_tail(table, metric=metric, path=folder / "plots" / "long_tail.png")
    plt.close(fig)
    curves = {}  # each trained model's validation curve, on its own early-stopping metric
    for (name, seed), model in models.items():
        history = getattr(model, "history_", None)
        if isinstance(history, pd.DataFrame) and name not in curves:
            columns = [c for c in history.columns if c.startswith("valid_")
                       and "_id_" not in c and "_text_" not in c]
            if columns:
                column = next((c for c in columns if c.endswith(metric)), columns[0])
                label = f"{name} ({column.rpartition('_')[2]})"
                curves[label] = history.set_index("epoch")[column]
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in curves.items():
            ax.plot(curve.index, curve.to_numpy(), marker="o", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation metric")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "plots" / "curves.png", dpi=120)
        plt.close(fig)


# ----------------------------------------------------------------------------- run facts
def new_run_folder(config: dict) -> Path:
    base = Path(config["output"]["folder"])
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder, n = base / f"{config['name']}-{stamp}", 2
    while folder.exists():
        folder, n = base / f"{config['name']}-{stamp}-{n}", n + 1
    return folder


def write_yaml(path: Path, data: dict) -> None:
    import yaml

    path.write_text(yaml.safe_dump(_plain(data), sort_keys=False))


def _plain(value):
    """Values YAML can write: NumPy scalars and arrays become numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def git_commit() -> dict:
    """The commit of the sessrec checkout (and whether it has uncommitted changes)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no"], capture_output=True, text=True,
                                timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def machine_facts() -> dict:
    from . import _core, get_matmul_precision

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"host": platform.node(), "platform": platform.platform(), "cpu": cpu,
            "cores_available": cores, "cores_total": os.cpu_count(), "memory_gib": memory,
            "python": sys.version.split()[0], "numpy": np.__version__,
            "pandas": pd.__version__, "openmp_threads": _core.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "matmul_precision": get_matmul_precision(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def run_facts(config: dict) -> dict:
    from . import __version__

    return {"name": config["name"], "sessrec": __version__, **git_commit(),
            "command": sys.argv, "started": _utc(time.time()), "machine": machine_facts()}


# ------------------------------------------------------------------------------ compare
def compare_runs(folders, columns=None) -> pd.DataFrame:
    """The summaries of several run folders stacked: index (run, model). ``columns`` picks
    metrics (default: every column)."""
    import yaml

    tables = {}
    for folder in folders:
        folder = Path(folder)
        path = folder / "summary.csv"
        if not path.is_file():
            raise ExperimentError(f"{folder}: not a run folder (no summary.csv)")
        label = folder.name
        tables[label] = pd.read_csv(path, index_col="model")
        config = folder / "config.yaml"
        if config.is_file():
            tables[label].attrs["name"] = yaml.safe_load(config.read_text()).get("name")
    table = pd.concat(tables, names=["run"])
    if columns:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ExperimentError(f"no column {missing[0]!r} in the runs' summaries; they have "
                                  f"{', '.join(table.columns)}")
        table = table[list(columns)]
    return table
