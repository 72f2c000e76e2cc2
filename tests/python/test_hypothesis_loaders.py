"""Property-based tests of the data loaders and writers (hypothesis).

Random valid datasets go through every writer and reader (generic CSV/TSV, gzip, RecBole
atomic files, Amazon-M2 sessions, the HDF5 cache) and must come back unchanged. Random
corruptions of those files (truncation, flipped bytes, dropped or renamed columns, stray
quotes, NaN/inf/huge times, empty cells, NUL bytes) must give ValueError or KeyError naming the
file; never another exception, a crash, or, for the checksummed HDF5 cache, a silent change.

Bounded and deterministic: every test has max_examples and a deadline, and the "ci" profile
(derandomize=True) is loaded here, so a run draws the same examples every time.
"""

import csv
import gzip
import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import sessrec as sr

settings.register_profile(
    "sessrec-ci",
    derandomize=True,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
settings.load_profile("sessrec-ci")

EXAMPLES = int(__import__("os").environ.get("SESSREC_HYPOTHESIS_EXAMPLES", 25))
ALLOWED = (ValueError, KeyError)

# IDs without whitespace at their ends (a blank ID is an error by design) and without control
# characters; commas, quotes and non-ASCII letters are welcome in CSV (the writer quotes them).
csv_id = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), max_codepoint=0x2FFF),
    min_size=1,
    max_size=8,
).filter(lambda s: s == s.strip() and s.strip() != "")
# RecBole files are unquoted TSV and Amazon-M2 lists quote with ': plainer tokens there.
plain_id = st.text(alphabet="abcdefghijkXYZ0123456789_-.", min_size=1, max_size=8)


@st.composite
def sessions_strategy(draw, ids=csv_id, max_sessions=8):
    """{session key: [(item, time), ...]} with at least one session of two or more events."""
    items = draw(st.lists(ids, min_size=2, max_size=12, unique=True))
    n = draw(st.integers(1, max_sessions))
    sessions = {}
    for s in range(n):
        length = draw(st.integers(1 if s else 2, 6))
        events = [(draw(st.sampled_from(items)), draw(st.integers(0, 10**12)))
                  for _ in range(length)]
        sessions[f"s{s}"] = events
    return sessions


def expected_sequences(sessions, with_times=True):
    """What a loader must give back: events in time order (file order for ties), sessions of
    two or more events."""
    out = {}
    for key, events in sessions.items():
        if len(events) < 2:
            continue
        order = sorted(range(len(events)), key=lambda i: events[i][1]) if with_times else range(
            len(events))
        out[key] = [events[i][0] for i in order]
    return out


def loaded_sequences(ds):
    offsets = np.asarray(ds.sessions.offsets)
    items = np.asarray(ds.sessions.items)
    ids = ds.catalog.ids()
    return {
        str(key): [ids[i] for i in items[offsets[s] : offsets[s + 1]]]
        for s, key in enumerate(ds.session_ids)
    }


def interleaved_rows(sessions):
    """Rows of every session, sessions interleaved round-robin (loaders must regroup them)."""
    rows, queues = [], {k: list(v) for k, v in sessions.items()}
    while any(queues.values()):
        for key, queue in queues.items():
            if queue:
                rows.append((key, *queue.pop(0)))
    return rows


def csv_bytes(rows, header=("session_id", "item_id", "time"), delimiter=","):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def assert_refused_naming(error, path):
    assert str(path) in str(error) or path.name in str(error), str(error)


# ------------------------------------------------------------------------- valid round trips
@settings(max_examples=EXAMPLES)
@given(sessions=sessions_strategy(), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz"]))
def test_generic_files_round_trip(tmp_path, sessions, suffix):
    delimiter = "\t" if suffix == ".tsv" else ","
    data = csv_bytes(interleaved_rows(sessions), delimiter=delimiter)
    path = tmp_path / f"events{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    ds = sr.datasets.load_interactions(path, time_column="time")
    assert loaded_sequences(ds) == expected_sequences(sessions)
    # ... and through the HDF5 cache.
    cached = tmp_path / "cache.h5"
    ds.save(cached)
    again = sr.Dataset.load(cached)
    assert loaded_sequences(again) == loaded_sequences(ds)
    np.testing.assert_array_equal(np.asarray(again.sessions.times), np.asarray(ds.sessions.times))
    assert again.catalog.ids() == ds.catalog.ids()


@settings(max_examples=EXAMPLES)
@given(sessions=sessions_strategy(ids=plain_id), times=st.booleans())
def test_recbole_inter_round_trips(tmp_path, sessions, times):
    folder = tmp_path / "rb"
    folder.mkdir(exist_ok=True)
    rows = interleaved_rows(sessions)
    header = "session_id:token\titem_id:token" + ("\ttimestamp:float" if times else "")
    lines = [header] + [
        f"{s}\t{i}" + (f"\t{t}" if times else "") for s, i, t in rows
    ]
    (folder / "rb.inter").write_text("\n".join(lines) + "\n")
    ds = sr.datasets.load_recbole(folder)
    if times:
        assert loaded_sequences(ds) == expected_sequences(sessions)
    else:
        # Without times a session is its rows in file order.
        assert loaded_sequences(ds) == expected_sequences(sessions, with_times=False)


@settings(max_examples=EXAMPLES)
@given(sessions=sessions_strategy(ids=plain_id), numpy_style=st.booleans())
def test_amazon_m2_round_trips(tmp_path, sessions, numpy_style):
    path = tmp_path / "sessions_train.csv"
    sep = " " if numpy_style else ", "
    lines = ["prev_items,next_item,locale"]
    expected = {}
    for row, (key, events) in enumerate(sessions.items()):
        items = [item for item, _ in events]
        prev = "[" + sep.join(f"'{i}'" for i in items[:-1]) + "]"
        lines.append(f'"{prev}",{items[-1]},DE')
        if len(items) >= 2:
            expected[str(row)] = items
    path.write_text("\n".join(lines) + "\n")
    ds = sr.datasets.load_amazon_m2(path)
    assert loaded_sequences(ds) == expected


# ------------------------------------------------------------------------------ corruptions
def load_generic(path):
    return sr.datasets.load_interactions(path, time_column="time")


def corrupt(data: bytes, how: str, draw) -> bytes:
    if how == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip":
        at = draw(st.integers(0, len(data) - 1))
        flipped = bytearray(data)
        flipped[at] ^= draw(st.integers(1, 255))
        return bytes(flipped)
    if how == "stray_quote":
        at = draw(st.integers(0, len(data)))
        return data[:at] + b'"' + data[at:]
    if how == "nul":
        at = draw(st.integers(0, len(data)))
        return data[:at] + b"\x00" + data[at:]
    if how == "drop_column":
        lines = data.decode().split("\n")
        column = draw(st.integers(0, 2))
        return "\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != column)
                         for line in lines).encode()
    raise AssertionError(how)


@settings(max_examples=2 * EXAMPLES)
@given(
    sessions=sessions_strategy(ids=plain_id),
    how=st.sampled_from(["truncate", "flip", "stray_quote", "nul", "drop_column"]),
    data=st.data(),
)
def test_corrupted_generic_files_are_refused_or_read(tmp_path, sessions, how, data):
    clean = csv_bytes(interleaved_rows(sessions))
    damaged = corrupt(clean, how, data.draw)
    path = tmp_path / "events.csv"
    path.write_bytes(damaged)
    try:
        ds = load_generic(path)
    except ALLOWED as error:
        assert_refused_naming(error, path)
        return
    # A corruption that still parses is a different valid file: it must be self-consistent.
    assert ds.sessions.num_sessions > 0
    assert np.asarray(ds.sessions.items).max() < ds.num_items


@settings(max_examples=EXAMPLES)
@given(
    sessions=sessions_strategy(ids=plain_id),
    bad=st.sampled_from(["nan", "inf", "-inf", "1e19", "-1e300", "NaN", "", "12:xx", "0x10"]),
    data=st.data(),
)
def test_bad_times_name_their_line(tmp_path, sessions, bad, data):
    rows = interleaved_rows(sessions)
    at = data.draw(st.integers(0, len(rows) - 1))
    rows[at] = (rows[at][0], rows[at][1], bad)
    path = tmp_path / "events.csv"
    path.write_bytes(csv_bytes(rows))
    with pytest.raises(ValueError) as error:
        load_generic(path)
    assert_refused_naming(error.value, path)
    assert f"line {at + 2}" in str(error.value)


@settings(max_examples=EXAMPLES)
@given(
    sessions=sessions_strategy(ids=plain_id),
    column=st.sampled_from([0, 1]),
    data=st.data(),
)
def test_empty_session_or_item_cells_name_their_line(tmp_path, sessions, column, data):
    rows = [list(r) for r in interleaved_rows(sessions)]
    at = data.draw(st.integers(0, len(rows) - 1))
    rows[at][column] = data.draw(st.sampled_from(["", " ", "\t"]))
    path = tmp_path / "events.csv"
    path.write_bytes(csv_bytes(rows))
    with pytest.raises(ValueError, match=rf"line {at + 2}") as error:
        load_generic(path)
    assert_refused_naming(error.value, path)


@settings(max_examples=EXAMPLES)
@given(sessions=sessions_strategy(ids=plain_id), data=st.data())
def test_huge_ids_and_many_columns_are_kept_exactly(tmp_path, sessions, data):
    """Huge numeric IDs stay strings (no float rounding merges 2**70 and 2**70 + 1)."""
    huge = [str(2**70 + k) for k in range(3)] + ["9" * 400]
    rows = [(s, data.draw(st.sampled_from(huge)), t) for s, _, t in interleaved_rows(sessions)]
    path = tmp_path / "events.csv"
    path.write_bytes(csv_bytes(rows))
    ds = load_generic(path)
    as_sessions = {}
    for s, i, t in rows:
        as_sessions.setdefault(s, []).append((i, t))
    assert loaded_sequences(ds) == expected_sequences(as_sessions)


@settings(max_examples=2 * EXAMPLES)
@given(
    sessions=sessions_strategy(ids=plain_id),
    how=st.sampled_from(["truncate", "flip", "stray_quote", "nul"]),
    pre_split=st.booleans(),
    data=st.data(),
)
def test_corrupted_recbole_files_are_refused_or_read(tmp_path, sessions, how, pre_split, data):
    folder = tmp_path / "rb"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    if pre_split:
        lines = ["session_id:token\titem_id_list:token_seq\titem_id:token"]
        for key, events in sessions.items():
            items = [i for i, _ in events]
            for p in range(1, len(items)):
                lines.append(f"{key}\t{' '.join(items[:p])}\t{items[p]}")
        assume(len(lines) > 1)
        name = "rb.train.inter"
    else:
        lines = ["session_id:token\titem_id:token\ttimestamp:float"] + [
            f"{s}\t{i}\t{t}" for s, i, t in interleaved_rows(sessions)
        ]
        name = "rb.inter"
    clean = ("\n".join(lines) + "\n").encode()
    damaged = corrupt(clean, how, data.draw)
    path = folder / name
    path.write_bytes(damaged)
    try:
        sr.datasets.load_recbole(folder)
    except ALLOWED as error:
        assert str(folder) in str(error), str(error)


@settings(max_examples=2 * EXAMPLES)
@given(
    sessions=sessions_strategy(ids=plain_id),
    how=st.sampled_from(["truncate", "flip", "stray_quote", "nul"]),
    data=st.data(),
)
def test_corrupted_amazon_m2_files_are_refused_or_read(tmp_path, sessions, how, data):
    lines = ["prev_items,next_item,locale"]
    for events in sessions.values():
        items = [i for i, _ in events]
        lines.append('"[' + " ".join(f"'{i}'" for i in items[:-1]) + f']",{items[-1]},DE')
    damaged = corrupt(("\n".join(lines) + "\n").encode(), how, data.draw)
    path = tmp_path / "sessions_train.csv"
    path.write_bytes(damaged)
    try:
        sr.datasets.load_amazon_m2(path)
    except ALLOWED as error:
        assert_refused_naming(error, path)


@settings(max_examples=EXAMPLES)
@given(cells=st.lists(st.text(max_size=20), min_size=1, max_size=6))
def test_list_column_parser_never_crashes(cells):
    try:
        offsets, tokens = sr._core.parse_list_column(cells, "cells.csv", 2)
    except ValueError as error:
        assert "cells.csv, line" in str(error)
        return
    assert len(offsets) == len(cells) + 1 and offsets[-1] == len(tokens)


# ------------------------------------------------------------------------ the HDF5 cache
@pytest.fixture(scope="module")
def cached_dataset(tmp_path_factory):
    ds = sr.datasets.synthetic(num_items=40, num_sessions=60, seed=3)
    path = tmp_path_factory.mktemp("cache") / "ds.h5"
    ds.save(path)
    return path, ds


@settings(max_examples=EXAMPLES)
@given(how=st.sampled_from(["truncate", "flip"]), data=st.data())
def test_damaged_dataset_cache_is_refused_or_unchanged(tmp_path, cached_dataset, how, data):
    path, ds = cached_dataset
    damaged = corrupt(path.read_bytes(), how, data.draw)
    copy = tmp_path / "damaged.h5"
    copy.write_bytes(damaged)
    try:
        again = sr.Dataset.load(copy)
    except ALLOWED as error:
        assert_refused_naming(error, copy)
        return
    # Loading is allowed only when nothing that matters changed (a flip in unused space).
    assert loaded_sequences(again) == loaded_sequences(ds)
    np.testing.assert_array_equal(np.asarray(again.sessions.times), np.asarray(ds.sessions.times))
    for field in ds.catalog.text_fields():
        assert again.catalog.text(field) == ds.catalog.text(field)


@settings(max_examples=EXAMPLES)
@given(
    drop=st.sampled_from(["sessions/offsets", "sessions/items", "catalog/ids/offsets",
                          "catalog/ids/bytes", None]),
    reshape=st.sampled_from(["sessions/offsets", "sessions/items", "sessions/times",
                             "catalog/ids/offsets", None]),
    value=st.sampled_from([-1, 2**31 - 1, 2**40, 0]),
)
def test_inconsistent_dataset_arrays_are_refused(tmp_path, cached_dataset, drop, reshape, value):
    """Files with valid checksums but inconsistent content (another writer's bug)."""
    assume(drop is not None or reshape is not None)
    path, _ = cached_dataset
    arrays, attributes = sr._core.read_array_file(str(path))
    if drop is not None:
        del arrays[drop]
    if reshape is not None and reshape in arrays:
        changed = arrays[reshape].copy()
        if len(changed):
            changed[len(changed) // 2] = np.asarray(value).astype(changed.dtype)
        arrays[reshape] = changed
    copy = tmp_path / "inconsistent.h5"
    sr._core.write_array_file(str(copy), arrays, attributes)
    try:
        sr.Dataset.load(copy)
    except ALLOWED as error:
        assert_refused_naming(error, copy)
        return
    assert drop is None  # a missing array is always an error


@settings(max_examples=EXAMPLES)
@given(
    arrays=st.dictionaries(
        st.text(alphabet="abc/_", min_size=1, max_size=6).filter(
            lambda s: not s.startswith("/") and not s.endswith("/") and "//" not in s),
        st.sampled_from(["int8", "uint8", "int32", "int64", "float32", "float64"]).flatmap(
            lambda t: st.lists(st.integers(-100, 100), max_size=10).map(
                lambda v: np.array(v, dtype=np.int64).astype(t))),
        max_size=4,
    ),
    attributes=st.dictionaries(st.text(alphabet="xyz", min_size=1, max_size=4),
                               st.text(max_size=20), max_size=3),
)
def test_array_files_round_trip(tmp_path, arrays, attributes):
    # A name that is a prefix group of another ("a" and "a/b") cannot exist in HDF5.
    names = sorted(arrays)
    assume(not any(b.startswith(a + "/") for a in names for b in names))
    path = tmp_path / "arrays.h5"
    try:
        sr._core.write_array_file(str(path), arrays, attributes)
    except ValueError as error:
        assert "arrays.h5" in str(error)
        assume(False)
    got, got_attributes = sr._core.read_array_file(str(path))
    assert got_attributes == attributes
    assert sorted(got) == sorted(arrays)
    for name, array in arrays.items():
        assert got[name].dtype == array.dtype
        np.testing.assert_array_equal(got[name], array)


def test_profile_is_deterministic():
    assert settings().derandomize and settings().deadline is not None
    assert not math.isinf(settings().max_examples)


# ----------------------------------------------------------------------- word-vector files
class _Catalog:
    """The two methods word_vector_features reads."""

    def __init__(self, texts):
        self.texts = texts

    def text(self, field):
        return self.texts

    def text_fields(self):
        return ["text"]


@settings(max_examples=EXAMPLES)
@given(
    vectors=st.dictionaries(st.sampled_from(["red", "shoe", "cup", "blue", "x"]),
                            st.lists(st.floats(-5, 5, width=32), min_size=3, max_size=3),
                            min_size=1),
    bad=st.sampled_from([None, "nan", "inf", "-inf", "1e99", "1,5", "", "0x"]),
    data=st.data(),
)
def test_word_vector_files_round_trip_or_name_their_line(tmp_path, vectors, bad, data):
    lines = [f"{w} " + " ".join(repr(v) for v in vec) for w, vec in vectors.items()]
    at = data.draw(st.integers(0, len(lines) - 1))
    assume(not (bad == "" and at == 0))  # a short first line sets the width for the others
    if bad is not None:
        parts = lines[at].split(" ")
        parts[data.draw(st.integers(1, 3))] = bad
        lines[at] = " ".join(p for p in parts if p != "") if bad == "" else " ".join(parts)
    path = tmp_path / "vectors.txt"
    path.write_text("\n".join(lines) + "\n")
    catalog = _Catalog(["red shoe", "blue cup", "nothing known"])
    try:
        features, covered = sr.text.word_vector_features(catalog, path)
    except ValueError as error:
        assert bad is not None and f"{path}, line {at + 1}" in str(error), str(error)
        return
    assert bad is None
    assert np.isfinite(features).all()
    expected = np.mean([vectors[w] for w in ("red", "shoe") if w in vectors] or [[0.0] * 3], 0)
    np.testing.assert_allclose(features[0], expected, rtol=1e-6, atol=1e-6)
    assert not covered[2]


# ------------------------------------------------- malformed cases found by fuzzing (fuzz/)
CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"


def test_file_that_crashed_libhdf5_is_refused(tmp_path):
    """One flipped byte of a model file made libhdf5 1.10 divide by zero (SIGFPE in
    H5D__chunk_set_info) and kill the process; the reader's child-process probe turns it into
    ValueError."""
    path = tmp_path / "crash.h5"
    path.write_bytes((CORPUS / "fuzz_h5_arrays" / "bad_libhdf5_sigfpe_chunk_layout").read_bytes())
    with pytest.raises(ValueError, match="crashed reading it"):
        sr._core.read_array_file(str(path))
    with pytest.raises(ValueError, match=str(path)):
        sr.load(path)


def test_sealed_files_read_without_the_probe_and_damaged_seals_with_it(tmp_path):
    path = tmp_path / "a.h5"
    sr._core.write_array_file(str(path), {"x": np.arange(5)}, {"k": "v"})
    data = path.read_bytes()
    assert data.startswith(b"sessrec-h5-seal1")
    for damaged in (data[:-3], data[:600] + bytes([data[600] ^ 4]) + data[601:]):
        path.write_bytes(damaged)
        try:
            arrays, _ = sr._core.read_array_file(str(path))
        except ValueError as error:
            assert str(path) in str(error)
        else:
            np.testing.assert_array_equal(arrays["x"], np.arange(5))


def test_tokenizer_bytes_with_a_damaged_character_map_are_refused():
    """A mutated sentencepiece model made libsentencepiece read wild addresses while encoding
    (fuzz_tokenizer); its character map must now be the library's own for its rule."""
    good = (CORPUS / "fuzz_tokenizer" / "valid_model").read_bytes()
    tokenizer = sr.text.Tokenizer.from_bytes(good)
    assert tokenizer.vocab_size > 8
    at = good.rfind(b"nmt_nfkc") + 200  # inside the precompiled character map
    damaged = good[:at] + bytes([good[at] ^ 0x40]) + good[at + 1:]
    with pytest.raises(ValueError, match="character map"):
        sr.text.Tokenizer.from_bytes(damaged)
    with pytest.raises(ValueError, match="corrupt tokenizer bytes"):
        sr.text.Tokenizer.from_bytes(good[: len(good) // 3])
