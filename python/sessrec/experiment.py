"""Experiment files: one YAML file names the dataset and split, the models with their
parameters, training, evaluation, seeds and an output folder. :func:`load_experiment` reads
and checks one; every error names its key (``sessrec: error: demo.yaml: models[1].params:
...``). :mod:`.experiment_run` runs it.

A complete file (every key but ``models`` is optional; the values shown are the defaults)::

    name: demo                     # default: the file's name without .yaml
    dataset:
      source: online_retail        # a name sr.datasets.load knows, or a path (relative paths
      options: {}                  #   are read from the file's folder); options go to load()
    split: {how: time, valid: 0.1, test: 0.1, max_history: 50, targets: all, k: 5, fold: 0,
            seed: 0}
    models:
      - pop                        # a registry name alone, or:
      - model: sasrec
        name: SASRec-64            # the label in tables and file names (default: the model)
        params: {dim: 64, epochs: 10}
    training:
      valid: true                  # give fit the validation part (early stopping)
      threads: 0                   # OpenMP threads for the run (0: all)
      defaults: {}                 # parameters for every model that takes them, e.g. epochs
    evaluation: {part: test, k: [10, 20, 100], ties: pessimistic, exclude_history: false,
                 metric: NDCG@20}
    seeds: [0]                     # each seeded model runs once per seed
    output: {folder: runs, save_models: true, plots: true}   # folder: from the working dir.
    search: {...}                  # for sessrec search: see sessrec.search_space
"""

from __future__ import annotations

import copy
import functools
import numbers
from pathlib import Path
from typing import Any, Optional

from .models.registry import canonical_name, create

SPLITS = ("time", "leave_one_out", "kfold", "given")
TIES = ("pessimistic", "optimistic", "average")

DEFAULTS: dict[str, Any] = {
    "dataset": {"source": "online_retail", "options": {}},
    "split": {"how": "time", "valid": 0.1, "test": 0.1, "max_history": 50, "targets": "all",
              "k": 5, "fold": 0, "seed": 0},
    "training": {"valid": True, "threads": 0, "defaults": {}},
    "evaluation": {"part": "test", "k": [10, 20, 100], "ties": "pessimistic",
                   "exclude_history": False, "metric": "NDCG@20"},
    "seeds": [0],
    "output": {"folder": "runs", "save_models": True, "plots": True},
}
TOP_LEVEL = ("name", "dataset", "split", "models", "training", "evaluation", "seeds", "output",
             "search")


class ExperimentError(ValueError):
    """An experiment file that cannot run; the message names the file and the key."""


class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str):
        raise ExperimentError(f"{self.source}: {key}: {problem}")

    def mapping(self, value, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"expected a mapping (key: value lines), got {_shown(value)}")
        return value

    def keys(self, value: dict, key: str, allowed) -> None:
        for k in value:
            if k not in allowed:
                self.fail(f"{key}.{k}" if key else str(k),
                          f"unknown key; expected one of {', '.join(allowed)}")

    def integer(self, value, key: str, minimum: Optional[int] = None) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            self.fail(key, f"expected an integer, got {_shown(value)}")
        if minimum is not None and value < minimum:
            self.fail(key, f"must be >= {minimum}, got {value}")
        return int(value)

    def number(self, value, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            self.fail(key, f"expected a number, got {_shown(value)}")
        return float(value)

    def boolean(self, value, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_shown(value)}")
        return value

    def choice(self, value, key: str, allowed) -> str:
        if value not in allowed:
            self.fail(key, f"expected one of {', '.join(map(str, allowed))}, got {_shown(value)}")
        return value

    def string(self, value, key: str) -> str:
        if not isinstance(value, str) or not value:
            self.fail(key, f"expected a non-empty string, got {_shown(value)}")
        return value


def _shown(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def _merge(defaults: dict, given: dict) -> dict:
    out = copy.deepcopy(defaults)
    out.update(copy.deepcopy(given))
    return out


def read_yaml(path) -> dict:
    """The mapping in a YAML file; ExperimentError for a missing file or bad YAML."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"{path}: no such experiment file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ExperimentError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}: expected a mapping at the top, got {_shown(data)}")
    return data


def load_experiment(source, overrides=(), settings=()) -> dict:
    """Read and check an experiment (a YAML path or a dict) and return it resolved: every
    default filled in, every model entry as ``{model, name, params}`` with the training
    defaults and ``overrides`` applied (``["sasrec.epochs=5", "dim=32"]``, see
    :func:`apply_overrides`). ``settings`` change the file's own keys before it is checked
    (``["training.threads=1", "seeds=[0,1,2]"]``, see :func:`apply_settings`). The result is
    what a run folder's ``config.yaml`` holds."""
    if isinstance(source, dict):
        raw, where, folder = copy.deepcopy(source), "experiment", Path.cwd()
        default_name = "experiment"
    else:
        raw, where = read_yaml(source), str(source)
        folder, default_name = Path(source).resolve().parent, Path(source).stem
    apply_settings(raw, settings)
    check = _Checker(where)
    check.keys(raw, "", TOP_LEVEL)
    config = {"name": check.string(raw.get("name", default_name), "name")}

    dataset = raw.get("dataset", DEFAULTS["dataset"])
    if isinstance(dataset, str):
        dataset = {"source": dataset}
    dataset = _merge(DEFAULTS["dataset"], check.mapping(dataset, "dataset"))
    check.keys(dataset, "dataset", ("source", "options"))
    source_name = check.string(dataset["source"], "dataset.source")
    if source_name not in ("online_retail", "synthetic"):
        path = Path(source_name)
        if not path.is_absolute() and (folder / path).exists():
            source_name = str(folder / path)
        elif not path.exists():
            check.fail("dataset.source", f"{source_name!r} is neither online_retail, synthetic "
                       f"nor an existing path (relative paths are read from {folder})")
    dataset["source"] = source_name
    check.mapping(dataset["options"], "dataset.options")
    config["dataset"] = dataset

    split = _merge(DEFAULTS["split"], check.mapping(raw.get("split", {}), "split"))
    check.keys(split, "split", DEFAULTS["split"])
    check.choice(split["how"], "split.how", SPLITS)
    for key in ("valid", "test"):
        split[key] = check.number(split[key], f"split.{key}")
    for key in ("max_history", "k", "fold", "seed"):
        check.integer(split[key], f"split.{key}", minimum=0)
    check.choice(split["targets"], "split.targets", ("all", "last"))
    config["split"] = split

    training = _merge(DEFAULTS["training"], check.mapping(raw.get("training", {}), "training"))
    check.keys(training, "training", DEFAULTS["training"])
    check.boolean(training["valid"], "training.valid")
    check.integer(training["threads"], "training.threads", minimum=0)
    check.mapping(training["defaults"], "training.defaults")
    config["training"] = training

    evaluation = _merge(DEFAULTS["evaluation"],
                        check.mapping(raw.get("evaluation", {}), "evaluation"))
    check.keys(evaluation, "evaluation", DEFAULTS["evaluation"])
    check.choice(evaluation["part"], "evaluation.part", ("valid", "test"))
    ks = evaluation["k"] if isinstance(evaluation["k"], list) else [evaluation["k"]]
    evaluation["k"] = [check.integer(k, f"evaluation.k[{i}]", minimum=1) for i, k in enumerate(ks)]
    if not evaluation["k"]:
        check.fail("evaluation.k", "needs at least one cut-off")
    check.choice(evaluation["ties"], "evaluation.ties", TIES)
    check.boolean(evaluation["exclude_history"], "evaluation.exclude_history")
    evaluation["metric"] = _check_metric(check, evaluation["metric"], evaluation["k"],
                                         "evaluation.metric")
    config["evaluation"] = evaluation

    seeds = raw.get("seeds", DEFAULTS["seeds"])
    seeds = seeds if isinstance(seeds, list) else [seeds]
    config["seeds"] = [check.integer(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds)]
    if not config["seeds"] or len(set(config["seeds"])) != len(config["seeds"]):
        check.fail("seeds", f"needs distinct seeds, got {seeds}")

    output = _merge(DEFAULTS["output"], check.mapping(raw.get("output", {}), "output"))
    check.keys(output, "output", DEFAULTS["output"])
    folder_value = Path(check.string(str(output["folder"]), "output.folder"))
    output["folder"] = str(folder_value.resolve())  # relative to the working directory
    check.boolean(output["save_models"], "output.save_models")
    check.boolean(output["plots"], "output.plots")
    config["output"] = output

    models = raw.get("models")
    if not isinstance(models, list) or not models:
        check.fail("models", "needs a list of one or more models")
    config["models"] = [_model_entry(check, entry, i) for i, entry in enumerate(models)]
    labels = [m["name"] for m in config["models"]]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            check.fail(f"models[{i}].name", f"{label!r} names two models; give each a name:")
    _apply_defaults(config, check)
    apply_overrides(config, overrides)
    if raw.get("search") is not None:  # read by sessrec search; sessrec run ignores it
        from .search_space import check_search

        config["search"] = check_search(raw["search"], config, check)
    return config


def _check_metric(check: _Checker, metric, ks, key: str) -> str:
    from .evaluation import METRICS, metric_name

    name = metric_name(check.string(metric, key))
    base, _, k = name.partition("@")
    if base not in METRICS or not k.isdigit():
        check.fail(key, f"expected a metric such as NDCG@20 ({', '.join(METRICS)}), got {metric!r}")
    if int(k) not in ks:
        check.fail(key, f"{name} needs {k} among evaluation.k ({ks})")
    return name


def _model_entry(check: _Checker, entry, i: int) -> dict:
    key = f"models[{i}]"
    if isinstance(entry, str):
        entry = {"model": entry}
    check.mapping(entry, key)
    check.keys(entry, key, ("model", "name", "params"))
    if "model" not in entry:
        check.fail(f"{key}.model", "missing (a registry name such as itemcf or sasrec)")
    try:
        model = canonical_name(check.string(entry["model"], f"{key}.model"))
    except ValueError as e:
        check.fail(f"{key}.model", str(e))
    params = check.mapping(entry.get("params") or {}, f"{key}.params")
    label = check.string(str(entry.get("name", model)), f"{key}.name")
    if any(c in label for c in "/\\") or label.startswith("."):
        check.fail(f"{key}.name", f"{label!r} is used as a file name; leave out / and \\")
    return {"model": model, "name": label, "params": dict(params)}


@functools.lru_cache(maxsize=None)
def model_parameters(model: str) -> Optional[frozenset]:
    """The parameter names a registry model takes (None: not known without building one)."""
    import inspect

    from .models.registry import MODELS

    factory = MODELS[model][0]
    names = {n for n, a in inspect.signature(factory).parameters.items()
             if a.kind not in (a.VAR_KEYWORD, a.VAR_POSITIONAL)}
    try:
        return frozenset(names | set(create(model).get_params()))
    except (TypeError, ValueError):  # no defaults to build from (FusionRerank)
        return None


def _apply_defaults(config: dict, check: _Checker) -> None:
    defaults = config["training"]["defaults"]
    used = set()
    for entry in config["models"]:
        accepted = model_parameters(entry["model"]) or set()
        for key, value in defaults.items():
            if key in accepted:
                entry["params"].setdefault(key, value)
                used.add(key)
    for key in defaults:
        if key not in used:
            check.fail(f"training.defaults.{key}", "no model of the experiment takes it")


def apply_settings(raw: dict, settings) -> None:
    """Set keys of an experiment's own mapping from ``"a.b=value"`` strings (values read as
    YAML), before it is checked: ``training.threads=1``, ``split.valid=0.2``,
    ``seeds=[0,1,2]``, ``search.trials=50``. ``models`` is changed with ``--param``."""
    import yaml

    check = _Checker("--set")
    for text in settings or ():
        key, sep, value = text.partition("=")
        if not sep or not key:
            check.fail(text, "expected key.path=value")
        path = key.split(".")
        if path[0] == "models":
            check.fail(text, "models are changed with --param model.key=value")
        if path[0] not in TOP_LEVEL:
            check.fail(text, f"unknown key {path[0]!r}; expected one of {', '.join(TOP_LEVEL)}")
        try:
            parsed = yaml.safe_load(value) if value != "" else ""
        except yaml.YAMLError:
            parsed = value
        node = raw
        for part in path[:-1]:
            child = node.get(part)
            if isinstance(child, str) and part == "dataset":
                child = {"source": child}
            if child is None:
                child = {}
            if not isinstance(child, dict):
                check.fail(text, f"{part!r} holds {child!r}, not a mapping")
            node[part] = child
            node = child
        node[path[-1]] = parsed


def parse_override(text: str, check: Optional[_Checker] = None):
    """``"sasrec.epochs=5"`` -> ("sasrec", "epochs", 5); ``"dim=32"`` -> (None, "dim", 32).
    Values are read as YAML (numbers, true/false, null, [lists])."""
    import yaml

    check = check or _Checker("--param")
    if "=" not in text:
        check.fail(text, "expected model.key=value or key=value")
    key, value = text.split("=", 1)
    target, _, name = key.rpartition(".")
    if not name:
        check.fail(text, "expected model.key=value or key=value")
    try:
        parsed = yaml.safe_load(value) if value != "" else ""
    except yaml.YAMLError:
        parsed = value
    return (target or None), name, parsed


def apply_overrides(config: dict, overrides, check: Optional[_Checker] = None) -> None:
    """Apply ``--param`` overrides to the resolved models: ``label.key=value`` (a model's
    name or registry name, any case) or ``key=value`` (every model that takes ``key``)."""
    from .models.registry import _key

    for text in overrides or ():
        target, name, value = parse_override(text, check)
        chosen = [m for m in config["models"]
                  if target is None or _key(target) in (_key(m["name"]), _key(m["model"]))]
        if target is not None and not chosen:
            (check or _Checker("--param")).fail(
                text, f"no model named {target!r}; the models are "
                      f"{', '.join(m['name'] for m in config['models'])}")
        if target is None:
            chosen = [m for m in chosen if _takes(m["model"], name)]
            if not chosen:
                (check or _Checker("--param")).fail(text, f"no model takes {name!r}")
        for entry in chosen:
            entry["params"][name] = value


def build_model(entry: dict, seed: Optional[int] = None):
    """The unfitted model of a resolved entry (with ``seed`` when the model takes one)."""
    params = dict(entry["params"])
    if seed is not None and takes_seed(entry):
        params["seed"] = seed
    try:
        return create(entry["model"], **params)
    except (TypeError, ValueError) as e:
        raise ExperimentError(f"model {entry['name']!r}: {e}") from None


def _takes(model: str, name: str) -> bool:
    known = model_parameters(model)
    return known is None or name in known


def takes_seed(entry: dict) -> bool:
    return "seed" in (model_parameters(entry["model"]) or ())


def check_models(config: dict) -> None:
    """Build every model once, so a bad parameter fails before any training."""
    for entry in config["models"]:
        build_model(entry, config["seeds"][0])
