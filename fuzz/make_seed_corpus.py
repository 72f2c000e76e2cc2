"""Writes the seed corpora under fuzz/corpus/<target>/: small valid inputs of each format and
the malformed cases found so far (named after what they are). Run once; the files are
committed, so the fuzz runs start from them. Usage: .venv/bin/python fuzz/make_seed_corpus.py"""

import struct
from pathlib import Path

import numpy as np

import sessrec as sr
from sessrec import _core

ROOT = Path(__file__).parent / "corpus"


def put(target: str, name: str, data: bytes) -> None:
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def list_column() -> None:
    cells = {
        "numpy_style": "['B09W9FND7K' 'B09JSPLN1M']",
        "python_style": "['a', 'b', 'c']",
        "newlines": "['B0\n' 'x'\n 'y']",
        "unquoted": "[1, 2,3 4]",
        "empty": "[]",
        "several_rows": "['a']\x1e['b' 'c']\x1e[]",
        "bad_unterminated_quote": "['abc",
        "bad_no_brackets": "'a' 'b'",
        "bad_lone_bracket": "[",
        "bad_mixed_quotes": "['a\" 'b']",
    }
    for name, text in cells.items():
        put("fuzz_list_column", name, text.encode())


def session_store_input(num_items, offsets, items, ids=()) -> bytes:
    data = bytes([num_items, len(offsets) - 1])
    data += b"".join(struct.pack("<q", o) for o in offsets)
    data += b"".join(struct.pack("<i", i) for i in items)
    return data + "\n".join(ids).encode()


def session_store() -> None:
    put("fuzz_session_store", "valid", session_store_input(5, [0, 3, 5], [0, 1, 2, 3, 4],
                                                           ["a", "b", "c"]))
    put("fuzz_session_store", "empty_sessions", session_store_input(3, [0, 0, 2, 2], [1, 2]))
    put("fuzz_session_store", "bad_decreasing_offsets",
        session_store_input(3, [0, 2, 1], [0, 1]))
    put("fuzz_session_store", "bad_item_out_of_range",
        session_store_input(2, [0, 2], [0, 7]))
    put("fuzz_session_store", "bad_huge_offset",
        session_store_input(2, [0, 2**62], [0, 1]))
    put("fuzz_session_store", "bad_negative_item", session_store_input(2, [0, 2], [0, -1]))
    put("fuzz_session_store", "bad_duplicate_ids", session_store_input(1, [0], [], ["a", "a"]))
    put("fuzz_session_store", "bad_empty_id", session_store_input(1, [0], [], ["a", "", "b"]))


def h5_arrays(tmp: Path) -> None:
    def written(name, arrays, attributes):
        path = tmp / f"{name}.h5"
        _core.write_array_file(str(path), arrays, attributes)
        return path.read_bytes()

    small = written("small", {"a/b": np.arange(4, dtype=np.int32),
                              "w": np.ones((2, 3), dtype=np.float32),
                              "e": np.zeros(0, dtype=np.int64)}, {"format": "x", "k": "v"})
    put("fuzz_h5_arrays", "valid_sealed", small)
    put("fuzz_h5_arrays", "valid_unsealed", small[512:])  # as sessrec wrote before the seal
    put("fuzz_h5_arrays", "bad_truncated", small[: len(small) // 2])
    flipped = bytearray(small)
    flipped[len(small) - 200] ^= 0x10
    put("fuzz_h5_arrays", "bad_flipped_byte", bytes(flipped))
    put("fuzz_h5_arrays", "bad_not_hdf5", b"this is not an HDF5 file\n")
    ds = sr.datasets.synthetic(num_items=20, num_sessions=30, seed=1)
    train, _, _ = ds.split("time", valid=0.1, test=0.1)
    model_path = tmp / "pop.h5"
    sr.models.POP().fit(train).save(model_path)
    put("fuzz_h5_arrays", "valid_pop_model", model_path.read_bytes())


def word_vectors() -> None:
    files = {
        "glove": "red 0.1 0.2 0.3\nshoe -1 2e-3 4\nblue 1 1 1\n",
        "word2vec_header": "3 2\nred 0.5 0.5\ncup 1 2\nthe 0 0\n",
        "blank_lines": "\n  \nred 1 2\n\ncup 3 4\n",
        "bad_width": "red 1 2 3\nshoe 1 2\n",
        "bad_not_a_number": "red 1 x 3\n",
        "bad_nan": "red nan 1\n",
        "bad_inf": "red 1 inf\n",
        "bad_overflow": "red 1e99 1\n",
        "bad_word_only": "red\n",
    }
    for name, text in files.items():
        put("fuzz_word_vectors", name, text.encode())


def tokenizer() -> None:
    texts = ["red running shoe", "blue coffee cup", "green tea cup", "red tea pot"] * 5
    model = sr.text.Tokenizer.train(texts, vocab_size=40).to_bytes()
    put("fuzz_tokenizer", "valid_model", model)
    put("fuzz_tokenizer", "bad_truncated_model", model[:2000])
    put("fuzz_tokenizer", "bad_empty", b"")


if __name__ == "__main__":
    import tempfile

    list_column()
    session_store()
    with tempfile.TemporaryDirectory() as tmp:
        h5_arrays(Path(tmp))
    word_vectors()
    tokenizer()
