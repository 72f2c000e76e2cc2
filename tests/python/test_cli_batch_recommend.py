"""Batch scoring of a sessions file: shards, CSV and HDF5 output, unknown items, and the same
table from a two-worker Dask LocalCluster."""

import pandas as pd
import pytest

import sessrec as sr
from sessrec import cli
from sessrec.batch_recommend import read_recommendations, recommend_file


@pytest.fixture(scope="module")
def model_and_sessions(tmp_path_factory, small_split):
    folder = tmp_path_factory.mktemp("batch")
    train, _, test = small_split
    model = sr.models.ItemCF(top_n=30).fit(train)
    path = folder / "itemcf.h5"
    model.save(path)
    ids = model.catalog.ids()
    sessions = [[ids[i] for i in s] for s in test.histories()[:7]]
    lines = folder / "sessions.txt"
    lines.write_text("\n".join(",".join(s) for s in sessions) + "\n")
    long = folder / "sessions.csv"
    pd.DataFrame([(f"s{n}", item) for n, s in enumerate(sessions) for item in s],
                 columns=["session_id", "item_id"]).to_csv(long, index=False)
    return path, sessions, lines, long


def test_shards_csv_and_h5_match_recommend_batch(model_and_sessions, tmp_path):
    path, sessions, lines, long = model_and_sessions
    model = sr.load(path)
    expected = model.recommend_batch(sessions, k=5)
    table = recommend_file(path, lines, tmp_path / "top.csv", k=5, shard_size=3)
    assert list(table["item_id"]) == list(expected["item_id"])
    assert list(table["session"]) == [str(s) for s in expected["session"]]
    written = pd.read_csv(tmp_path / "top.csv")
    assert list(written.columns) == ["session", "rank", "item_id", "score"]
    recommend_file(model, long, tmp_path / "top.h5", k=5, shard_size=2)
    again = read_recommendations(tmp_path / "top.h5")
    assert list(again["item_id"]) == list(expected["item_id"])
    assert list(again["session"].unique()) == [f"s{n}" for n in range(len(sessions))]
    with pytest.raises(ValueError, match=".csv or .h5"):
        recommend_file(model, lines, tmp_path / "top.txt")


def test_unknown_items_fail_or_are_skipped(model_and_sessions, tmp_path):
    path, sessions, _, _ = model_and_sessions
    odd = tmp_path / "odd.txt"
    odd.write_text(f"{sessions[0][0]},nope\nnope\n")
    with pytest.raises(KeyError, match="nope"):
        recommend_file(path, odd, tmp_path / "a.csv")
    table = recommend_file(path, odd, tmp_path / "a.csv", k=3, skip_unknown=True)
    assert list(table["session"].unique()) == ["0"] and len(table) == 3


def test_dask_shards_give_the_same_table(model_and_sessions, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    path, _, lines, _ = model_and_sessions
    local = recommend_file(path, lines, tmp_path / "local.csv", k=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert cli.main(["recommend", str(path), "--sessions", str(lines), "--k", "4",
                         "--scheduler", cluster.scheduler_address, "--shard-size", "2",
                         "--out", str(tmp_path / "dask.h5")]) == 0
    assert "wrote 28 rows for 7 sessions" in capsys.readouterr().out
    remote = read_recommendations(tmp_path / "dask.h5")
    pd.testing.assert_frame_equal(remote[["session", "rank", "item_id"]],
                                  local[["session", "rank", "item_id"]], check_dtype=False)
    with pytest.raises(SystemExit):
        cli.main(["recommend", str(path), "--session", "a", "--scheduler", "tcp://x:1"])
