"""The command line's experiment commands (run, compare, train, recommend, datasets),
per-model --param, and its exit codes and error prefixes."""

import pandas as pd
import pytest
import yaml

import sessrec as sr
from sessrec import cli

EXPERIMENT = {
    "name": "cli",
    "dataset": {"source": "synthetic",
                "options": {"num_items": 150, "num_sessions": 1000, "seed": 5}},
    "models": ["pop", {"model": "sasrec", "params": {"dim": 8, "layers": 1, "heads": 1,
                                                      "ffn_dim": 16, "epochs": 3}}],
    "evaluation": {"k": [10, 20]},
    "output": {"plots": False},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "syn.h5"
    sr.datasets.synthetic(num_items=150, num_sessions=1000, seed=5).save(path)
    return path


def test_run_and_compare(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(EXPERIMENT))
    assert cli.main(["--no-progress", "run", str(path), "--out", str(tmp_path / "a"),
                     "--param", "sasrec.epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "run folder:" in out and "sasrec" in out and "NDCG@20" in out
    config = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert config["models"][1]["params"]["epochs"] == 1
    assert cli.main(["run", str(path), "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--columns",
                     "NDCG@20", "--out", str(tmp_path / "c.csv")]) == 0
    table = pd.read_csv(tmp_path / "c.csv")
    assert list(table["run"]) == ["a", "a", "b", "b"] and list(table.columns) == [
        "run", "model", "NDCG@20"]


def test_train_recommend_and_evaluate_a_saved_model(tmp_path, data, capsys):
    model = tmp_path / "itemcf.h5"
    assert cli.main(["train", str(data), "--model", "ItemCF", "--param", "top_n=20",
                     "--out", str(model)]) == 0
    assert sr.load(model).params["top_n"] == 20
    ids = sr.load(model).catalog.ids()
    capsys.readouterr()
    assert cli.main(["recommend", str(model), "--session", f"{ids[0]},{ids[1]}", "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "item_id" in out and ids[0] not in out.split()
    sessions = tmp_path / "sessions.txt"
    sessions.write_text(f"{ids[0]},{ids[1]}\n# a comment\n{ids[2]} {ids[3]}\n")
    assert cli.main(["recommend", str(model), "--sessions", str(sessions), "--k", "4",
                     "--out", str(tmp_path / "top.csv")]) == 0
    top = pd.read_csv(tmp_path / "top.csv")
    assert list(top["session"].value_counts().sort_index()) == [4, 4]
    expected = sr.load(model).recommend([ids[2], ids[3]], k=4)
    assert list(top.loc[top["session"] == 1, "item_id"]) == list(expected["item_id"])
    assert cli.main(["evaluate", str(data), "--load", str(model), "--k", "20",
                     "--out", str(tmp_path / "r.csv")]) == 0
    assert set(pd.read_csv(tmp_path / "r.csv")["model"]) == {"itemcf"}


def test_param_per_model_in_evaluate(data, capsys):
    assert cli.main(["--no-progress", "evaluate", str(data), "--model", "pop", "sasrec",
                     "meanpool", "--k", "20", "--param", "sasrec.epochs=1", "meanpool.epochs=1",
                     "dim=8", "sasrec.layers=1", "sasrec.heads=1"]) == 0
    with pytest.raises(SystemExit) as stop:
        cli.main(["evaluate", str(data), "--model", "pop", "--param", "gru4rec.epochs=1"])
    assert stop.value.code == 2 and "no model 'gru4rec'" in str(stop.value)


def test_datasets_lists_sources(capsys):
    assert cli.main(["datasets", "--stats", "online_retail"]) == 0
    out = capsys.readouterr().out
    assert "online_retail" in out and "synthetic" in out and "sessions" in out


def test_exit_codes_and_prefixes(tmp_path, data, capsys, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**EXPERIMENT, "split": {"how": "random"}}))
    assert cli.main(["run", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"sessrec: error: {bad}: split.how: ")
    assert cli.main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "no such experiment file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse: an unknown model name
        cli.main(["evaluate", str(data), "--model", "nosuch"])
    assert stop.value.code == 2
    model = tmp_path / "pop.h5"
    assert cli.main(["train", str(data), "--model", "pop", "--out", str(model)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main(["recommend", str(model)])
    assert stop.value.code == 2
    assert "sessrec: error: recommend needs --session" in capsys.readouterr().err
    assert cli.main(["recommend", str(model), "--session", "nope"]) == 2
    assert capsys.readouterr().err == ("sessrec: error: unknown item ID 'nope' (not in the "
                                       "catalogue of 150)\n")

    def diverge(*args, **kwargs):
        raise sr.TrainingDiverged("sasrec: training diverged in epoch 1")

    monkeypatch.setattr("sessrec.experiment_run.fit_model", diverge)
    assert cli.main(["train", str(data), "--model", "sasrec", "--out", str(model)]) == 1
    assert capsys.readouterr().err.startswith("sessrec: failed: sasrec: training diverged")


def test_run_set_changes_the_files_keys(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({**EXPERIMENT, "models": ["pop"]}))
    assert cli.main(["run", str(path), "--out", str(tmp_path / "a"), "--set",
                     "training.threads=1", "evaluation.k=[5]", "evaluation.metric=Hits@5"]) == 0
    config = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert config["training"]["threads"] == 1 and config["evaluation"]["k"] == [5]
    assert "Hits@5" in capsys.readouterr().out
    assert cli.main(["run", str(path), "--set", "evaluation.k=[5]"]) == 2
    assert "evaluation.metric: NDCG@20 needs 20 among evaluation.k" in capsys.readouterr().err
