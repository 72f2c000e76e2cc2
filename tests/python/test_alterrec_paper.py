"""AlterRec as published (``AlterRec.paper``), one switch per deviation of the default, the
separate positive terms of Eq. 10-11 and g_mean against PyTorch, and mining windows that do not
fit the catalogue."""

import warnings

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core
from sessrec.models import alterrec

torch = pytest.importorskip("torch")
from torch_reference import full_softmax_loss, padded_batch  # noqa: E402

TINY = dict(dim=8, layers=1, heads=1, ffn_dim=16, max_len=10, text_dim=8, text_hidden=(8,))


# ----------------------------------------------------------------- the published configuration
def test_paper_builds_the_published_configuration():
    home = sr.models.AlterRec.paper("homedepot")
    p = home.params
    # Section 5.1.3 and Appendix G, word for word in the module docstring.
    assert (p["m_random"], p["m_gap"], p["m_max"], p["alpha"]) == (2, 2, 30, 0.5)
    assert (p["k1"], p["k2"], p["p"]) == (6, 2000, 0)
    assert (p["dim"], p["layers"]) == (300, 2)
    assert p["negatives"] == "hard" and p["cold_items"] == "blend" and p["tower_norm"] is False
    # Homedepot: "the mean function to generate ID session embedding and Transformer to generate
    # text session embedding": g_mean (a plain mean, no linear layer) and SASRec.
    ids, text = home.networks["id"], home.networks["text"]
    assert isinstance(ids, sr.models.MeanPool) and ids.params["linear"] is False
    assert ids.params["items"] == "id" and ids.temperature == 1.0  # plain dot products, Eq. 5
    assert isinstance(text, sr.models.SASRec) and text.temperature == 1.0
    assert text.params["tower_norm"] is False  # H = MLP(SBERT), Eq. 1: no LayerNorm
    amazon = sr.models.AlterRec.paper("amazon-m2", augmented=True, dim=16)
    q = amazon.params
    assert (q["k1"], q["k2"], q["p"], q["beta"], q["dim"]) == (20, 20000, 5, 0.5, 16)
    assert q["positive_terms"] == "separate"
    assert isinstance(amazon.networks["id"], sr.models.SASRec)
    with pytest.raises(ValueError, match="setting"):
        sr.models.AlterRec.paper("amazon")


def test_every_deviation_of_the_default_is_one_documented_switch():
    """The default differs from the paper's Homedepot configuration only in the parameters the
    module docstring lists, and each one can be set back on its own."""
    default, paper = sr.models.AlterRec().params, sr.models.AlterRec.paper("homedepot").params
    differ = {k for k in paper if default[k] != paper[k]}
    assert differ == {"negatives", "k1", "k2", "fit_window", "tower_norm", "cold_items", "alpha",
                      "id_encoder", "dim", "dropout", "text_hidden", "text_dropout"}
    for key in differ:
        assert f"``{key}``" in alterrec.__doc__ or key in ("text_hidden", "text_dropout"), key
        one = sr.models.AlterRec(**{key: paper[key]})
        assert one.params[key] == paper[key]
        assert all(one.params[k] == default[k] for k in default if k != key)


def test_plain_towers_have_no_layernorm_and_temperature_one(small_split):
    train, valid, _ = small_split
    model = sr.models.AlterRec(tower_norm=False, m_random=1, m_gap=1, m_max=2, k1=5, k2=60,
                               **TINY).fit(train, valid, progress=False)
    names = set(model.networks["text"]._core.parameter_names())
    assert not any("text_ln" in n for n in names)
    assert "item_embedding" in model.networks["id"]._core.parameter_names()  # a free ID table
    assert model.networks["id"].temperature == model.networks["text"].temperature == 1.0
    normed = sr.models.AlterRec(m_random=1, m_gap=1, m_max=1, k1=5, k2=60, alpha=0.5, **TINY)
    normed.fit(train, progress=False)
    assert "tower.text_ln.weight" in normed.networks["text"]._core.parameter_names()
    assert normed.networks["text"].temperature == pytest.approx(np.sqrt(8))


def test_paper_configuration_trains_and_blends_by_eq_12(small_split):
    train, valid, _ = small_split
    model = sr.models.AlterRec.paper("homedepot", augmented=True, m_max=4, m_random=1, m_gap=1,
                                     k1=6, k2=60, **TINY)
    model.fit(train, valid, progress=False)
    h = model.history_
    assert list(h["negatives"]) == ["random", "random", "hard", "hard"]
    assert np.isfinite(h["loss"]).all()
    assert model.alpha_ == 0.5 and not model.text_only_items_.any()  # Eq. 12 for every item
    sessions = [[1, 2, 3], [7]]
    np.testing.assert_allclose(
        model.score(sessions),
        0.5 * model.network("id").score(sessions) + 0.5 * model.network("text").score(sessions),
        rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------ mining windows
def test_negative_modes_set_the_counts():
    hard = sr.models.AlterRec(negatives="hard", k1=6, k2=2000, fit_window="clip")
    assert hard.mining_window(5000) == dict(k1=6, k2=2000, num_hard=1994, num_random=0,
                                            num_aug=0, aug_weight=0.5, separate_positives=True)
    mixed = sr.models.AlterRec(k1=50, k2=5000, num_hard=100, num_random=20)
    assert mixed.mining_window(20000)["num_hard"] == 100
    assert mixed.mining_window(20000)["num_random"] == 20
    with pytest.raises(ValueError, match="num_hard and num_random apply to negatives='mixed'"):
        sr.models.AlterRec(negatives="hard", num_hard=10)
    shared = sr.models.AlterRec(p=3, positive_terms="shared").mining_window(20000)
    assert shared["separate_positives"] is False and shared["num_aug"] == 3
    for bad in (dict(negatives="semi"), dict(positive_terms="both"), dict(fit_window="cut"),
                dict(cold_items="id"), dict(id_encoder="gru")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            sr.models.AlterRec(**bad)


def test_a_window_beyond_the_catalogue_is_an_error_or_a_warned_change(small_split):
    train, _, _ = small_split
    n = train.num_items
    with pytest.raises(ValueError, match=f"k2=20000 does not fit a catalogue of {n} items"):
        sr.models.AlterRec(k1=20, k2=20000, fit_window="error").mining_window(n)
    clip = sr.models.AlterRec(k1=6, k2=20000, fit_window="clip", negatives="hard")
    assert clip.mining_window(n)["k2"] == n and clip.mining_window(n)["num_hard"] == n - 6
    assert f"k1=6, k2=20000 changed to k1=6, k2={n}" in clip.window_change(n)
    assert sr.models.AlterRec(k1=5, k2=n, fit_window="clip").window_change(n) is None
    assert sr.models.AlterRec(k1=5, k2=n // 4, fit_window="scale").window_change(n) is None
    scaled = sr.models.AlterRec(m_random=1, m_gap=1, m_max=1, **TINY)
    with pytest.warns(UserWarning, match=rf"catalogue of {n} items is smaller than 4 \* k2"):
        scaled.fit(train, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a window that fits: no warning
        sr.models.AlterRec(m_random=1, m_gap=1, m_max=1, k1=5, k2=60, alpha=0.5,
                           **TINY).fit(train, progress=False)
    with pytest.raises(ValueError, match="leaves no negatives"):
        sr.models.AlterRec(k1=n, k2=n + 5, fit_window="clip").mining_window(n)


# ------------------------------------------------------- the losses and g_mean against PyTorch
def torch_candidate_loss(H, E, cand, label, separate):
    """The mined-candidate loss written directly: shared, one softmax over every slot; separate,
    each positive against the negatives only (Eq. 10-11). Normalised by the sum of labels."""
    total, terms = 0.0, []
    for b in range(cand.shape[0]):
        used = [j for j in range(cand.shape[1]) if cand[b, j] >= 0]
        logits = torch.stack([H[b] @ E[cand[b, j]] for j in used])
        lab = torch.tensor([float(label[b, j]) for j in used], dtype=H.dtype)
        neg = lab == 0
        for k, j in enumerate(used):
            if label[b, j] == 0:
                continue
            total += float(label[b, j])
            pool = torch.cat([logits[k : k + 1], logits[neg]]) if separate else logits
            terms.append(lab[k] * (torch.logsumexp(pool, 0) - logits[k]))
    return torch.stack(terms).sum() / total


@pytest.mark.parametrize("separate", [True, False])
@pytest.mark.parametrize("dense", [False, True])
def test_candidate_softmax_matches_torch(separate, dense):
    rng = np.random.default_rng(7)
    B, M, D, V = 6, 9, 5, 40
    H = rng.normal(size=(B, D)).astype(np.float32)
    E = rng.normal(size=(V, D)).astype(np.float32)
    cand = rng.integers(1, V, size=(B, M)).astype(np.int32)
    label = np.zeros((B, M), np.float32)
    label[:, 0] = 1.0
    label[:, 1:4] = 0.5  # three extra positives of weight beta per row
    cand[1, 5] = -1  # an unused slot
    cand[2, 6] = cand[2, 7]  # a repeated negative
    label[3, 1:4] = 0.0  # a row with the target alone
    loss, dH, dE = _core.candidate_softmax(H, E, cand, label, separate_positives=separate,
                                           dense=dense)
    h = torch.tensor(H, dtype=torch.float64, requires_grad=True)
    e = torch.tensor(E, dtype=torch.float64, requires_grad=True)
    ref = torch_candidate_loss(h, e, cand, label, separate)
    ref.backward()
    assert loss == pytest.approx(float(ref), rel=1e-5)
    np.testing.assert_allclose(dH, h.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dE, e.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_separate_and_shared_positive_terms_differ_only_with_extra_positives():
    rng = np.random.default_rng(1)
    H, E = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(20, 4)).astype(np.float32)
    cand = rng.integers(1, 20, size=(3, 8)).astype(np.int32)
    one = np.zeros((3, 8), np.float32)
    one[:, 0] = 1
    a = _core.candidate_softmax(H, E, cand, one, separate_positives=True)[0]
    b = _core.candidate_softmax(H, E, cand, one, separate_positives=False)[0]
    assert a == pytest.approx(b, rel=1e-6)
    aug = one.copy()
    aug[:, 1:3] = 0.5
    a = _core.candidate_softmax(H, E, cand, aug, separate_positives=True)[0]
    b = _core.candidate_softmax(H, E, cand, aug, separate_positives=False)[0]
    assert a < b  # positives no longer compete with each other


class TorchGMean(torch.nn.Module):
    """g_mean (Eq. 2): the running mean of the item embeddings, no linear layer."""

    def __init__(self, num_items, dim):
        super().__init__()
        self.item_embedding = torch.nn.Embedding(num_items + 1, dim, padding_idx=0)

    def forward(self, inputs):
        x = self.item_embedding(inputs)
        counts = torch.arange(1, inputs.shape[1] + 1, dtype=x.dtype)[None, :, None]
        return x.cumsum(1) / counts


def test_g_mean_matches_torch():
    ds = sr.datasets.synthetic(num_items=80, num_sessions=300, seed=4, mean_session_length=6)
    train, _, _ = ds.split("time")
    model = sr.models.MeanPool(linear=False, dim=8, dropout=0.0, max_len=12, seed=1)
    assert sr.models.sequence_models.ENCODERS["mean"](dim=8).params["linear"] is False
    model._ensure_core(train)
    core = model._core
    assert core.linear is False and core.parameter_names() == ["item_embedding"]
    begin, end = _core.make_training_windows(train.sessions, 12, False)
    begin, end = begin[:20], end[:20]
    core.zero_grad()
    loss, _, _ = core.forward_backward(train.sessions, begin, end, False)
    reference = TorchGMean(train.num_items, 8)
    with torch.no_grad():
        table = core.get_parameters()["item_embedding"]
        reference.item_embedding.weight.copy_(torch.from_numpy(table))
    inputs, targets = padded_batch(train.sessions.items, begin, end)
    ref = full_softmax_loss(reference(inputs), targets, reference.item_embedding.weight)
    ref.backward()
    assert loss == pytest.approx(float(ref), rel=1e-5)
    np.testing.assert_allclose(core.get_gradients()["item_embedding"],
                               reference.item_embedding.weight.grad.numpy(), atol=2e-6)
    # Scores: the session mean dotted with every item.
    items = np.asarray(train.sessions.items)
    scores = core.score(items, begin[:3], begin[:3] + 2)
    mean = core.get_parameters()["item_embedding"][items[begin[:3, None] + np.arange(2)] + 1]
    np.testing.assert_allclose(scores, mean.mean(1) @ core.get_parameters()["item_embedding"][1:].T,
                               rtol=1e-5, atol=1e-6)


def test_nfrec_and_text_only_take_the_mean_encoder(small_split):
    train, valid, test = small_split
    nfrec = sr.models.NFRec("concat", encoder="mean", tower_norm=False, dim=8, text_dim=8,
                            epochs=1).fit(train, valid, progress=False)
    assert nfrec.params["linear"] is False and nfrec.temperature == 1.0
    assert sr.evaluate(nfrec.part("text"), test, k=(20,), progress=False).shape[0] > 0
    text = sr.models.TextOnly(encoder="mean", dim=8, text_dim=8, epochs=1)
    assert isinstance(text, sr.models.MeanPool) and text.params["linear"] is False
