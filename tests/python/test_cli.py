"""The command line: the demo (the README's main job) and error reporting."""

import pandas as pd
import pytest

import sessrec as sr

from sessrec import cli


def test_demo_writes_table_and_plot(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path), "--k", "10", "20"]) == 0
    out = capsys.readouterr().out
    assert "ItemCF" in out and "V-SKNN" in out and "Hits@20" in out
    assert (tmp_path / "results.csv").exists()
    assert (tmp_path / "long_tail.png").stat().st_size > 1000


def test_evaluate_reports_bad_input(tmp_path, capsys):
    bad = tmp_path / "clicks.csv"
    bad.write_text("session_id,item_id\n1,a\n2,b\n")
    assert cli.main(["evaluate", str(bad), "--model", "pop"]) == 2
    assert "every session has fewer than 2 events" in capsys.readouterr().err


def test_cache_and_evaluate_from_cache(tmp_path, capsys):
    path = tmp_path / "syn.h5"
    assert cli.main(["synthetic", str(path), "--items", "200", "--sessions", "1000"]) == 0
    assert cli.main(["evaluate", str(path), "--model", "pop", "itemcf", "--k", "20",
                     "--out", str(tmp_path / "r.csv")]) == 0
    assert (tmp_path / "r.csv").exists()


def test_evaluate_last_targets_from_the_command_line(tmp_path, capsys):
    """--targets last evaluates one example per test session (the KDD Cup protocol)."""
    path = tmp_path / "syn.h5"
    assert cli.main(["synthetic", str(path), "--items", "200", "--sessions", "1000"]) == 0
    counts = {}
    for targets in ("all", "last"):
        out = tmp_path / f"{targets}.csv"
        assert cli.main(["evaluate", str(path), "--model", "pop", "--split", "kfold", "--k", "20",
                         "--targets", targets, "--out", str(out)]) == 0
        table = pd.read_csv(out)
        counts[targets] = int(table.loc[table["breakdown"] == "overall", "examples"].iloc[0])
    ds = sr.datasets.load(path)
    _, _, test = ds.split("kfold")
    assert counts["last"] == len(test) < counts["all"] == test.num_examples()


def test_evaluate_text_models_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "syn.h5"
    assert cli.main(["synthetic", str(path), "--items", "200", "--sessions", "1000"]) == 0
    capsys.readouterr()
    assert cli.main(["evaluate", str(path), "--model", "textonly", "nfrec-sum", "--k", "20",
                     "--param", "epochs=1", "dim=8", "layers=1", "heads=1", "text_dim=8"]) == 0
    out = capsys.readouterr().out
    assert "textonly" in out and "nfrec-sum" in out
    assert cli.main(["evaluate", str(path), "--model", "alterrec", "--k", "20",
                     "--param", "m_max=2", "m_random=1", "dim=8", "layers=1", "heads=1"]) == 0
    with pytest.raises(SystemExit, match="bad parameter for alterrec"):
        cli.main(["evaluate", str(path), "--model", "alterrec", "--param", "epochs=2"])
