"""RecBole pre-split files as other tools write them: UniSRec-style rows (longest prefix first,
histories cut to the last items), interleaved users, item2index/user2index files, and RecBole's
own atomic conventions."""

from pathlib import Path

import numpy as np
import pytest

import sessrec as sr
from sessrec.datasets import load_recbole

from conftest import write

HEAD = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
ML100K = Path("/work/shared/data/ml-100k")

# Full sequences per user: train part, then one validation and one test item (leave-one-out).
SEQUENCES = {
    "0": ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
    "1": ["3", "1", "3", "1", "3", "2"],  # repeats: rows can only be placed by position
    "2": ["7", "8", "9", "7"],
    "3": ["4", "5", "6", "1", "2", "3", "4", "5", "6", "10", "11"],
}


def unisrec_rows(sequences, cap, order):
    """(user, history, target) rows the way UniSRec's process_amazon.py writes them."""
    train, valid, test = [], [], []
    for user, seq in sequences.items():
        fit = seq[:-2]
        rows = [(user, fit[:p][-cap:], fit[p]) for p in range(1, len(fit))]
        train.append(rows if order == "ascending" else rows[::-1])
        valid.append((user, fit[-cap:], seq[-2]))
        test.append((user, seq[:-1][-cap:], seq[-1]))
    if order == "interleaved":  # round robin over users, each user's rows longest first
        depth = max(len(r) for r in train)
        train = [[r[i] for r in train if i < len(r)] for i in range(depth)]
    return [row for rows in train for row in rows], valid, test


def write_presplit(folder, sequences, cap=3, order="descending", head=HEAD):
    folder.mkdir(exist_ok=True)
    for role, rows in zip(("train", "valid", "test"), unisrec_rows(sequences, cap, order)):
        text = "".join(f"{u}\t{' '.join(h)}\t{t}\n" for u, h, t in rows)
        write(folder / f"{folder.name}.{role}.inter", head + text)
    return folder


def sessions_by_id(part, ds):
    ids = ds.catalog.ids()
    items = np.asarray(part.sessions.items)
    offsets = np.asarray(part.sessions.offsets)
    keys = np.asarray(ds.session_ids)[part.session_index]
    bounds = zip(keys, offsets[:-1], offsets[1:])
    return {str(k): [ids[i] for i in items[b:e]] for k, b, e in bounds}


@pytest.mark.parametrize("order", ["descending", "ascending", "interleaved"])
@pytest.mark.parametrize("cap", [3, 50])
def test_presplit_rows_rebuild_one_training_sequence_per_user(tmp_path, order, cap):
    ds = load_recbole(write_presplit(tmp_path / "bench", SEQUENCES, cap, order))
    train, valid, test = ds.split("given")
    assert len(train) == len(SEQUENCES)
    assert sessions_by_id(train, ds) == {u: s[:-2] for u, s in SEQUENCES.items()}
    assert train.num_examples() == sum(len(s) - 3 for s in SEQUENCES.values())
    ids = ds.catalog.ids()
    for part, cut in ((valid, 2), (test, 1)):
        assert part.targets == "last" and part.num_examples() == len(SEQUENCES)
        got = sorted(([ids[i] for i in h], ids[t])
                     for h, t in zip(part.histories(), part.target_items()))
        want = sorted((s[:-cut][-cap:], s[-cut]) for s in SEQUENCES.values())
        assert got == want  # each history is the tail of its user's sequence


@pytest.mark.parametrize(
    "role, line, row, broken",
    [
        # User 0's training rows, longest prefix first: line 2 is "4 5 6 -> 7", line 4 ...
        ("train", 4, "0\t2 3 4\t5", "0\t2 9 4\t5"),
        # ... and a validation row must continue the training rows.
        ("valid", 2, "0\t5 6 7\t8", "0\t5 7 6\t8"),
    ],
)
def test_rows_that_contradict_their_user_are_refused_with_the_line(tmp_path, role, line, row,
                                                                   broken):
    folder = write_presplit(tmp_path / "bench", SEQUENCES, cap=3, order="descending")
    path = folder / f"bench.{role}.inter"
    lines = path.read_text().splitlines()
    assert lines[line - 1] == row
    lines[line - 1] = broken
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"bench.{role}.inter, line {line}: .*user_id '0'"):
        load_recbole(folder)


def test_session_id_column_groups_rows_too(tmp_path):
    head = "session_id:token\titem_id_list:token_seq\titem_id:token\n"
    ds = load_recbole(write_presplit(tmp_path / "sess", SEQUENCES, 2, "interleaved", head))
    train, _, _ = ds.split("given")
    assert sessions_by_id(train, ds) == {u: s[:-2] for u, s in SEQUENCES.items()}


# ----------------------------------------------------------------- item2index / user2index
ORIGINAL = {str(i): f"B{i:04d}X" for i in range(1, 12)}  # index -> original item ID
USERS = {"0": "AUSER0", "1": "AUSER1", "2": "AUSER2", "3": "AUSER3"}


def write_text_benchmark(tmp_path, item2index_header=None, drop_from_map=(), user2index=False):
    folder = write_presplit(tmp_path / "Toys", SEQUENCES, cap=3)
    index_lines = [f"{o}\t{i}" for i, o in ORIGINAL.items() if i not in drop_from_map]
    if item2index_header:
        index_lines.insert(0, item2index_header)
    write(folder / "Toys.item2index", "\n".join(index_lines) + "\n")
    if user2index:
        write(folder / "Toys.user2index", "".join(f"{o}\t{i}\n" for i, o in USERS.items()))
    text = "".join(f"{o}\ttoy number {i}\n" for i, o in ORIGINAL.items())
    write(folder / "Toys.text", "item_id:token\ttext:token_seq\n" + text)
    return folder


@pytest.mark.parametrize("header", [None, "item_id:token\tindex:token", "item_id\tindex"])
def test_text_keyed_by_original_ids_joins_through_item2index(tmp_path, header):
    ds = load_recbole(write_text_benchmark(tmp_path, item2index_header=header))
    used = {i for s in SEQUENCES.values() for i in s}
    assert len(ds.catalog) == len(used) == 11  # no text-only phantom items
    assert sorted(ds.catalog.ids()) == sorted(ORIGINAL[i] for i in used)
    text = dict(zip(ds.catalog.ids(), ds.catalog.text("text")))
    assert text["B0007X"] == "toy number 7"
    stats = ds.stats()
    assert stats["items_with_text"] == 11
    train, _, test = ds.split("given")
    user0 = [ORIGINAL[i] for i in SEQUENCES["0"][:-2]]
    assert user0 in sessions_by_id(train, ds).values()


def test_user2index_names_sessions_by_original_user(tmp_path):
    ds = load_recbole(write_text_benchmark(tmp_path, user2index=True))
    train, _, _ = ds.split("given")
    got = sessions_by_id(train, ds)
    assert got["AUSER3"] == [ORIGINAL[i] for i in SEQUENCES["3"][:-2]]


def test_side_file_sharing_no_key_is_an_error(tmp_path):
    folder = write_text_benchmark(tmp_path)
    (folder / "Toys.item2index").unlink()
    with pytest.raises(ValueError, match=r"Toys.text: none of its 11 item IDs .*item2index"):
        load_recbole(folder)


def test_item2index_missing_interaction_items_is_an_error(tmp_path):
    folder = write_text_benchmark(tmp_path, drop_from_map=("10", "11"))
    with pytest.raises(ValueError, match=r"Toys.item2index: 2 of the 11 item indices .*'1[01]'"):
        load_recbole(folder)


def test_side_file_covering_part_of_the_items_warns_with_counts(tmp_path):
    folder = write_text_benchmark(tmp_path)
    lines = (folder / "Toys.text").read_text().splitlines()
    extra = "B9999X\tnever bought"
    write(folder / "Toys.text", "\n".join(lines[:-3] + [extra]) + "\n")  # drop 3 items, add 1
    with pytest.warns(UserWarning) as caught:
        ds = load_recbole(folder)
    messages = " ".join(str(w.message) for w in caught)
    assert "3 of the 11 interaction items have no row" in messages
    assert "1 of its 9 items occur in no interaction file" in messages
    assert ds.stats()["items_with_text"] == 9


# ------------------------------------------------------------- RecBole's atomic conventions
def test_recbole_atomic_inter_with_ratings_and_float_times(tmp_path):
    folder = tmp_path / "ml-tiny"
    folder.mkdir()
    write(folder / "ml-tiny.inter",
          "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
          "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t4\t881250000.5\n"
          "186\t242\t1\t891717741\n196\t51\t2\t881251000\n22\t51\t5\t875000000\n")
    write(folder / "ml-tiny.item",
          "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
          "242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Film-Noir\n"
          "51\tLegends of the Fall\t1994\tDrama Romance War\n")
    write(folder / "ml-tiny.user", "user_id:token\tage:token\n196\t49\n186\t39\n22\t25\n")
    ds = load_recbole(folder)
    assert sorted(ds.session_ids.tolist()) == ["186", "196"]  # user 22 has one rating
    ids = ds.catalog.ids()
    by_user = dict(zip(ds.session_ids, np.split(np.asarray(ds.sessions.items),
                                                np.asarray(ds.sessions.offsets)[1:-1])))
    assert [ids[i] for i in by_user["196"]] == ["302", "242", "51"]  # timestamp order
    assert [ids[i] for i in by_user["186"]] == ["242", "302"]
    text = dict(zip(ids, ds.catalog.text("text")))
    assert text["302"] == "L.A. Confidential Crime Film-Noir"
    assert "release_year" in ds.catalog.categorical_fields()
    stats = ds.stats()
    assert stats["items_with_text"] == 3 and stats["sessions"] == 2


@pytest.mark.skipif(not ML100K.is_dir(), reason="shared ml-100k data not present")
def test_ml100k_from_the_shared_folder():
    ds = sr.datasets.load(ML100K)
    stats = ds.stats()
    assert stats["sessions"] == 943 and stats["events"] == 100_000
    assert stats["items"] == 1682 and stats["items_with_text"] == 1682
    start = np.asarray(ds.sessions.times)[np.asarray(ds.sessions.offsets)[:-1]]
    assert (np.diff(start) >= 0).all()


def test_item_file_keyed_by_index_is_translated_too(tmp_path):
    folder = write_text_benchmark(tmp_path)
    write(folder / "Toys.item", "item_id:token\tprice:float\n"
          + "".join(f"{i}\t{int(i) * 1.5}\n" for i in ORIGINAL))  # keyed by index
    ds = load_recbole(folder)
    assert len(ds.catalog) == 11
    price = dict(zip(ds.catalog.ids(), ds.catalog.numeric("price")))
    assert price["B0004X"] == 6.0
    assert dict(zip(ds.catalog.ids(), ds.catalog.text("text")))["B0004X"] == "toy number 4"


@pytest.mark.parametrize(
    "content, match",
    [
        ("B1\t1\nB2\t1\n", r"Toys.item2index, line 2: index '1' appears twice"),
        ("B1\t1\nB1\t2\n", r"Toys.item2index, line 2: original 'B1' appears twice"),
        ("B1\t1\t7\n", r"Toys.item2index: expected two tab-separated columns"),
        ("item_id\tindex\nB1\t\n", r"Toys.item2index, line 2: empty 'index'"),
    ],
)
def test_malformed_item2index_is_refused(tmp_path, content, match):
    folder = write_text_benchmark(tmp_path)
    write(folder / "Toys.item2index", content)
    with pytest.raises(ValueError, match=match):
        load_recbole(folder)


@pytest.mark.skipif(not ML100K.is_dir(), reason="shared ml-100k data not present")
def test_ml100k_written_unisrec_style_matches_leave_one_out(tmp_path):
    """ml-100k written as UniSRec's preprocessing would (leave-one-out, histories cut to 50,
    longest prefix first) gives back the leave-one-out split of the atomic file."""
    ml = sr.datasets.load(ML100K)
    ids = ml.catalog.ids()
    bounds = np.asarray(ml.sessions.offsets)
    items = np.asarray(ml.sessions.items)
    users = np.asarray(ml.session_ids)
    sequences = {str(u): [ids[i] for i in items[b:e]]
                 for u, b, e in zip(users, bounds[:-1], bounds[1:])}
    ds = load_recbole(write_presplit(tmp_path / "ml", sequences, cap=50))
    train, _, test = ds.split("given")
    loo_train, _, loo_test = ml.split("leave_one_out")
    assert len(train) == 943 and train.num_examples() == loo_train.num_examples()
    assert sessions_by_id(train, ds) == sessions_by_id(loo_train, ml)
    got = sorted(([ds.catalog.ids()[i] for i in h], ds.catalog.ids()[t])
                 for h, t in zip(test.histories(), test.target_items()))
    want = sorted(([ids[i] for i in h], ids[t])
                  for h, t in zip(loo_test.histories(), loo_test.target_items()))
    assert got == want


def test_interactions_already_in_original_ids_pass_through_item2index(tmp_path):
    folder = tmp_path / "Toys"
    folder.mkdir()
    write(folder / "Toys.inter", "user_id:token\titem_id:token\n"
          "u1\tB0001X\nu1\tB0002X\nu2\tB0002X\nu2\tB0003X\n")
    write(folder / "Toys.item2index", "".join(f"{o}\t{i}\n" for i, o in ORIGINAL.items()))
    ds = load_recbole(folder)
    assert sorted(ds.catalog.ids()) == ["B0001X", "B0002X", "B0003X"]
