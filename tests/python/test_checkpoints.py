"""Model files that cannot lie: checksums, files touched by other tools, best and last epochs in
one checkpoint with an exact resume, and saves that fail cleanly."""

import os
import shutil
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import sessrec as sr
from sessrec import _core

HISTORIES = [[1, 2, 3], [4], [5, 6, 7, 8, 9], [10, 1]]


@pytest.fixture(scope="module")
def parts(small_split):
    return small_split


@pytest.fixture(scope="module")
def saved_models(parts, tmp_path_factory):
    """(path, scores) of a saved ItemCF and a saved GRU4Rec."""
    train = parts[0]
    folder = tmp_path_factory.mktemp("models")
    out = []
    for model in (sr.models.ItemCF().fit(train),
                  sr.models.GRU4Rec(dim=16, hidden=16, epochs=1).fit(train, progress=False)):
        path = folder / f"{model.name}.h5"
        model.save(path)
        out.append((path, model.score(HISTORIES)))
    return out


def data_region(path):
    """(offset, size) of every dataset's bytes in the file."""
    regions = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.id.get_offset() is not None and obj.nbytes:
                regions.append((obj.id.get_offset(), obj.id.get_storage_size()))
        f.visititems(visit)
    return regions


def test_every_flipped_byte_is_refused_or_harmless(saved_models, tmp_path):
    rng = np.random.default_rng(0)
    changed = 0
    for path, expected in saved_models:
        clean = path.read_bytes()
        regions = data_region(path)
        weights = np.array([size for _, size in regions], dtype=float)
        for trial in range(100):
            offset, size = regions[rng.choice(len(regions), p=weights / weights.sum())]
            position = offset + int(rng.integers(size))
            damaged = bytearray(clean)
            damaged[position] ^= int(rng.integers(1, 256))
            copy = tmp_path / f"flip{trial}.h5"
            copy.write_bytes(bytes(damaged))
            try:
                scores = sr.load(copy).score(HISTORIES)
            except ValueError as error:
                assert "corrupt" in str(error) and str(copy) in str(error)
                changed += 1
                continue
            # Loading is allowed only when nothing that matters changed.
            np.testing.assert_array_equal(scores, expected)
    assert changed > 150  # the flips did land in the data


def test_non_finite_weights_are_refused(saved_models, tmp_path):
    path, _ = saved_models[1]
    arrays, attributes = _core.read_array_file(str(path))
    name = next(k for k in arrays if k.startswith("state/param/"))
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = np.nan
    _core.write_array_file(str(tmp_path / "nan.h5"), arrays, attributes)
    with pytest.raises(ValueError, match="NaN or infinite"):
        sr.load(tmp_path / "nan.h5")


def test_attributes_added_by_h5py_do_not_break_loading(saved_models, tmp_path):
    path, expected = saved_models[0]
    copy = tmp_path / "touched.h5"
    shutil.copy(path, copy)
    with h5py.File(copy, "a") as f:
        f.attrs["note"] = "x"  # variable-length UTF-8
        f.attrs["remark"] = "café ☕"
        f.attrs["number"] = 3.5
        f.attrs["tags"] = ["a", "bb", "ccc"]
        f.attrs["fixed"] = np.array([b"a", b"bb"], dtype="S2")
        f["state"].attrs["by"] = "another tool"
        f["state/offsets"].attrs["units"] = "items"
    np.testing.assert_array_equal(sr.load(copy).score(HISTORIES), expected)


def test_older_files_without_checksums_still_load(saved_models, tmp_path):
    path, expected = saved_models[0]
    arrays, attributes = _core.read_array_file(str(path))
    for version, loads in (("1", True), ("2", False)):
        older = tmp_path / f"v{version}.h5"
        with h5py.File(older, "w") as f:  # what sessrec wrote before checksums: no manifest
            for name, array in arrays.items():
                f[name] = array
            for key, value in {**attributes, "format_version": version}.items():
                f.attrs[key] = np.bytes_(value)
        if loads:
            np.testing.assert_array_equal(sr.load(older).score(HISTORIES), expected)
        else:  # a version-2 file has checksums; one without them was damaged
            with pytest.raises(ValueError, match="checksums"):
                sr.load(older)


def test_cached_dataset_checksums_are_required_and_checked(small, tmp_path):
    """A dataset cache (ds.save) is checked like a model file: a flipped item index is refused,
    and a version-2 cache stripped of its manifest cannot pass for an older file."""
    path = tmp_path / "data.h5"
    small.save(path)
    with h5py.File(path, "r") as f:
        offset = f["sessions/items"].id.get_offset()
    damaged = bytearray(path.read_bytes())
    damaged[offset + 4] ^= 0x01  # the second event's item index
    (tmp_path / "flipped.h5").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="corrupt"):
        sr.datasets.load(tmp_path / "flipped.h5")
    arrays, attributes = _core.read_array_file(str(path))
    for version, loads in (("1", True), ("2", False)):
        bare = tmp_path / f"v{version}.h5"
        with h5py.File(bare, "w") as f:
            for name, array in arrays.items():
                f[name] = array
            for key, value in {**attributes, "format_version": version}.items():
                f.attrs[key] = np.bytes_(value)
        if loads:
            assert sr.datasets.load(bare).sessions.num_events == small.sessions.num_events
        else:
            with pytest.raises(ValueError, match="checksums"):
                sr.datasets.load(bare)


def strip_timing(history):
    return history.drop(columns=[c for c in ("seconds", "examples_per_s") if c in history])


def test_checkpoint_holds_best_epoch_and_resumes_exactly(parts, tmp_path):
    train, valid, _ = parts
    settings = dict(dim=16, epochs=12, patience=2, lr=0.05, metric="Hits@10", seed=0, threads=2)

    def fresh():
        return sr.models.MeanPool(**settings)

    straight = fresh().fit(train, valid, progress=False, checkpoint=str(tmp_path / "a.h5"))
    scores = straight.history_["valid_Hits@10"].to_numpy()
    best_epoch = int(np.argmax(scores)) + 1
    assert best_epoch < len(scores), "the run must end on an epoch worse than its best"
    # The model and the checkpoint file both hold the best epoch, and the file its history.
    from_file = sr.load(tmp_path / "a.h5")
    np.testing.assert_array_equal(from_file.score(HISTORIES), straight.score(HISTORIES))
    assert from_file.history_.equals(straight.history_)
    assert from_file.early_stopping_.state() == straight.early_stopping_.state()
    assert from_file.early_stopping_.epoch == best_epoch
    # Cut the run after the first epoch that did not improve, then resume from the file: the
    # curve, the patience and the final model are those of the straight run.
    cut = next(i for i in range(1, len(scores)) if scores[i] <= scores[:i].max())
    first = fresh().fit(train, valid, epochs=cut + 1, progress=False,
                        checkpoint=str(tmp_path / "b.h5"))
    stored = _core.read_array_file(str(tmp_path / "b.h5"))[0]
    assert any(k.startswith("state/resume/param/") for k in stored)  # best and last both kept
    resumed = sr.load(tmp_path / "b.h5")
    np.testing.assert_array_equal(resumed.score(HISTORIES), first.score(HISTORIES))
    resumed.fit(train, valid, epochs=settings["epochs"] - cut - 1, progress=False)
    assert strip_timing(resumed.history_).equals(strip_timing(straight.history_))
    assert resumed.early_stopping_.state() == straight.early_stopping_.state()
    np.testing.assert_array_equal(resumed.score(HISTORIES), straight.score(HISTORIES))
    # The same in memory: two fit calls are one longer run.
    first.fit(train, valid, epochs=settings["epochs"] - cut - 1, progress=False)
    assert strip_timing(first.history_).equals(strip_timing(straight.history_))
    np.testing.assert_array_equal(first.score(HISTORIES), straight.score(HISTORIES))


SAVE_SCRIPT = """
import sys, resource, signal
import sessrec as sr
ds = sr.datasets.synthetic(num_items=300, num_sessions=500, seed=1)
train, _, _ = ds.split("time", valid=0.1, test=0.1)
model = sr.models.ItemCF().fit(train)
{setup}
try:
    model.save(sys.argv[1])
except ValueError as e:
    print("ValueError:", e)
else:
    print("saved")
"""


def run_save(path, setup="", user=None):
    script = SAVE_SCRIPT.format(setup=textwrap.dedent(setup))
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                            text=True, timeout=300, user=user)
    assert result.returncode == 0, result.stderr
    return result.stdout


def leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp." in p.name]


def test_disk_full_save_fails_cleanly_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.h5"
    assert run_save(path).strip() == "saved"
    before = path.read_bytes()
    # A file size limit makes every write past 20 kB fail with EFBIG, as a full disk would.
    out = run_save(path, setup="""
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    """)
    assert out.startswith("ValueError:") and "file too large" in out and str(path) in out, out
    assert leftovers(tmp_path) == []
    assert path.read_bytes() == before


def test_unwritable_paths_name_the_cause_and_leave_nothing(tmp_path, saved_models):
    model = sr.load(saved_models[0][0])
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="not a folder"):
        model.save(blocker / "model.h5")
    with pytest.raises(ValueError, match="folder does not exist"):
        model.save(tmp_path / "missing" / "model.h5")
    target = tmp_path / "a_folder"
    target.mkdir()
    with pytest.raises(ValueError, match="folder"):
        model.save(target)  # the rename over a folder fails after the file was written
    assert leftovers(tmp_path) == []


def test_permission_denied_is_said(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: save as nobody into root's folder
        os.chmod(tmp_path, 0o755)
        user = "nobody"
    else:
        folder.chmod(0o555)
        user = None
    out = run_save(folder / "model.h5", user=user)
    assert "permission denied" in out and "model.h5" in out, out
    assert list(folder.iterdir()) == []


def test_save_syncs_the_file_and_its_folder(tmp_path, saved_models):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    path = tmp_path / "synced.h5"
    script = f"import sessrec as sr; sr.load({str(saved_models[0][0])!r}).save({str(path)!r})"
    result = subprocess.run(["strace", "-f", "-e", "trace=openat,fsync,rename", sys.executable,
                             "-c", script], capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and "ptrace" in result.stderr:
        pytest.skip("ptrace is not permitted here")
    assert result.returncode == 0, result.stderr[-2000:]
    calls = [line for line in result.stderr.splitlines()
             if "fsync(" in line or "rename(" in line or str(tmp_path) in line]
    fsyncs = [i for i, line in enumerate(calls) if "fsync(" in line]
    renames = [i for i, line in enumerate(calls) if "rename(" in line and "synced.h5" in line]
    assert len(renames) == 1 and len(fsyncs) >= 2, "\n".join(calls)
    assert fsyncs[0] < renames[0] < fsyncs[-1]  # the file before the rename, the folder after
