"""Inputs every loader must refuse with a ValueError naming the file (and line), not absorb:
timestamps beyond int64, NUL bytes inside IDs, damaged gzip files."""

import gzip

import pytest

import sessrec as sr
from sessrec.datasets import load_amazon_m2, load_interactions, load_recbole
from sessrec.datasets.online_retail import load_online_retail

from conftest import write


@pytest.mark.parametrize("value", ["inf", "-inf", "1e19", "-1e19", "1e300", "nan", "9.3e18"])
def test_time_beyond_int64_is_refused_with_its_line(tmp_path, value):
    path = write(tmp_path / "clicks.csv",
                 f"session_id,item_id,t\n1,a,1\n1,b,2\n2,a,3\n2,c,{value}\n")
    with pytest.raises(ValueError, match=rf"clicks.csv, line 5: 't' is '{value}'"):
        load_interactions(path, time_column="t")


def test_time_beyond_int64_is_refused_in_recbole_inter(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    write(folder / "toy.inter", "user_id:token\titem_id:token\ttimestamp:float\n"
                                "1\t10\t1.5\n1\t11\t1e300\n")
    with pytest.raises(ValueError, match="toy.inter, line 3: 'timestamp' is '1e300'"):
        load_recbole(folder)


def test_largest_representable_times_are_kept(tmp_path):
    path = write(tmp_path / "clicks.csv",
                 "session_id,item_id,t\n1,a,-9e18\n1,b,9e18\n")
    ds = load_interactions(path, time_column="t")
    assert list(ds.sessions.times) == [-9 * 10**18, 9 * 10**18]


@pytest.mark.parametrize("column, line", [("item_id", 3), ("session_id", 4)])
def test_nul_byte_inside_an_id_is_refused(tmp_path, column, line):
    rows = [["1", "ab"], ["1", "ab\x00c"], ["2", "ab"], ["2", "abd"]]
    if column == "session_id":
        rows = [["1", "a"], ["1", "b"], ["1\x00x", "a"], ["2", "c"]]
    text = "session_id,item_id\n" + "".join(f"{s},{i}\n" for s, i in rows)
    path = write(tmp_path / "clicks.csv", text)
    with pytest.raises(ValueError, match=rf"clicks.csv, line {line}: NUL byte in '{column}'"):
        load_interactions(path)


def test_nul_byte_in_recbole_sequence_and_item_file(tmp_path):
    folder = tmp_path / "pre"
    folder.mkdir()
    head = "item_id_list:token_seq\titem_id:token\n"
    write(folder / "pre.train.inter", head + "1\t2\n1 2\x003\t4\n")
    write(folder / "pre.test.inter", head + "1 2\t5\n")
    message = "pre.train.inter, line 3: NUL byte in 'item_id_list:token_seq'"
    with pytest.raises(ValueError, match=message):
        load_recbole(folder)
    write(folder / "pre.train.inter", head + "1\t2\n1 2\t3\n")
    write(folder / "pre.item", "item_id:token\ttitle:token_seq\n1\tx\n2\x00\ty\n")
    with pytest.raises(ValueError, match="pre.item, line 3: NUL byte in 'item_id:token'"):
        load_recbole(folder)


def test_nul_byte_in_amazon_m2_lists(tmp_path):
    path = write(tmp_path / "sessions_train.csv",
                 "prev_items,next_item,locale\n\"['B1' 'B2']\",B3,DE\n\"['B1' 'B\x002']\",B3,DE\n")
    with pytest.raises(ValueError, match="sessions_train.csv, line 3: NUL byte in 'prev_items'"):
        load_amazon_m2(path)


def damaged_gzip_files(tmp_path, name, text):
    """The same content as a truncated gzip file and as plain text named .gz."""
    data = gzip.compress(text.encode())
    truncated = tmp_path / "truncated" / name
    plain = tmp_path / "plain" / name
    for path, payload in ((truncated, data[: len(data) // 2]), (plain, text.encode())):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    return truncated, plain


CLICKS = "session_id,item_id\n" + "".join(f"{s},{i}\n" for s in range(300) for i in "abc")


@pytest.mark.parametrize("kind", ["truncated", "plain"])
def test_damaged_gzip_generic_and_dispatch(tmp_path, kind):
    files = damaged_gzip_files(tmp_path, "clicks.csv.gz", CLICKS)
    path = dict(zip(("truncated", "plain"), files))[kind]
    for load in (load_interactions, sr.datasets.load):
        with pytest.raises(ValueError, match=r"clicks.csv.gz: (truncated|not a) gzip"):
            load(path)


@pytest.mark.parametrize("kind", ["truncated", "plain"])
def test_damaged_gzip_item_file(tmp_path, kind):
    inter = write(tmp_path / "clicks.csv", CLICKS)
    files = dict(zip(("truncated", "plain"), damaged_gzip_files(
        tmp_path, "items.csv.gz", "item_id,title\n" + "a,x\nb,y\nc,z\n" * 500)))
    with pytest.raises(ValueError, match=r"items.csv.gz: (truncated|not a) gzip"):
        load_interactions(inter, items_path=files[kind])


@pytest.mark.parametrize("kind", ["truncated", "plain"])
def test_damaged_gzip_amazon_m2(tmp_path, kind):
    text = "prev_items,next_item,locale\n" + "\"['B1' 'B2']\",B3,DE\n" * 500
    files = dict(zip(("truncated", "plain"),
                     damaged_gzip_files(tmp_path, "sessions_train.csv.gz", text)))
    with pytest.raises(ValueError, match=r"sessions_train.csv.gz: (truncated|not a) gzip"):
        load_amazon_m2(files[kind])


@pytest.mark.parametrize("kind", ["truncated", "plain"])
def test_damaged_gzip_online_retail(tmp_path, kind):
    text = ("InvoiceNo,StockCode,Description,InvoiceDate,UnitPrice\n"
            + "1,A,mug,12/1/10 08:26,2.5\n" * 500)
    files = dict(zip(("truncated", "plain"), damaged_gzip_files(tmp_path, "retail.csv.gz", text)))
    with pytest.raises(ValueError, match=r"retail.csv.gz: (truncated|not a) gzip"):
        load_online_retail(source=files[kind])


PRE_SPLIT_HEAD = "user_id:token\titem_id_list:token_seq\titem_id:token\n"


@pytest.mark.parametrize("kind", ["truncated", "plain"])
@pytest.mark.parametrize("which", ["inter", "item", "train.inter"])
def test_damaged_gzip_recbole(tmp_path, kind, which):
    contents = {
        "inter": "user_id:token\titem_id:token\n" + "1\t10\n1\t11\n" * 500,
        "item": "item_id:token\ttitle:token_seq\n" + "10\ta b\n" * 500,
        "train.inter": PRE_SPLIT_HEAD + "1\t10\t11\n" * 500,
    }
    folder = tmp_path / kind / "toy"
    folder.mkdir(parents=True)
    damaged = dict(zip(("truncated", "plain"),
                       damaged_gzip_files(tmp_path / "src", f"toy.{which}.gz", contents[which])))
    (folder / f"toy.{which}.gz").write_bytes(damaged[kind].read_bytes())
    if which == "item":
        write(folder / "toy.inter", contents["inter"])
    if which == "train.inter":
        write(folder / "toy.test.inter", "user_id:token\titem_id_list:token_seq\titem_id:token\n"
                                         "1\t10\t12\n")
    with pytest.raises(ValueError, match=rf"toy.{which}.gz: (truncated|not a) gzip"):
        load_recbole(folder)
