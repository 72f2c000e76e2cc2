"""Parameter groups: frozen parameters stay put, group learning rates act as a rescaled rate,
settings survive save/load, and weights move between models and files by name."""

import h5py
import numpy as np
import pytest

import sessrec as sr


@pytest.fixture(scope="module")
def parts():
    ds = sr.datasets.synthetic(num_items=150, num_sessions=800, seed=9)
    return ds.split("time", valid=0.1, test=0.1)


def weights(model):
    return {k: v.copy() for k, v in model.core.get_parameters().items()}


def test_frozen_parameters_keep_their_initial_values(parts):
    train, _, _ = parts
    model = sr.models.SASRec(dim=16, epochs=1, seed=2, freeze=["item_embedding", "layers.0.*"])
    before = weights(model.build(train))
    model.fit(train, progress=False)
    after = weights(model)
    table = model.parameter_table()
    for name in before:
        frozen = name == "item_embedding" or name.startswith("layers.0.")
        assert bool(table.loc[name, "frozen"]) == frozen
        assert np.array_equal(before[name], after[name]) == frozen, name


def test_unfreeze_continues_training_the_stage_after(parts):
    train, _, _ = parts
    model = sr.models.SASRec(dim=16, epochs=1, seed=2, freeze="item_embedding")
    model.fit(train, progress=False)
    stage1 = weights(model)
    model.unfreeze("item_embedding").fit(train, epochs=1, progress=False)
    assert not np.array_equal(stage1["item_embedding"], model.core.get_parameters()["item_embedding"])
    assert len(model.history_) == 2
    with pytest.raises(ValueError, match="not frozen"):
        model.unfreeze("layers.*")


def test_group_learning_rate_is_the_rescaled_rate(parts):
    train, _, _ = parts
    plain = sr.models.SASRec(dim=16, epochs=1, seed=4, lr=2e-3).fit(train, progress=False)
    grouped = sr.models.SASRec(dim=16, epochs=1, seed=4, lr=1e-3, lr_groups={"*": 2e-3})
    grouped.fit(train, progress=False)
    assert plain.history_["loss"].tolist() == grouped.history_["loss"].tolist()
    a, b = weights(plain), weights(grouped)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # A zero rate for one group leaves exactly that group as it started.
    still = sr.models.SASRec(dim=16, epochs=1, seed=4, lr_groups={"position_embedding": 0.0})
    start = weights(still.build(train))
    still.fit(train, progress=False)
    assert np.array_equal(start["position_embedding"], still.core.get_parameters()["position_embedding"])
    assert still.parameter_table().loc["position_embedding", "lr"] == 0.0
    assert not np.array_equal(start["layers.1.ffn.w1.weight"],
                              still.core.get_parameters()["layers.1.ffn.w1.weight"])


def test_patterns_that_match_nothing_are_refused_and_change_nothing(parts):
    train, _, _ = parts
    model = sr.models.GRU4Rec(dim=8, epochs=0).fit(train, progress=False)
    with pytest.raises(ValueError, match="no parameter matches 'layers.*'.*gru.weight_ih"):
        model.freeze("layers.*")
    assert model.params["freeze"] == []
    assert not model.parameter_table()["frozen"].any()
    with pytest.raises(ValueError, match="no parameter matches"):
        sr.models.GRU4Rec(dim=8, epochs=0, lr_groups={"nope": 1e-3}).fit(train, progress=False)
    with pytest.raises(ValueError, match="learning rate"):
        sr.models.GRU4Rec(lr_groups={"*": -1.0})
    with pytest.raises(TypeError, match="freeze"):
        sr.models.GRU4Rec(freeze=[3])


def test_groups_survive_save_and_load(parts, tmp_path):
    train, _, _ = parts
    model = sr.models.SASRec(dim=16, epochs=1, seed=1, freeze=["layers.1.*"],
                             lr_groups={"item_embedding": 5e-3})
    model.fit(train, progress=False)
    model.save(tmp_path / "m.h5")
    loaded = sr.load(tmp_path / "m.h5")
    assert loaded.parameter_table().equals(model.parameter_table())
    before = weights(loaded)
    loaded.fit(train, epochs=1, progress=False)
    assert np.array_equal(before["layers.1.ln1.weight"], loaded.core.get_parameters()["layers.1.ln1.weight"])


def test_copy_parameters_hands_a_stage_over(parts):
    train, _, test = parts
    first = sr.models.SASRec(dim=16, epochs=2, seed=1).fit(train, progress=False)
    second = sr.models.SASRec(dim=16, epochs=2, seed=7).build(train)
    assert second.copy_parameters_from(first) == len(first.core.parameter_names())
    histories = [[1, 2, 3], [5]]
    assert np.array_equal(first.score(histories), second.score(histories))
    # Different architectures share what they share by name; renamed parameters by mapping.
    mean = sr.models.MeanPool(dim=16, epochs=0).build(train)
    assert mean.copy_parameters_from(first) == 1  # item_embedding
    assert np.array_equal(mean.core.get_parameters()["item_embedding"],
                          first.core.get_parameters()["item_embedding"])
    wide = sr.models.SASRec(dim=32, epochs=0).build(train)
    with pytest.raises(ValueError, match="item_embedding"):
        wide.copy_parameters_from(first)
    with pytest.raises(ValueError, match="no network yet"):
        sr.models.SASRec(dim=16).copy_parameters_from(first)


def test_export_and_import_by_name(parts, tmp_path):
    train, _, _ = parts
    source = sr.models.SASRec(dim=16, epochs=1, seed=1).fit(train, progress=False)
    path = tmp_path / "p.h5"
    assert source.export_parameters(path) == source.core.parameter_names()
    target = sr.models.SASRec(dim=16, epochs=0, seed=8).build(train)
    assert target.import_parameters(path) == sorted(source.core.parameter_names())
    histories = [[4, 2], [7, 7, 1]]
    assert np.array_equal(source.score(histories), target.score(histories))

    part = tmp_path / "layers.h5"
    source.export_parameters(part, "layers.*")
    fresh = sr.models.SASRec(dim=16, epochs=0, seed=8).build(train)
    with pytest.raises(ValueError, match="strict import.*item_embedding"):
        fresh.import_parameters(part)
    assert len(fresh.import_parameters(part, strict=False)) == len(
        [n for n in source.core.parameter_names() if n.startswith("layers.")])
    with pytest.raises(ValueError, match="lacks"):
        fresh.import_parameters(part, names="item_*")
    mapped = fresh.import_parameters(part, names={"layers.0.ln1.bias": "layers.1.ln1.bias"})
    assert mapped == ["layers.1.ln1.bias"]
    assert np.array_equal(fresh.core.get_parameters()["layers.1.ln1.bias"],
                          source.core.get_parameters()["layers.0.ln1.bias"])


def test_import_reads_other_tools_files_and_refuses_damaged_ones(parts, tmp_path):
    train, _, _ = parts
    model = sr.models.SASRec(dim=16, epochs=0, seed=3).build(train)
    # As a PyTorch state_dict dumped with h5py: float64, 1-D biases, no sessrec attributes.
    rng = np.random.default_rng(0)
    foreign = tmp_path / "torch.h5"
    with h5py.File(foreign, "w") as f:
        f["layers.0.ln1.bias"] = rng.normal(size=16)
        f["layers.0.attn.qkv.weight"] = rng.normal(size=(48, 16))
        f["num_batches_tracked"] = np.int64(5)
    assert model.import_parameters(foreign, strict=False) == ["layers.0.attn.qkv.weight",
                                                              "layers.0.ln1.bias"]
    got = model.core.get_parameters()
    assert np.allclose(got["layers.0.ln1.bias"][0], np.asarray(h5py.File(foreign)["layers.0.ln1.bias"]))
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as f:
        f["layers.0.attn.qkv.weight"] = np.zeros((16, 16))
    with pytest.raises(ValueError, match="shape"):
        model.import_parameters(wrong, strict=False)

    path = tmp_path / "p.h5"
    model.export_parameters(path)
    with h5py.File(path, "r+") as f:  # one value changed behind sessrec's back
        data = f["position_embedding"][...]
        data[0, 0] += 1
        f["position_embedding"][...] = data
    with pytest.raises(ValueError, match="position_embedding"):
        model.import_parameters(path)
    model.save(tmp_path / "model.h5")
    with pytest.raises(ValueError, match="not a parameter file"):
        model.import_parameters(tmp_path / "model.h5")
