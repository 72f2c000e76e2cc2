"""The ``search:`` section of an experiment file: which model to tune, over what space, how
many trials, where the study is stored; checked with errors that name the key. Used by
:mod:`.search_study`. Every key but ``space`` is optional (defaults shown)::

    search:
      model: itemcf            # a model entry's name (default: the experiment's only model)
      metric: NDCG@20          # validation metric to maximise (default: evaluation.metric)
      trials: 20               # the study's total (a resumed study runs only what is left)
      timeout: null            # seconds per process (null: none)
      sampler: tpe             # tpe, or random (the same trials sequentially, in processes or
                               #   on Dask: see sessrec.search_sampler)
      seed: 0                  # the sampler's seed
      pruner: median           # median (on the per-epoch validation metric) or none
      startup_trials: 2        # trials before the pruner may stop one
      warmup_epochs: 2         # epochs of every trial that are never pruned
      jobs: 1                  # trials at once on this machine (processes)
      threads: 0               # OpenMP threads per trial (0: cores divided by jobs)
      storage: null            # SQLite file (default: <output.folder>/<name>-search.db)
      study: null              # study name (default: the experiment's name)
      scheduler: null          # Dask scheduler address: trials run on its workers
      refit: true              # fit the best parameters again and evaluate on the test part
      space:
        top_n: {type: int, low: 20, high: 300, log: true}
        recency_decay: {type: float, low: 0.3, high: 1.0}
        similarity: {type: categorical, choices: [cosine, vec]}
"""

from __future__ import annotations

from typing import Any

SEARCH_DEFAULTS: dict[str, Any] = {
    "model": None, "metric": None, "trials": 20, "timeout": None, "sampler": "tpe", "seed": 0,
    "pruner": "median", "startup_trials": 2, "warmup_epochs": 2, "jobs": 1, "threads": 0, "storage": None,
    "study": None, "scheduler": None, "refit": True, "space": None,
}
PARAMETER_KEYS = {"int": ("type", "low", "high", "log", "step"),
                  "float": ("type", "low", "high", "log", "step"),
                  "categorical": ("type", "choices")}


def check_search(raw, config: dict, check) -> dict:
    """The resolved ``search`` section of ``config`` (already checked up to ``models``)."""
    from pathlib import Path

    from .experiment import _check_metric, _takes

    search = dict(SEARCH_DEFAULTS)
    search.update(check.mapping(raw, "search"))
    check.keys(search, "search", SEARCH_DEFAULTS)
    names = [m["name"] for m in config["models"]]
    if search["model"] is None:
        if len(names) != 1:
            check.fail("search.model", f"name the model to tune among {', '.join(names)}")
        search["model"] = names[0]
    elif search["model"] not in names:
        check.fail("search.model", f"{search['model']!r} is not a model of the experiment "
                   f"({', '.join(names)})")
    entry = next(m for m in config["models"] if m["name"] == search["model"])
    ks = config["evaluation"]["k"]
    search["metric"] = _check_metric(check, search["metric"] or config["evaluation"]["metric"],
                                     ks, "search.metric")
    check.integer(search["trials"], "search.trials", minimum=1)
    if search["timeout"] is not None:
        search["timeout"] = check.number(search["timeout"], "search.timeout")
    check.choice(search["sampler"], "search.sampler", ("tpe", "random"))
    check.integer(search["seed"], "search.seed", minimum=0)
    check.choice(search["pruner"], "search.pruner", ("median", "none"))
    check.integer(search["startup_trials"], "search.startup_trials", minimum=0)
    check.integer(search["warmup_epochs"], "search.warmup_epochs", minimum=0)
    check.integer(search["jobs"], "search.jobs", minimum=1)
    check.integer(search["threads"], "search.threads", minimum=0)
    check.boolean(search["refit"], "search.refit")
    output = Path(config["output"]["folder"])
    storage = Path(search["storage"] or output / f"{config['name']}-search.db")
    search["storage"] = str(storage if storage.is_absolute() else output / storage)
    search["study"] = check.string(search["study"] or config["name"], "search.study")
    if search["scheduler"] is not None:
        check.string(search["scheduler"], "search.scheduler")
    space = check.mapping(search["space"], "search.space")
    if not space:
        check.fail("search.space", "needs at least one parameter")
    for name, spec in space.items():
        key = f"search.space.{name}"
        if not _takes(entry["model"], name):
            check.fail(key, f"{entry['model']} has no parameter {name!r}")
        space[name] = _check_parameter(check, check.mapping(spec, key), key)
    search["space"] = space
    return search


def _check_parameter(check, spec: dict, key: str) -> dict:
    kind = check.choice(spec.get("type"), f"{key}.type", tuple(PARAMETER_KEYS))
    check.keys(spec, key, PARAMETER_KEYS[kind])
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            check.fail(f"{key}.choices", "expected a non-empty list")
        return {"type": kind, "choices": choices}
    read = check.integer if kind == "int" else check.number
    out = {"type": kind}
    for bound in ("low", "high"):
        if bound not in spec:
            check.fail(f"{key}.{bound}", "missing")
        out[bound] = read(spec[bound], f"{key}.{bound}")
    if out["low"] > out["high"]:
        check.fail(key, f"low {out['low']} is above high {out['high']}")
    out["log"] = check.boolean(spec.get("log", False), f"{key}.log")
    if out["log"] and out["low"] <= 0:
        check.fail(f"{key}.low", "a log scale needs low > 0")
    if spec.get("step") is not None:
        if out["log"]:
            check.fail(f"{key}.step", "step and log do not go together")
        out["step"] = read(spec["step"], f"{key}.step")
    return out


def suggest(trial, space: dict) -> dict:
    """One value per parameter of ``space`` from an Optuna trial."""
    params = {}
    for name, spec in space.items():
        if spec["type"] == "categorical":
            params[name] = trial.suggest_categorical(name, spec["choices"])
        elif spec["type"] == "int":
            params[name] = trial.suggest_int(name, spec["low"], spec["high"], log=spec["log"],
                                             step=spec.get("step", 1))
        else:
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], log=spec["log"],
                                               step=spec.get("step"))
    return params
