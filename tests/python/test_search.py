"""Optuna search over an experiment file: results, resume from SQLite, pruning through epoch
callbacks, parallel processes, a Dask LocalCluster, and the command line."""

import os

import pandas as pd
import pytest
import yaml

import sessrec as sr
from sessrec import cli
from sessrec.experiment import ExperimentError, load_experiment

DATA = {"source": "synthetic", "options": {"num_items": 150, "num_sessions": 1000, "seed": 5}}
ITEMCF_SEARCH = {
    "name": "itemcf-search", "dataset": DATA, "models": ["itemcf"],
    "evaluation": {"k": [10, 20]}, "output": {"folder": "out"},
    "search": {"trials": 4, "space": {
        "top_n": {"type": "int", "low": 5, "high": 80, "log": True},
        "recency_decay": {"type": "float", "low": 0.3, "high": 1.0},
        "popularity_fallback": {"type": "categorical", "choices": [True, False]}}},
}


def write(tmp_path, data, name="search.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(autouse=True)
def quiet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # output.folder (and the study's SQLite file) are read from here
    before = sr.get_progress()
    sr.set_progress(False)
    yield
    sr.set_progress(before)


def test_search_writes_results_and_resumes(tmp_path):
    path = write(tmp_path, ITEMCF_SEARCH)
    first = sr.search(path)
    folder = tmp_path / "out" / "itemcf-search-search"
    assert first.folder == folder and (tmp_path / "out" / "itemcf-search-search.db").exists()
    trials = pd.read_csv(folder / "trials.csv", index_col="number")
    assert len(trials) == 4 and set(trials["state"]) == {"COMPLETE"}
    assert trials["top_n"].between(5, 80).all() and trials["recency_decay"].between(0.3, 1).all()
    best = yaml.safe_load((folder / "best.yaml").read_text())
    assert best["best_valid"] == pytest.approx(trials["value"].max())
    assert best["best_params"] == first.best_params and "NDCG@20" in best["test"]
    assert first.test.metric("NDCG@20") == pytest.approx(best["test"]["NDCG@20"])
    assert sr.load(folder / "best.h5").params["top_n"] == first.best_params["top_n"]
    assert (folder / "plots" / "history.png").stat().st_size > 1000
    assert (folder / "plots" / "importances.png").stat().st_size > 1000
    again = sr.search(path, trials=6)  # resumes: two more trials, the first four kept
    assert len(again.trials) == 6
    pd.testing.assert_series_equal(again.trials["value"].iloc[:4], first.trials["value"])


def test_pruning_stops_neural_trials_early(tmp_path):
    data = {"name": "prune", "dataset": DATA, "evaluation": {"k": [20]},
            "output": {"folder": "out", "plots": False},
            "models": [{"model": "meanpool", "params": {"dim": 8, "epochs": 5,
                                                        "batch_size": 64, "patience": 10}}],
            "search": {"trials": 6, "startup_trials": 1, "warmup_epochs": 1, "refit": False,
                       "seed": 1,
                       "space": {"lr": {"type": "float", "low": 1e-4, "high": 0.3,
                                        "log": True}}}}
    result = sr.search(write(tmp_path, data))
    table = result.trials
    pruned = table[table["state"] == "PRUNED"]
    assert len(pruned) >= 1 and (pruned["epochs"] < 5).all()
    assert (pruned["epochs"] >= 2).all()  # never within the warm-up epoch
    assert (table.loc[table["state"] == "COMPLETE", "epochs"] == 5).all()
    assert result.test is None and result.model is None


def test_search_section_errors_name_the_key(tmp_path):
    def error(change):
        data = dict(ITEMCF_SEARCH, search={**ITEMCF_SEARCH["search"], **change})
        with pytest.raises(ExperimentError) as e:
            load_experiment(write(tmp_path, data))
        return str(e.value).split(": ", 1)[1]

    assert error({"space": {"topn": {"type": "int", "low": 1, "high": 2}}}).startswith(
        "search.space.topn: itemcf has no parameter 'topn'")
    assert error({"space": {"top_n": {"type": "int", "low": 9, "high": 2}}}).startswith(
        "search.space.top_n: low 9 is above high 2")
    assert error({"space": {"top_n": {"type": "integer"}}}).startswith("search.space.top_n.type")
    assert error({"trials": 0}).startswith("search.trials: must be >= 1")
    assert error({"model": "sasrec"}).startswith("search.model: 'sasrec' is not a model")
    with pytest.raises(ExperimentError, match="search: missing"):
        sr.search(write(tmp_path, {k: v for k, v in ITEMCF_SEARCH.items() if k != "search"}))


def test_parallel_processes_divide_the_threads(tmp_path):
    data = dict(ITEMCF_SEARCH, search={**ITEMCF_SEARCH["search"], "jobs": 2, "refit": False})
    result = sr.search(write(tmp_path, data))
    assert len(result.trials) == 4 and set(result.trials["state"]) == {"COMPLETE"}
    assert set(result.trials["threads"]) == {max(1, len(os.sched_getaffinity(0)) // 2)}


def test_dask_local_cluster_runs_the_trials(tmp_path):
    """A random search on two Dask workers gives the trials (and so the best configuration)
    of the same search run in turn in this process."""
    distributed = pytest.importorskip("distributed")
    data = dict(ITEMCF_SEARCH, search={**ITEMCF_SEARCH["search"], "refit": False,
                                       "sampler": "random", "seed": 3})
    path = write(tmp_path, data)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = sr.search(path, scheduler=cluster.scheduler_address)
    assert len(result.trials) == 4 and set(result.trials["state"]) == {"COMPLETE"}
    # Two one-thread workers on this machine share its cores.
    assert set(result.trials["threads"]) == {max(1, len(os.sched_getaffinity(0)) // 2)}
    local = sr.search(path, settings=["search.storage=local.db"], out=tmp_path / "local")
    columns = ["value", "top_n", "recency_decay", "popularity_fallback"]
    pd.testing.assert_frame_equal(local.trials[columns], result.trials[columns])
    assert local.best_params == result.best_params


def test_search_from_the_command_line(tmp_path, capsys):
    data = dict(ITEMCF_SEARCH, search={**ITEMCF_SEARCH["search"], "trials": 2},
                output={"folder": str(tmp_path / "out"), "plots": False})
    path = write(tmp_path, data)
    assert cli.main(["search", str(path), "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "best trial" in out and "search folder:" in out and "NDCG@20" in out
    assert cli.main(["search", str(path), "--param", "itemcf.topn=3"]) == 2
    assert capsys.readouterr().err.startswith(
        "sessrec: error: model 'itemcf': bad parameter for itemcf:")
