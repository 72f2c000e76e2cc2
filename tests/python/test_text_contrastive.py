"""TextContrastive: the text encoder trained alone on (session text, next item text) pairs. It
learns, scores by cosine of the encoders' vectors (so items without training events score from
their text), and resumes exactly from a checkpoint, queues and momentum encoder included."""

import numpy as np
import pytest

import sessrec as sr

SMALL = dict(vocab_size=200, dim=24, layers=1, heads=2, ffn_dim=48, max_tokens=40,
             temperature=0.1, threads=1)


@pytest.fixture(scope="module")
def parts():
    ds = sr.datasets.synthetic(num_items=80, num_sessions=600, seed=2)
    return ds.split("time", valid=0.1, test=0.1)


def test_learns_from_text_and_scores_by_cosine(parts):
    train, valid, _ = parts
    model = sr.models.TextContrastive(epochs=3, lr=3e-3, **SMALL).fit(train, valid,
                                                                     progress=False)
    assert list(model.history_.columns) == ["epoch", "loss", "seconds", "pairs_per_s",
                                            "valid_NDCG@20"]
    def hits(m):
        return sr.evaluate(m, valid, k=(10,), progress=False).loc[("overall", "all"), "Hits@10"]

    # The synthetic sessions stay within topics that the item text names: text alone should
    # beat popularity (measured: about 0.9 against 0.52).
    assert hits(model) > hits(sr.models.POP().fit(train)) + 0.1
    histories = [[1, 2, 3], [7]]
    scores = model.score(histories)
    expected = model.encode(histories) @ model.encode_items(np.arange(train.num_items)).T
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(scores) <= 1 + 1e-5)
    # An item the training part never shows still has a text vector and a score.
    unseen = np.flatnonzero(np.asarray(train.train_counts) == 0)
    assert len(unseen) > 0  # the fixture has such items (7)
    assert np.isfinite(scores[:, unseen]).all()
    assert len(np.unique(scores[0, unseen])) == len(unseen)  # ranked by their text, not tied


@pytest.mark.parametrize("options", [dict(queue_capacity=64, momentum=0.95),
                                     dict(objective="arccon", symmetric=True, same_space=True,
                                          queue_capacity=48)])
def test_resume_from_checkpoint_is_exact(parts, tmp_path, options):
    train, valid, _ = parts
    straight = sr.models.TextContrastive(epochs=2, **SMALL, **options).fit(train, valid,
                                                                          progress=False)
    path = tmp_path / "ckpt.h5"
    first = sr.models.TextContrastive(epochs=2, **SMALL, **options)
    first.fit(train, valid, epochs=1, progress=False, checkpoint=str(path))
    resumed = sr.load(path)
    resumed.fit(train, valid, epochs=1, progress=False)
    assert straight.history_["loss"].tolist() == resumed.history_["loss"].tolist()
    a, b = straight.core.encoder.get_parameters(), resumed.core.encoder.get_parameters()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    for side in ("anchor", "positive"):
        qa = getattr(straight.core.objective, f"{side}_queue")
        qb = getattr(resumed.core.objective, f"{side}_queue")
        assert (qa is None) == (qb is None)
        if qa is not None:
            sa, sb = qa.get_state(), qb.get_state()
            assert np.array_equal(sa[0], sb[0]) and sa[1:] == sb[1:]
    assert np.array_equal(straight.score([[3, 4]]), resumed.score([[3, 4]]))


def test_refuses_bad_settings(parts):
    with pytest.raises(TypeError, match="unknown TextContrastive parameters"):
        sr.models.TextContrastive(hidden=8)
    with pytest.raises(ValueError, match="kind|infonce"):
        sr.models.TextContrastive(objective="triplet")
    with pytest.raises(ValueError, match="margin"):
        sr.models.TextContrastive(objective="arccon", margin=4.0)
    with pytest.raises(ValueError, match="momentum"):
        sr.models.TextContrastive(momentum=1.0, **SMALL).fit(parts[0], progress=False)
