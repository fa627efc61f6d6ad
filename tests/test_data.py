"""Tests of ggan_lib.data: folders, splits, the spectrogram cache, bad files, label samplers."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import ggan_lib.data as data
from ggan_lib.audio import AudioConfig
from ggan_lib.data import (
    BadFilesError,
    DatasetNotFoundError,
    DigitFolder,
    LabelledFolder,
    infinite_batches,
    label_draws,
    labelled_subset,
)
from ggan_lib.data import cache as data_cache

SMALL = AudioConfig(spec_shape=(64, 32))  # area-downsampled: small cache files, same pipeline


def digits(root, cache, split="train", **kw):
    """DigitFolder with the test defaults (small spectrograms, no progress bar)."""
    return DigitFolder(root, split, cfg=SMALL, cache_dir=cache, progress=False, **kw)


# --------------------------------------------------------------------------- DigitFolder
def test_fsdd_usual_split_items_and_metadata(fsdd_subset, spec_cache):
    train, test = digits(fsdd_subset, spec_cache, "train"), digits(fsdd_subset, spec_cache, "test")
    assert (len(train), len(test)) == (30, 20)  # takes 5-7 train, 0-1 test
    assert all(i >= 5 for i in train.indices) and all(i < 5 for i in test.indices)
    spec, label = train[0]
    assert spec.shape == (1, 64, 32) and spec.dtype == torch.float32 and isinstance(label, int)
    assert -1.0 <= spec.min() and spec.max() <= 1.0
    m = train.meta(0)
    assert m["path"].name == f"{label}_{m['speaker']}_{m['index']}.wav"
    assert train.paths[0] == m["path"] and train.speakers[0] == m["speaker"]
    X, y = test.as_tensors()
    assert X.shape == (20, 1, 64, 32) and y.dtype == torch.int64
    assert sorted(np.bincount(y.numpy())) == [2] * 10
    assert torch.equal(X[3], test[3][0])


def test_full_size_spectrogram_shape(fsdd_subset, tmp_path):
    ds = DigitFolder(fsdd_subset, "test", cache_dir=tmp_path, progress=False)
    spec = ds[0][0]
    assert spec.shape == (1, 256, 128)  # design note 1: (1, 256, 128) = (1, freq, time)
    assert spec.min() == -1.0 and spec.max() == 1.0  # per-clip max -> 1, floor e^-10 -> -1


def test_speaker_split_and_all(fsdd_subset, spec_cache):
    test = digits(fsdd_subset, spec_cache, "test", test_speakers=["theo"])
    train = digits(fsdd_subset, spec_cache, "train", test_speakers=["theo"])
    everything = digits(fsdd_subset, spec_cache, "all")
    assert set(test.speakers) == {"theo"} and "theo" not in train.speakers
    assert len(test) + len(train) == len(everything) == 50
    with pytest.raises(data.DataError, match="unknown test speaker"):
        digits(fsdd_subset, spec_cache, "test", test_speakers=["nobody"])


def test_default_root_from_env(fsdd_subset, spec_cache, monkeypatch):
    monkeypatch.setenv("GGAN_FSDD_DIR", str(fsdd_subset))
    ds = DigitFolder(split="all", cfg=SMALL, cache_dir=spec_cache, progress=False)
    assert ds.root == fsdd_subset and len(ds) == 50


def test_default_root_is_relative_to_repo(monkeypatch):
    monkeypatch.delenv("GGAN_FSDD_DIR", raising=False)
    monkeypatch.delenv("GGAN_CACHE_DIR", raising=False)
    repo = Path(data.__file__).resolve().parents[2]
    assert data.default_fsdd_dir() == repo.parent / "shared" / "data" / "fsdd" / "recordings"
    assert data.default_cache_dir() == repo / ".cache" / "spectrograms"


def test_missing_folder_says_where_and_how(tmp_path, monkeypatch):
    missing = tmp_path / "nope"
    with pytest.raises(DatasetNotFoundError) as err:
        DigitFolder(missing)
    msg = str(err.value)
    assert str(missing) in msg and "GGAN_FSDD_DIR" in msg and "free-spoken-digit-dataset" in msg
    monkeypatch.setenv("GGAN_FSDD_DIR", str(missing))
    with pytest.raises(FileNotFoundError, match="nope"):  # also a FileNotFoundError
        DigitFolder()
    with pytest.raises(DatasetNotFoundError, match="prepare_sc09.py"):
        data.sc09("train", root=tmp_path)


def test_empty_folder_is_not_found(tmp_path):
    (tmp_path / "README.md").write_text("no audio here")
    with pytest.raises(DatasetNotFoundError, match="no audio files"):
        DigitFolder(tmp_path)


def test_split_argument_checked(digit_dir, spec_cache):
    with pytest.raises(ValueError, match="split"):
        digits(digit_dir, spec_cache, "validation")
    with pytest.raises(ValueError, match="on_error"):
        digits(digit_dir, spec_cache, on_error="ignore")


# --------------------------------------------------------------------------- cache
def _cache_files(cache: Path):
    return sorted(cache.glob("*.npz"))


def test_cache_written_once_and_reused(digit_dir, tmp_path, monkeypatch):
    first = digits(digit_dir, tmp_path, "all")
    files = _cache_files(tmp_path)
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    assert SMALL.key() in files[0].name

    def boom(*a, **k):
        raise AssertionError("recomputed despite a valid cache")

    monkeypatch.setattr(data, "compute_spectrograms", boom)
    again = digits(digit_dir, tmp_path, "train")  # another split of the same folder: same cache
    assert torch.equal(again.as_tensors()[0], first.as_tensors()[0][np.array(first.indices) >= 5])


def test_cache_key_changes_with_files_and_config(digit_dir, tmp_path, make_tone):
    digits(digit_dir, tmp_path, "all")
    make_tone(digit_dir / "3_carol_7.wav", 900)  # a new file: new listing hash
    ds = digits(digit_dir, tmp_path, "all")
    assert len(ds) == 81 and len(_cache_files(tmp_path)) == 2
    DigitFolder(digit_dir, "all", cfg=AudioConfig(spec_shape=(32, 16)), cache_dir=tmp_path,
                progress=False)
    assert len(_cache_files(tmp_path)) == 3
    st = os.stat(digit_dir / "3_carol_7.wav")
    make_tone(digit_dir / "3_carol_7.wav", 300)  # same name, new content and mtime
    os.utime(digit_dir / "3_carol_7.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    digits(digit_dir, tmp_path, "all")
    assert len(_cache_files(tmp_path)) == 4


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip"])
def test_damaged_cache_is_detected_and_rebuilt(digit_dir, tmp_path, damage):
    good = digits(digit_dir, tmp_path, "all").as_tensors()[0]
    path = _cache_files(tmp_path)[0]
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a cache at all")
    elif damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    else:  # one flipped byte inside the spectrogram array: only the checksum notices
        i = len(raw) // 2
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:])
    with pytest.warns(UserWarning, match="damaged"):
        again = digits(digit_dir, tmp_path, "all")
    assert torch.equal(again.as_tensors()[0], good)
    data_cache._read_cache(path, [p.name for p in again.paths], SMALL)  # the rebuilt file is valid


def test_cache_disabled(digit_dir, tmp_path):
    ds = DigitFolder(digit_dir, "all", cfg=SMALL, cache_dir=False, progress=False)
    assert len(ds) == 80 and not _cache_files(tmp_path)


def test_workers_give_same_result(digit_dir, tmp_path):
    a = DigitFolder(digit_dir, "all", cfg=SMALL, cache_dir=False, progress=False, workers=1)
    b = DigitFolder(digit_dir, "all", cfg=SMALL, cache_dir=False, progress=False, workers=2)
    assert torch.equal(a.as_tensors()[0], b.as_tensors()[0])


# --------------------------------------------------------------------------- bad files
@pytest.fixture
def bad_dir(digit_dir, make_tone):
    """digit_dir plus one file of every bad kind; returns (root, {name: expected reason})."""
    make_tone(digit_dir / "4_dave_9.wav").write_bytes(
        (digit_dir / "4_alice_0.wav").read_bytes()[:30])  # header cut off mid-way
    (digit_dir / "5_dave_9.wav").write_bytes(b"")
    (digit_dir / "6_dave_9.wav").write_text("this is a text file, not a wav")
    make_tone(digit_dir / "7_dave_9.wav", freq=0.0)  # sin(0) = 0: an all-zero clip
    make_tone(digit_dir / "seven_dave.wav")  # decodes fine, but the name carries no label
    (digit_dir / "notes.txt").write_text("not audio, not a .wav: ignored")
    expected = {"4_dave_9.wav": "Corrupt", "5_dave_9.wav": "empty", "6_dave_9.wav": "Corrupt",
                "7_dave_9.wav": "Silent", "seven_dave.wav": "bad name"}
    return digit_dir, expected


def test_bad_files_raise_listing_each_name(bad_dir, tmp_path):
    root, expected = bad_dir
    with pytest.raises(BadFilesError) as err:
        digits(root, tmp_path, "all")
    msg = str(err.value)
    assert set(err.value.bad) == set(expected) and "on_error='skip'" in msg
    for name, why in expected.items():
        line = next(ln for ln in msg.splitlines() if name in ln)
        assert why.lower() in line.lower(), line
    assert "notes.txt" not in msg


def test_bad_files_skipped_with_warning(bad_dir, tmp_path):
    root, expected = bad_dir
    with pytest.warns(UserWarning) as rec:
        ds = digits(root, tmp_path, "all", on_error="skip")
    text = "\n".join(str(w.message) for w in rec)
    assert all(name in text for name in expected)
    assert len(ds) == 80 and not set(expected) & {p.name for p in ds.paths}
    assert set(ds.bad) == set(expected)
    # the cache holds the same verdicts: raising from it still names every bad file
    with pytest.raises(BadFilesError) as err:
        digits(root, tmp_path, "all")
    assert set(err.value.bad) == set(expected)


def test_one_bad_file_in_real_data(fsdd_subset, tmp_path):
    root = tmp_path / "rec"
    root.mkdir()
    for p in sorted(fsdd_subset.iterdir())[:10]:
        (root / p.name).write_bytes(p.read_bytes())
    victim = sorted(root.iterdir())[4]
    victim.write_bytes(victim.read_bytes()[:20])
    with pytest.raises(BadFilesError, match=victim.name):
        digits(root, tmp_path / "cache", "all")


# --------------------------------------------------------------------------- LabelledFolder
def _gender_dir(root: Path, make_tone) -> Path:
    """8 clips named {gender}_{speaker}_{k}.wav plus a labels.csv."""
    rows = ["path,gender,speaker,sex"]
    for g, spk in [(0, "m1"), (0, "m2"), (1, "f1"), (1, "f2")]:
        for k in range(2):
            name = f"{g}_{spk}_{k}.wav"
            make_tone(root / "wav" / name, 150 + 200 * g + 10 * k, sr=16000)
            rows.append(f"wav/{name},{g},{spk},{'MF'[g]}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_labelled_folder_from_csv(tmp_path, make_tone):
    root = _gender_dir(tmp_path / "g", make_tone)
    ds = LabelledFolder(root, "labels.csv", label_column="gender", n_classes=2, cfg=SMALL,
                        cache_dir=tmp_path / "c", progress=False)
    assert len(ds) == 8 and ds.n_classes == 2 and sorted(ds.labels.tolist()) == [0] * 4 + [1] * 4
    assert all(p.name.startswith(f"{y}_") for p, y in zip(ds.paths, ds.labels))
    test = LabelledFolder(root, "labels.csv", label_column="gender", split="test",
                          test_speakers=["m2", "f2"], cfg=SMALL, cache_dir=tmp_path / "c",
                          progress=False)
    assert sorted(set(test.speakers)) == ["f2", "m2"] and len(test) == 4


def test_labelled_folder_class_names_and_pattern(tmp_path, make_tone):
    root = _gender_dir(tmp_path / "g", make_tone)
    by_sex = LabelledFolder(root, root / "labels.csv", label_column="sex",
                            classes=["M", "F"], cfg=SMALL, cache_dir=False, progress=False)
    assert by_sex.classes == ("M", "F")
    assert [int(p.name[0]) for p in by_sex.paths] == by_sex.labels.tolist()
    by_name = LabelledFolder(root / "wav", cfg=SMALL, cache_dir=False, progress=False)
    assert by_name.n_classes == 2 and set(by_name.speakers) == {"m1", "m2", "f1", "f2"}
    mapping = {f"wav/{p.name}": ("M", "F")[int(p.name[0])] for p in (root / "wav").iterdir()}
    by_map = LabelledFolder(root, mapping, cfg=SMALL, cache_dir=False, progress=False)
    assert by_map.classes == ("F", "M") and len(by_map) == 8  # default: sorted class names


def test_labelled_folder_errors(tmp_path, make_tone):
    root = _gender_dir(tmp_path / "g", make_tone)
    with pytest.raises(data.DataError, match="outside"):
        LabelledFolder(root, "labels.csv", label_column="gender", n_classes=1, cfg=SMALL,
                       cache_dir=False, progress=False)
    with pytest.raises(data.DataError, match="missing column"):
        LabelledFolder(root, "labels.csv", label_column="age", cfg=SMALL, cache_dir=False,
                       progress=False)
    with pytest.raises(DatasetNotFoundError, match="labels CSV"):
        LabelledFolder(root, "other.csv", cfg=SMALL, cache_dir=False, progress=False)
    (root / "wav" / "1_f2_1.wav").unlink()
    with pytest.raises(BadFilesError, match="1_f2_1.wav"):
        LabelledFolder(root, "labels.csv", label_column="gender", cfg=SMALL, cache_dir=False,
                       progress=False)
    with pytest.raises(data.DataError, match="test_speakers"):
        LabelledFolder(root / "wav", split="train", cfg=SMALL, cache_dir=False, progress=False,
                       on_error="skip")


# --------------------------------------------------------------------------- label samplers
LABELS = np.repeat(np.arange(10), 225)  # FSDD's training set: 2,250 clips, 225 per digit


@pytest.mark.parametrize("fraction", [0.01, 0.02, 0.03, 0.04, 0.05])
def test_labelled_subset_size_and_balance(fraction):
    idx = labelled_subset(LABELS, fraction, seed=0)
    assert len(idx) == round(fraction * len(LABELS)) and len(set(idx)) == len(idx)
    counts = np.bincount(LABELS[idx], minlength=10)
    assert counts.min() >= 1 and counts.max() - counts.min() <= 1


def test_labelled_subset_reproducible_and_seed_dependent():
    a, b = labelled_subset(LABELS, 0.02, seed=3), labelled_subset(LABELS, 0.02, seed=3)
    assert np.array_equal(a, b)
    draws = label_draws(LABELS, 0.02, n_draws=5, seed=0)
    assert len({tuple(d) for d in draws}) == 5
    assert np.array_equal(draws[3], labelled_subset(LABELS, 0.02, seed=3))


def test_labelled_subset_rest_is_disjoint_complement():
    lab, rest = labelled_subset(torch.from_numpy(LABELS), 0.03, seed=1, rest=True)
    assert not set(lab) & set(rest) and len(lab) + len(rest) == len(LABELS)
    assert np.array_equal(np.sort(np.concatenate([lab, rest])), np.arange(len(LABELS)))


def test_labelled_subset_imbalanced_and_tiny():
    y = np.array([0] * 500 + [1] * 30 + [2] * 3)
    idx = labelled_subset(y, 0.01, seed=0)
    assert set(y[idx]) == {0, 1, 2}  # every class at least once, even the rare ones
    assert np.bincount(y[idx])[0] >= 4  # and the big class keeps its share
    with pytest.raises(ValueError):
        labelled_subset(y, 0.0)
    with pytest.raises(ValueError):
        labelled_subset(y, 1.5)
    assert len(labelled_subset(y, 1.0)) == len(y)


def test_infinite_batches():
    X, y = torch.arange(10.0)[:, None], torch.arange(10)
    it = infinite_batches(X, y, batch_size=4, seed=0)
    batches = [next(it) for _ in range(5)]  # 2 per epoch: the short third batch is dropped
    assert all(b[0].shape == (4, 1) and torch.equal(b[0][:, 0].long(), b[1]) for b in batches)
    assert len(set(batches[0][1].tolist() + batches[1][1].tolist())) == 8
    again = infinite_batches(X, y, batch_size=4, seed=0)
    assert torch.equal(next(again)[1], batches[0][1])
    with pytest.raises(ValueError):
        next(infinite_batches(X, y[:5], batch_size=2))


def test_no_stray_warnings_for_long_clips(fsdd_subset, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FSDD clips longer than 1 s are cut without noise
        digits(fsdd_subset, tmp_path, "all")
