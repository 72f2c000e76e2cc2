"""Per-epoch callbacks of the neural models' fit: they see the history row, can stop training
(the best epoch's weights are kept, as early stopping keeps them), log lines and run logs."""

import json
import logging

import numpy as np
import pandas as pd
import pytest

import sessrec as sr


def make(**kw):
    return sr.models.SASRec(dim=8, layers=1, heads=1, ffn_dim=16, batch_size=64, lr=3e-3,
                            **kw)


def test_callbacks_see_each_row_and_can_stop(small_split):
    train, valid, _ = small_split
    seen = []

    def stop_after_three(model, row):
        seen.append(row)
        return row["epoch"] >= 3

    model = make(epochs=8, patience=100).fit(train, valid, callbacks=[stop_after_three])
    assert [r["epoch"] for r in seen] == [1, 2, 3] and len(model.history_) == 3
    assert "valid_NDCG@20" in seen[0] and "loss" in seen[0]
    assert model.epochs_done == 3


def test_a_stopped_fit_keeps_the_best_epoch(small_split):
    """Stopping from a callback leaves the model on its best validated epoch, not its last."""
    train, valid, _ = small_split
    # lr high enough that validation falls after its peak, so best != last is exercised.
    model = sr.models.MeanPool(dim=8, epochs=10, patience=100, lr=0.3, batch_size=64)
    model.fit(train, valid, callbacks=[lambda m, row: row["epoch"] >= 5])
    scores = model.history_["valid_NDCG@20"].to_numpy()
    assert len(scores) == 5
    best = int(np.argmax(scores)) + 1
    assert best < 5  # the case that matters: the last epoch is not the best
    assert model.early_stopping_.epoch == best
    assert model.validation_score(valid) == pytest.approx(scores.max(), abs=1e-12)


def test_epochs_are_logged_and_written_to_run_logs(small_split, tmp_path, caplog):
    train, valid, _ = small_split
    with caplog.at_level(logging.INFO, logger="sessrec.training"):
        model = make(epochs=2).fit(train, valid, log=tmp_path / "run.csv")
    lines = [r.getMessage() for r in caplog.records if r.name == "sessrec.training"]
    assert len(lines) == 2 and lines[1].startswith("sasrec epoch 2: loss")
    assert "valid_NDCG@20" in lines[0]
    table = pd.read_csv(tmp_path / "run.csv")
    assert list(table["epoch"]) == [1, 2]
    model.fit(train, valid, epochs=1, log=sr.RunLog(tmp_path / "run.csv"))  # resumed: 3 rows
    assert list(pd.read_csv(tmp_path / "run.csv")["epoch"]) == [1, 2, 3]
    make(epochs=2).fit(train, log=tmp_path / "run.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and rows[0]["model"] == "sasrec"
    with pytest.raises(ValueError, match=".csv or .jsonl"):
        make(epochs=1).fit(train, log=tmp_path / "run.txt")
    with pytest.raises(TypeError, match="callables"):
        make(epochs=1).fit(train, callbacks=["stop"])


def test_alterrec_and_text_contrastive_take_callbacks(small_split):
    train, valid, _ = small_split
    rows = []
    alter = sr.models.AlterRec(m_random=1, m_max=4, dim=8, layers=1, heads=1, k1=2, k2=40)
    alter.fit(train, valid, callbacks=[lambda m, row: rows.append(row) or row["epoch"] >= 2])
    assert len(alter.history_) == 2 and "valid_fused_NDCG@20" in rows[-1]
    text = sr.models.TextContrastive(dim=8, layers=1, heads=1, ffn_dim=16, vocab_size=300,
                                     epochs=3, batch_size=64)
    text.fit(train, valid, callbacks=[lambda m, row: True])
    assert len(text.history_) == 1
