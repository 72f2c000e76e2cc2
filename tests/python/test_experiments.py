"""Experiment files: validation that names the key, run folders, seeds, comparing runs."""

import json

import pandas as pd
import pytest
import yaml

import sessrec as sr
from sessrec.experiment import ExperimentError, load_experiment
from sessrec.experiment_run import compare_runs, load_data, run_experiment

DATA = {"source": "synthetic", "options": {"num_items": 150, "num_sessions": 1000, "seed": 5}}
SASREC = {"model": "sasrec", "name": "SASRec-8",
          "params": {"dim": 8, "layers": 1, "heads": 1, "ffn_dim": 16, "batch_size": 64}}


def experiment(**changes):
    base = {"name": "tiny", "dataset": DATA, "models": ["pop", {"model": "itemcf",
                                                                 "params": {"top_n": 20}}],
            "evaluation": {"k": [10, 20]}, "output": {"plots": False}}
    base.update(changes)
    return base


def write(tmp_path, data, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("change, key, problem", [
    ({"modles": []}, "modles", "unknown key"),
    ({"models": []}, "models", "one or more models"),
    ({"models": ["pop", "itemfc"]}, "models[1].model", "unknown model 'itemfc'"),
    ({"models": [{"model": "pop", "params": [1]}]}, "models[0].params", "expected a mapping"),
    ({"models": ["pop", {"model": "pop"}]}, "models[1].name", "names two models"),
    ({"split": {"how": "random"}}, "split.how", "expected one of time"),
    ({"split": {"valid": "ten"}}, "split.valid", "expected a number"),
    ({"evaluation": {"k": [10], "metric": "NDCG@20"}}, "evaluation.metric", "among evaluation.k"),
    ({"evaluation": {"k": [0]}}, "evaluation.k[0]", "must be >= 1"),
    ({"training": {"defaults": {"epochs": 3}}}, "training.defaults.epochs", "no model"),
    ({"seeds": [1, 1]}, "seeds", "distinct"),
    ({"dataset": {"source": "no/such/file.csv"}}, "dataset.source", "neither"),
    ({"output": {"save_model": True}}, "output.save_model", "unknown key"),
])
def test_errors_name_the_key(tmp_path, change, key, problem):
    path = write(tmp_path, experiment(**change))
    with pytest.raises(ExperimentError) as error:
        load_experiment(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {key}: ") and problem in message


def test_bad_model_parameter_fails_before_training(tmp_path):
    path = write(tmp_path, experiment(models=[{"model": "sasrec", "params": {"dimm": 8}}]))
    with pytest.raises(ExperimentError, match="model 'sasrec': bad parameter for sasrec: "
                                              "unknown parameter 'dimm'"):
        run_experiment(path, out=tmp_path / "run")
    assert not (tmp_path / "run" / "results.csv").exists()


def test_defaults_and_overrides_resolve(tmp_path):
    config = load_experiment(write(tmp_path, experiment(
        models=["pop", SASREC], training={"defaults": {"epochs": 3, "patience": 1}})),
        overrides=["sasrec-8.epochs=1", "dim=4"])
    pop, sasrec = config["models"]
    assert pop["params"] == {}  # POP takes neither epochs nor dim
    assert sasrec["params"]["epochs"] == 1 and sasrec["params"]["patience"] == 1
    assert sasrec["params"]["dim"] == 4
    assert config["split"]["how"] == "time" and config["seeds"] == [0]
    with pytest.raises(ExperimentError, match="--param: foo.dim=3: no model named 'foo'"):
        load_experiment(experiment(), overrides=["foo.dim=3"])


def test_run_folder_holds_config_tables_histories_and_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # output.folder is read from the working directory
    path = write(tmp_path, experiment(models=["pop", SASREC], seeds=[0, 1],
                                      training={"defaults": {"epochs": 2}},
                                      output={"folder": "runs"}))
    result = run_experiment(path)
    folder = result.folder
    assert folder.parent == tmp_path / "runs" and folder.name.startswith("tiny-")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["models"][1]["params"]["epochs"] == 2
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["sessrec"] == sr.__version__ and meta["machine"]["cores_available"] >= 1
    assert "commit" in meta and meta["seconds"] >= 0
    results = pd.read_csv(folder / "results.csv")
    assert set(results["model"]) == {"pop", "SASRec-8"}
    assert sorted(set(results.loc[results["model"] == "SASRec-8", "seed"])) == [0, 1]
    assert set(results.loc[results["model"] == "pop", "seed"]) == {-1}  # no seed: run once
    summary = pd.read_csv(folder / "summary.csv", index_col="model")
    assert summary.loc["SASRec-8", "seeds"] == 2 and "NDCG@20_std" in summary.columns
    assert (folder / "histories" / "SASRec-8-seed1.csv").exists()
    assert (folder / "tables" / "pop.csv").exists()
    again = sr.load(folder / "models" / "SASRec-8-seed0.h5")
    _, _, _, test = load_data(result.config)
    assert sr.evaluate(again, test, k=(20,)).metric("NDCG@20") == pytest.approx(
        result.results.loc[("SASRec-8", 0, "overall", "all"), "NDCG@20"])
    assert result.table().metric("NDCG@20")["SASRec-8"] == pytest.approx(
        summary.loc["SASRec-8", "NDCG@20"])
    assert "sasrec epoch 2" in (folder / "run.log").read_text()


def test_plots_and_compare(tmp_path):
    first = run_experiment(experiment(output={"plots": True, "save_models": False},
                                      models=["pop", SASREC],
                                      training={"defaults": {"epochs": 1}}),
                           out=tmp_path / "a")
    assert (first.folder / "plots" / "long_tail.png").stat().st_size > 1000
    assert (first.folder / "plots" / "curves.png").exists()
    assert not (first.folder / "models").exists()
    run_experiment(experiment(), out=tmp_path / "b")
    table = compare_runs([tmp_path / "a", tmp_path / "b"], ["NDCG@20"])
    assert list(table.index) == [("a", "pop"), ("a", "SASRec-8"), ("b", "pop"), ("b", "itemcf")]
    assert table.loc[("a", "pop"), "NDCG@20"] == table.loc[("b", "pop"), "NDCG@20"]
    with pytest.raises(ExperimentError, match="not a run folder"):
        compare_runs([tmp_path])


def test_committed_experiment_files_are_valid():
    """experiments/*.yaml (the demo and the example searches) load and build their models."""
    from pathlib import Path

    from sessrec.experiment import check_models

    files = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))
    assert any(f.name == "demo.yaml" for f in files)
    for path in files:
        config = load_experiment(path)
        check_models(config)
        if path.name.startswith("search_"):
            assert config["search"]["space"]


def test_settings_change_the_files_keys_before_the_checks(tmp_path):
    path = write(tmp_path, experiment(dataset="online_retail"))
    config = load_experiment(path, settings=["training.threads=1", "seeds=[0, 3]",
                                             "split.valid=0.2", "dataset.options.source=x"])
    assert config["training"]["threads"] == 1 and config["seeds"] == [0, 3]
    assert config["split"]["valid"] == 0.2 and config["dataset"]["options"] == {"source": "x"}
    with pytest.raises(ExperimentError, match="split.how: expected one of"):
        load_experiment(path, settings=["split.how=random"])
    with pytest.raises(ExperimentError, match="--set: modles=1: unknown key 'modles'"):
        load_experiment(path, settings=["modles=1"])
    with pytest.raises(ExperimentError, match="--param model.key=value"):
        load_experiment(path, settings=["models.0=pop"])
