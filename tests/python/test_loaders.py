"""Loaders: generic CSV/TSV, RecBole, Amazon-M2, online_retail, HDF5 cache, and bad input."""

import gzip

import numpy as np
import pytest

import sessrec as sr
from sessrec.datasets import load_amazon_m2, load_interactions, load_recbole

from conftest import write


def test_generic_csv_with_item_file(tmp_path):
    inter = write(tmp_path / "clicks.csv",
                  "session_id,item_id,timestamp,action\n"
                  "s1,a,10,view\ns1,b,12,buy\ns2,b,5,view\ns2,c,6,view\ns2,a,7,view\ns3,z,1,view\n")
    items = write(tmp_path / "items.csv",
                  "item_id,title,price,brand\na,red mug,3.5,acme\nb,blue mug,4,acme\n"
                  "c,green cup,,other\nd,never clicked,1,acme\n")
    ds = load_interactions(inter, time_column="timestamp", action_column="action",
                           items_path=items, categorical_columns=["brand"])
    # s2 starts first (time 5); s3 has one event and is dropped (min_session_length=2).
    assert list(ds.session_ids) == ["s2", "s1"]
    ids = ds.catalog.ids()
    assert set(ids) == {"a", "b", "c", "z", "d"}  # 'd' is catalogue-only, 'z' has no text
    items_of = np.asarray(ds.sessions.items)
    assert [ids[i] for i in items_of] == ["b", "c", "a", "a", "b"]
    assert ds.action_names == ["buy", "view"]
    assert list(ds.sessions.actions) == [1, 1, 1, 1, 0]
    text = dict(zip(ids, ds.catalog.text("text")))
    assert text["a"] == "red mug" and text["z"] == "" and text["d"] == "never clicked"
    price = dict(zip(ids, ds.catalog.numeric("price")))
    assert price["b"] == 4 and np.isnan(price["c"])
    codes, vocab = ds.catalog.categorical("brand")
    assert vocab[codes[ids.index("c")]] == "other"


def test_generic_tsv_gzip_and_date_times(tmp_path):
    path = tmp_path / "clicks.tsv.gz"
    with gzip.open(path, "wt") as f:
        f.write("sid\titem\twhen\n1\tx\t2020-01-01 10:00\n1\ty\t2020-01-01 10:05\n"
                "2\ty\t2019-12-31 09:00\n2\tx\t2019-12-31 09:01\n")
    ds = load_interactions(path, session_column="sid", item_column="item", time_column="when")
    assert list(ds.session_ids) == ["2", "1"]
    assert np.asarray(ds.sessions.times)[0] == 1577782800  # 2019-12-31 09:00 UTC


@pytest.mark.parametrize(
    "content, kwargs, match",
    [
        ("", {}, "clicks.csv: the file is empty"),
        ("session_id,item_id\n", {}, "header but no rows"),
        ("session_id,item_id\n1,a\n1,b,extra,fields\n", {}, "clicks.csv: malformed row.*line 3"),
        ("session_id,item_id\n1,a\n", {"time_column": "ts"}, "no column 'ts'"),
        ("sess,item_id\n1,a\n", {}, "no column 'session_id'"),
        ("session_id,item_id\n1,a\n1,\n", {}, "clicks.csv, line 3: empty 'item_id'"),
        ("session_id,item_id,t\n1,a,1\n1,b,yesterday\n", {"time_column": "t"},
         "clicks.csv, line 3: 't' is 'yesterday', not a time"),
        ("session_id,item_id\n1,a\n2,b\n3,c\n", {}, "every session has fewer than 2 events"),
    ],
)
def test_generic_bad_input_names_file_and_line(tmp_path, content, kwargs, match):
    path = write(tmp_path / "clicks.csv", content)
    with pytest.raises(ValueError, match=match):
        load_interactions(path, **kwargs)


def test_item_file_bad_number(tmp_path):
    inter = write(tmp_path / "clicks.csv", "session_id,item_id\n1,a\n1,b\n")
    items = write(tmp_path / "items.csv", "item_id,price\na,1.0\nb,cheap\n")
    with pytest.raises(ValueError, match="items.csv, line 3: 'price' is 'cheap'"):
        load_interactions(inter, items_path=items, numeric_columns=["price"])


def test_recbole_single_inter_with_item_and_text(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    write(folder / "toy.inter", "session_id:token\titem_id:token\ttimestamp:float\n"
                                "1\t10\t1.5\n1\t11\t2.5\n2\t11\t0.5\n2\t12\t0.7\n")
    write(folder / "toy.item", "item_id:token\tcategories:token_seq\tprice:float\tbrand:token\n"
                               "10\tkitchen mug\t2.0\tacme\n11\tgarden hose\t9.0\tzen\n")
    write(folder / "toy.text", "item_id:token\ttext:token_seq\n10\ta red mug\n12\tsome thing\n")
    with pytest.warns(UserWarning, match=r"toy.item: 1 of the 3 interaction items have no row"):
        ds = load_recbole(folder)
    assert ds.name == "toy" and ds.sessions.num_sessions == 2
    ids = ds.catalog.ids()
    text = dict(zip(ids, ds.catalog.text("text")))
    assert text["10"] == "a red mug" and text["12"] == "some thing"
    assert dict(zip(ids, ds.catalog.text("categories")))["11"] == "garden hose"
    assert dict(zip(ids, ds.catalog.numeric("price")))["11"] == 9.0
    assert "brand" in ds.catalog.categorical_fields()


def test_recbole_presplit_merges_prefix_rows(tmp_path):
    folder = tmp_path / "pre"
    folder.mkdir()
    head = "item_id_list:token_seq\titem_id:token\n"
    # Training rows are the prefix expansion of sessions [1 2 3 4] and [5 6].
    write(folder / "pre.train.inter", head + "1\t2\n1 2\t3\n1 2 3\t4\n5\t6\n")
    write(folder / "pre.valid.inter", head + "2 3\t4\n")
    write(folder / "pre.test.inter", head + "1 2\t5\n6\t1\n")
    ds = load_recbole(folder)
    train, valid, test = ds.split("given")
    assert len(train) == 2 and train.sessions.num_events == 6
    assert train.num_examples() == 4  # the four original training rows
    assert test.targets == "last" and test.num_examples() == 2
    ids = ds.catalog.ids()
    assert sorted(ids[i] for i in test.target_items()) == ["1", "5"]
    assert valid.num_examples() == 1


def test_recbole_errors(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    with pytest.raises(ValueError, match="neither bad.inter nor bad.train.inter"):
        load_recbole(folder)
    write(folder / "bad.inter", "session_id\titem_id\n1\t2\n")
    with pytest.raises(ValueError, match="bad.inter, line 1: header field 'session_id' lacks"):
        load_recbole(folder)


def test_amazon_m2(tmp_path):
    sessions = write(tmp_path / "sessions_train.csv",
                     "prev_items,next_item,locale\n"
                     "\"['B1' 'B2']\",B3,DE\n"
                     "\"['B2' 'B3'\n 'B4']\",B1,DE\n"
                     "\"['B9']\",B8,JP\n")
    products = write(tmp_path / "products_train.csv",
                     "id,locale,title,price,brand,color,size,model,material,author,desc\n"
                     "B1,DE,Red Mug,3.5,Acme,red,,,ceramic,,A mug\n"
                     "B1,UK,Red Mug UK,3.0,Acme,red,,,,,\n"
                     "B2,DE,Blue Mug,4.0,Acme,blue,,,,,\n")
    ds = load_amazon_m2(sessions, products, locales=["DE"])
    assert ds.sessions.num_sessions == 2
    ids = ds.catalog.ids()
    assert [ids[i] for i in ds.sessions.items] == ["B1", "B2", "B3", "B2", "B3", "B4", "B1"]
    text = dict(zip(ids, ds.catalog.text("text")))
    assert text["B1"] == "Red Mug Acme red ceramic"
    assert dict(zip(ids, ds.catalog.text("desc")))["B1"] == "A mug"
    assert dict(zip(ids, ds.catalog.numeric("price")))["B1"] == 3.5
    assert sr.datasets.load(sessions).sessions.num_sessions == 3  # dispatch on prev_items
    bad = write(tmp_path / "sessions_bad.csv", "prev_items,next_item,locale\n['B1'],B2,DE\nB1,B2,DE\n")
    with pytest.raises(ValueError, match="sessions_bad.csv, line 3: expected a bracketed list"):
        load_amazon_m2(bad)


def test_online_retail_embedded(retail):
    stats = retail.stats()
    assert stats["sessions"] == 8628 and stats["items"] == 3634
    assert retail.sessions.times is not None
    assert not any(str(s).startswith("C") for s in retail.session_ids)
    assert (np.diff(np.asarray(retail.sessions.offsets)) >= 2).all()
    text = dict(zip(retail.catalog.ids(), retail.catalog.text("text")))
    assert text["85123A"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    start = retail.sessions.session_start_times()
    assert (np.diff(start) >= 0).all()


def test_hdf5_cache_round_trip(retail, small, tmp_path):
    for ds in (retail, small):
        path = tmp_path / f"{ds.name}.h5"
        ds.save(path)
        again = sr.datasets.load(path)
        np.testing.assert_array_equal(again.sessions.items, ds.sessions.items)
        np.testing.assert_array_equal(again.sessions.offsets, ds.sessions.offsets)
        assert again.catalog.ids() == ds.catalog.ids()
        assert again.catalog.text("text") == ds.catalog.text("text")
        assert list(again.session_ids) == list(ds.session_ids)
        assert again.action_names == ds.action_names
        assert (again.queries is None) == (ds.queries is None)
    again = sr.Dataset.load(tmp_path / "synthetic.h5")
    assert again.queries == small.queries
    np.testing.assert_array_equal(again.sessions.actions, small.sessions.actions)
    codes, vocab = again.catalog.categorical("brand")
    np.testing.assert_array_equal(codes, small.catalog.categorical("brand")[0])


def test_load_dispatch_errors(tmp_path):
    with pytest.raises(ValueError, match="neither a known dataset name"):
        sr.datasets.load("no_such_dataset")
    path = write(tmp_path / "broken.h5", "not hdf5")
    with pytest.raises(ValueError, match="broken.h5"):
        sr.datasets.load(path)
