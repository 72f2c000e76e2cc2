"""Hyperparameter search over an experiment file's ``search:`` section with Optuna.

``sr.search("exp.yaml")`` or ``sessrec search exp.yaml`` tunes one model of the experiment on
the validation part: each trial fits the model with suggested parameters on the training part
and scores ``search.metric`` on the validation part (the test part is never looked at until the
chosen configuration is refit, ``search.refit``). Neural models report their validation metric
after every epoch; the median pruner stops a trial that falls behind the others, through
``fit(callbacks=...)``, and the model keeps its best epoch.

The study lives in a SQLite file (``search.storage``), so a search that stopped resumes where
it was: ``search.trials`` is the study's total, and a rerun runs only the trials still missing.
Trials run

* one after another (``jobs: 1``);
* in ``jobs`` processes on this machine (spawned, each with ``threads`` OpenMP threads,
  default: the available cores divided by ``jobs``, so the trials do not oversubscribe them);
* on a Dask cluster when ``scheduler`` (``search.scheduler`` or ``--scheduler``) gives its
  address, through Optuna's ``DaskStorage``: the study is held by the scheduler (the SQLite
  file is opened there, so its path must be the scheduler machine's) and each trial is a Dask
  task on some worker, with OpenMP threads = the machine's cores divided by the task threads
  of the workers on it (or ``search.threads``). Every worker must import the same sessrec
  version and read the dataset (an embedded one, or the same path on every machine). For a
  multi-machine cluster::

      dask scheduler                                    # on the head node, port 8786
      dask worker tcp://HEAD:8786 --nworkers 1 --nthreads 1   # on each machine
      sessrec search exp.yaml --scheduler tcp://HEAD:8786

  One trial runs per worker thread at a time.

The result folder (``<output.folder>/<name>-search``, or ``out``) holds ``config.yaml``,
``trials.csv`` (one row per trial: value, parameters, state, seconds, epochs),
``best.yaml`` (best validation value and parameters; with ``refit``, the test metrics of the
refit model), ``test.csv`` and ``best.h5`` (refit), and ``plots/history.png`` and
``plots/importances.png`` (fANOVA importances; needs two completed trials).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from .evaluation import evaluate
from .experiment import ExperimentError, build_model, load_experiment, takes_seed
from .experiment_run import load_data, run_facts, write_yaml
from .thread_scope import threads

LOG = logging.getLogger("sessrec.search")
# Dask workers unpickle the study's DaskStorage (experimental in Optuna 3.1) before a trial
# runs; the warning would repeat for every trial.
warnings.filterwarnings("ignore", message="DaskStorage is experimental")
_DATA: dict = {}  # per process: the experiment's split, loaded once for all its trials


@dataclass
class SearchResult:
    study: object  # optuna.Study
    trials: pd.DataFrame
    best_params: dict
    best_value: float
    test: Optional[pd.DataFrame]  # the refit model's test table (an EvaluationTable)
    model: object  # the refit model, or None
    folder: Path


def _split(config: dict):
    key = json.dumps([config["dataset"], config["split"]], sort_keys=True, default=str)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = load_data(config)
    return _DATA[key]


class PruningCallback:
    """An epoch callback that reports the validation metric to an Optuna trial and stops the
    fit when the pruner says so (the model keeps its best epoch); ``pruned`` tells the
    objective to raise ``optuna.TrialPruned`` afterwards."""

    def __init__(self, trial, metric: str):
        self.trial, self.metric, self.pruned = trial, metric, False

    def __call__(self, model, row: dict) -> bool:
        value = row.get(f"valid_{self.metric}", row.get(f"valid_fused_{self.metric}"))
        if value is None:
            return False
        self.trial.report(float(value), int(row["epoch"]))
        self.pruned = self.trial.should_prune()
        return self.pruned


def trial_model(config: dict, params: dict):
    """The search model of ``config`` with ``params`` on top of its own (early stopping on the
    search metric when the model has one)."""
    search = config["search"]
    entry = next(m for m in config["models"] if m["name"] == search["model"])
    entry = {**entry, "params": {**entry["params"], **params}}
    if "metric" in entry["params"] or _has_parameter(entry, "metric"):
        entry["params"]["metric"] = search["metric"]
    return build_model(entry, config["seeds"][0] if takes_seed(entry) else None)


def _has_parameter(entry: dict, name: str) -> bool:
    from .experiment import model_parameters

    return name in (model_parameters(entry["model"]) or ())


class Objective:
    """One trial: fit on the training part with suggested parameters, return the validation
    metric. Picklable (config and thread count only), so processes and Dask workers run it."""

    def __init__(self, config: dict, threads_per_trial: Optional[int],
                 host_threads: Optional[dict] = None):
        self.config, self.threads, self.host_threads = config, threads_per_trial, host_threads

    def __call__(self, trial) -> float:
        import optuna

        from .search_space import suggest

        search = self.config["search"]
        params = suggest(trial, search["space"])
        model = trial_model(self.config, params)
        _, train, valid, _ = _split(self.config)
        pruning = PruningCallback(trial, search["metric"])
        start = time.perf_counter()
        count = self.threads or _worker_threads(self.host_threads)
        with threads(count):
            if "callbacks" in inspect.signature(model.fit).parameters:
                model.fit(train, valid, callbacks=[pruning])
            else:
                model.fit(train, valid)
            fitted = time.perf_counter()
            k = int(search["metric"].partition("@")[2])
            value = evaluate(model, valid, k=(k,), progress=False).metric(search["metric"])
        trial.set_user_attr("fit_s", round(fitted - start, 3))
        trial.set_user_attr("threads", count)
        trial.set_user_attr("epochs", int(getattr(model, "epochs_done", 0)))
        LOG.info("trial %d: %s %.4f (%s)%s", trial.number, search["metric"], value, params,
                 " pruned" if pruning.pruned else "")
        if pruning.pruned:
            raise optuna.TrialPruned(f"pruned at epoch {model.epochs_done} "
                                     f"({search['metric']} {value:.4f})")
        return value


def _cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def _worker_threads(host_threads: Optional[dict] = None) -> int:
    """OpenMP threads for a trial on a Dask worker: this machine's cores divided by the task
    threads of all workers on it (``host_threads``: host -> their sum, from the scheduler)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return _cores()
    host = worker.address.rpartition(":")[0]
    own = getattr(getattr(worker, "state", worker), "nthreads", 1)
    return max(1, _cores() // max(1, (host_threads or {}).get(host, own)))


# -------------------------------------------------------------------------------- studies
def _storage(url: str):
    import optuna

    # Several processes write one SQLite file: wait for its lock instead of failing.
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def _sampler(search: dict, offset: int = 0):
    """TPE (seeded ``seed + offset``: parallel processes and tasks draw apart), or random
    search seeded per trial number, the same wherever and in whatever order trials run."""
    import optuna

    if search["sampler"] == "random":
        from .search_sampler import TrialSeededRandomSampler

        return TrialSeededRandomSampler(seed=search["seed"])
    return optuna.samplers.TPESampler(seed=search["seed"] + offset)


def _pruner(search: dict):
    import optuna

    if search["pruner"] == "none":
        return optuna.pruners.NopPruner()
    # Optuna may prune from step n_warmup_steps on; steps are epochs counted from 1, and the
    # first ``warmup_epochs`` stay unpruned (neural models start slowly at low learning rates).
    return optuna.pruners.MedianPruner(n_startup_trials=search["startup_trials"],
                                       n_warmup_steps=search["warmup_epochs"] + 1)


def _open_study(search: dict, storage, offset: int = 0):
    import optuna

    return optuna.create_study(storage=storage, study_name=search["study"], direction="maximize",
                               sampler=_sampler(search, offset), pruner=_pruner(search),
                               load_if_exists=True)


def _finished(study) -> int:
    from optuna.trial import TrialState

    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)


def _process_trials(config: dict, url: str, n_trials: int, threads_per_trial: int,
                    offset: int) -> None:
    """A spawned process's share of the trials (its sampler seeded apart from the others')."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = config["search"]
    study = _open_study(search, _storage(url), offset)
    study.optimize(Objective(config, threads_per_trial), n_trials=n_trials,
                   timeout=search["timeout"])


def _dask_trial(config: dict, storage, offset: int, host_threads: dict) -> None:
    """One trial on a Dask worker, on the study held by the scheduler."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = config["search"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = optuna.load_study(study_name=search["study"], storage=storage,
                                  sampler=_sampler(search, offset), pruner=_pruner(search))
        study.optimize(Objective(config, search["threads"] or None, host_threads), n_trials=1)


def _run_local(config: dict, url: str, remaining: int) -> None:
    search = config["search"]
    jobs = min(search["jobs"], remaining)
    per_trial = search["threads"] or max(1, _cores() // jobs)
    if jobs == 1:
        study = _open_study(search, _storage(url))
        study.optimize(Objective(config, per_trial), n_trials=remaining,
                       timeout=search["timeout"])
        return
    import multiprocessing

    # spawn, not fork: a forked child of a process that has run OpenMP can hang in libgomp.
    context = multiprocessing.get_context("spawn")
    shares = [remaining // jobs + (i < remaining % jobs) for i in range(jobs)]
    processes = [context.Process(target=_process_trials, args=(config, url, n, per_trial, i + 1))
                 for i, n in enumerate(shares)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {jobs} search processes failed (exit codes "
                           f"{failed}); see their output above")


def _run_dask(config: dict, url: str, remaining: int, address: str) -> None:
    import optuna
    from distributed import Client, wait
    from optuna.integration import DaskStorage

    with Client(address) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = DaskStorage(storage=url, client=client)
        # search() created the study in the file; the tasks load it from the scheduler.
        done = _finished(optuna.load_study(study_name=config["search"]["study"],
                                           storage=storage))
        host_threads: dict = {}
        for address, worker in client.scheduler_info()["workers"].items():
            host = address.rpartition(":")[0]
            host_threads[host] = host_threads.get(host, 0) + int(worker.get("nthreads", 1))
        futures = [client.submit(_dask_trial, config, storage, done + i + 1, host_threads,
                                 pure=False) for i in range(remaining)]
        wait(futures)
        for future in futures:
            future.result()  # raises a trial's error here


# --------------------------------------------------------------------------------- search
def search(experiment, overrides=(), scheduler: Optional[str] = None,
           jobs: Optional[int] = None, trials: Optional[int] = None,
           out: Optional[str] = None, settings=()) -> SearchResult:
    """Run (or resume) the search of an experiment file; see the module docstring.
    ``scheduler``, ``jobs`` and ``trials`` override the file's ``search`` values; ``overrides``
    (``--param``) and ``settings`` (``--set``) as in :func:`~.experiment.load_experiment`."""
    import optuna

    config = load_experiment(experiment, overrides, settings)
    if "search" not in config:
        raise ExperimentError(f"{experiment}: search: missing; add a search: section with a "
                              "space (see sessrec.search_space)")
    search_config = config["search"]
    for key, value in (("scheduler", scheduler), ("jobs", jobs), ("trials", trials)):
        if value is not None:
            search_config[key] = value
    _, _, valid, _ = _split(config)
    if valid.num_examples() == 0:
        raise ExperimentError(f"{experiment}: split.valid: the search scores on the validation "
                              "part, which has no examples")
    trial_model(config, {})  # a bad fixed parameter fails here, not in every trial
    folder = Path(out) if out else Path(config["output"]["folder"]) / f"{config['name']}-search"
    folder.mkdir(parents=True, exist_ok=True)
    Path(search_config["storage"]).parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{Path(search_config['storage']).resolve()}"
    write_yaml(folder / "config.yaml", config)
    (folder / "meta.json").write_text(json.dumps(run_facts(config), indent=2))

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = _open_study(search_config, _storage(url))
        remaining = search_config["trials"] - _finished(study)
        LOG.info("%s: %d of %d trials done; running %d", search_config["study"],
                 _finished(study), search_config["trials"], max(0, remaining))
        if remaining > 0:
            if search_config["scheduler"]:
                _run_dask(config, url, remaining, search_config["scheduler"])
            else:
                _run_local(config, url, remaining)
        study = optuna.load_study(study_name=search_config["study"], storage=_storage(url))
    finally:
        optuna.logging.set_verbosity(verbosity)
    return _report(config, study, folder)


def trials_table(study) -> pd.DataFrame:
    """One row per trial: number, value, state, parameters, seconds, epochs."""
    table = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs",
                                          "duration"))
    table.columns = [c.replace("params_", "").replace("user_attrs_", "") for c in table.columns]
    if "duration" in table.columns:
        table["duration"] = table["duration"].dt.total_seconds()
    return table.set_index("number")


def _report(config: dict, study, folder: Path) -> SearchResult:
    search = config["search"]
    table = trials_table(study)
    table.to_csv(folder / "trials.csv")
    from optuna.trial import TrialState

    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(f"{search['study']}: no trial completed; see trials.csv in {folder}")
    best = study.best_trial
    summary = {"study": search["study"], "storage": search["storage"], "model": search["model"],
               "metric": search["metric"], "trials": len(study.trials),
               "completed": len(complete),
               "pruned": sum(t.state == TrialState.PRUNED for t in study.trials),
               "best_trial": best.number, "best_valid": float(best.value),
               "best_params": dict(best.params)}
    test_table, model = None, None
    if search["refit"]:
        _, train, valid, test = _split(config)
        model = trial_model(config, best.params)
        model.fit(train, valid)
        e = config["evaluation"]
        test_table = evaluate(model, test, k=tuple(e["k"]), ties=e["ties"],
                              exclude_history=e["exclude_history"])
        test_table.to_csv(folder / "test.csv")
        model.save(folder / "best.h5")
        summary["refit_valid"] = float(evaluate(model, valid, k=tuple(e["k"])).metric(
            search["metric"]))
        summary["test"] = {c: float(v) for c, v in test_table.summary().items()
                           if c != "examples"}
    write_yaml(folder / "best.yaml", summary)
    if config["output"]["plots"]:
        _plots(study, folder, search["metric"])
    LOG.info("best trial %d: valid %s %.4f with %s", best.number, search["metric"], best.value,
             best.params)
    return SearchResult(study, table, dict(best.params), float(best.value), test_table, model,
                        folder)


def _plots(study, folder: Path, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import optuna
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as optuna_plots

    (folder / "plots").mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = optuna_plots.plot_optimization_history(study, target_name=f"valid {metric}")
        ax.figure.tight_layout()
        ax.figure.savefig(folder / "plots" / "history.png", dpi=120)
        plt.close(ax.figure)
        complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
        if len(complete) >= 2:
            ax = optuna_plots.plot_param_importances(study, target_name=f"valid {metric}")
            ax.figure.tight_layout()
            ax.figure.savefig(folder / "plots" / "importances.png", dpi=120)
            plt.close(ax.figure)
