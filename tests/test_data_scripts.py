"""Tests of ggan_lib.io.download and the data_scripts, against a local server and fixture archives."""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ggan_lib.audio import AudioConfig
from ggan_lib.data import DigitFolder, LabelledFolder
from ggan_lib.io.download import (
    ChecksumError,
    DownloadError,
    UnsafeArchiveError,
    download,
    extract,
    fetch_archive,
    sha256_file,
)

REPO = Path(__file__).resolve().parents[1]
SMALL = AudioConfig(spec_shape=(64, 32))


def load_script(name: str):
    """Import data_scripts/<name>.py as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "data_scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# --------------------------------------------------------------------------- download
BLOB = np.random.default_rng(0).bytes(3 * (1 << 20) + 12345)  # > 3 read chunks


def test_download_and_checksum(http_server, tmp_path):
    http_server.files["/blob.bin"] = BLOB
    out = download(http_server.url("/blob.bin"), tmp_path / "blob.bin", sha(BLOB), progress=False)
    assert out.read_bytes() == BLOB and not (tmp_path / "blob.bin.part").exists()
    n = len(http_server.requests)
    download(http_server.url("/blob.bin"), out, sha(BLOB), progress=False)
    assert len(http_server.requests) == n  # a verified file is not fetched again


def test_interrupted_download_resumes_on_next_call(http_server, tmp_path):
    http_server.files["/blob.bin"] = BLOB
    http_server.drop_after["/blob.bin"] = 1_500_000
    dest = tmp_path / "blob.bin"
    with pytest.raises(DownloadError, match="run again to resume"):
        download(http_server.url("/blob.bin"), dest, sha(BLOB), retries=0, progress=False)
    part = tmp_path / "blob.bin.part"
    assert part.stat().st_size == 1_500_000 and not dest.exists()
    download(http_server.url("/blob.bin"), dest, sha(BLOB), retries=0, progress=False)
    assert dest.read_bytes() == BLOB and not part.exists()
    assert http_server.requests[-1]["range"] == "bytes=1500000-"


def test_interrupted_download_retries_within_call(http_server, tmp_path):
    http_server.files["/blob.bin"] = BLOB
    http_server.drop_after["/blob.bin"] = 777
    out = download(http_server.url("/blob.bin"), tmp_path / "b", sha(BLOB), retries=2,
                   progress=False)
    assert out.read_bytes() == BLOB
    assert [r["range"] for r in http_server.requests] == [None, "bytes=777-"]


def test_server_without_ranges_restarts(http_server, tmp_path):
    http_server.files["/blob.bin"] = BLOB
    http_server.ranges = False
    (tmp_path / "b.part").write_bytes(b"stale bytes from elsewhere")
    out = download(http_server.url("/blob.bin"), tmp_path / "b", sha(BLOB), progress=False)
    assert out.read_bytes() == BLOB


def test_checksum_mismatch_deletes_file(http_server, tmp_path):
    http_server.files["/blob.bin"] = BLOB
    with pytest.raises(ChecksumError, match="expected 0000"):
        download(http_server.url("/blob.bin"), tmp_path / "b", "0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_clear(http_server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(http_server.url("/missing.tar.gz"), tmp_path / "m", progress=False)


def test_file_url_and_resume(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(BLOB)
    (tmp_path / "dst.bin.part").write_bytes(BLOB[:1000])  # an earlier, interrupted copy
    out = download(src.as_uri(), tmp_path / "dst.bin", sha(BLOB), progress=False)
    assert out.read_bytes() == BLOB


def test_fetch_archive_checks_local_archive(tmp_path):
    src = tmp_path / "a.tar.gz"
    src.write_bytes(b"x")
    assert fetch_archive(None, src, sha(b"x")) == src
    with pytest.raises(ChecksumError):
        fetch_archive(None, src, "f" * 64)
    assert sha256_file(src) == sha(b"x")


# --------------------------------------------------------------------------- extraction
def _tar(path: Path, members: dict, extra=None) -> Path:
    """A .tar.gz with {name: bytes} members (and extra TarInfo objects)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        for info in extra or []:
            tar.addfile(info)
    return path


def test_extract_tar_and_zip_with_filter(tmp_path):
    arc = _tar(tmp_path / "ok.tar.gz", {"./a/x.txt": b"x", "./a/y.bin": b"y", "b.txt": b"b"})
    got = extract(arc, tmp_path / "out", keep=lambda n: n.endswith(".txt"), progress=False)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in got) == ["a/x.txt", "b.txt"]
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("d/z.txt", "z")
    extract(tmp_path / "ok.zip", tmp_path / "zout", progress=False)
    assert (tmp_path / "zout" / "d" / "z.txt").read_text() == "z"


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt"])
def test_extract_refuses_path_traversal(tmp_path, name):
    arc = _tar(tmp_path / "bad.tar.gz", {"fine.txt": b"ok", name: b"evil"})
    with pytest.raises(UnsafeArchiveError):
        extract(arc, tmp_path / "out", progress=False)
    assert not (tmp_path / "evil.txt").exists()
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr(name, "evil")
    with pytest.raises(UnsafeArchiveError):
        extract(tmp_path / "bad.zip", tmp_path / "zout", progress=False)
    assert not (tmp_path / "evil.txt").exists()


def test_extract_refuses_links(tmp_path):
    link = tarfile.TarInfo("innocent")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    arc = _tar(tmp_path / "link.tar.gz", {}, extra=[link])
    with pytest.raises(UnsafeArchiveError, match="link"):
        extract(arc, tmp_path / "out", progress=False)


# --------------------------------------------------------------------------- SC09
def _wav_bytes(freq: float, seconds: float = 0.5, sr: int = 16000) -> bytes:
    t = np.arange(int(sr * seconds)) / sr
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, format="WAV",
             subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def sc09_archive(tmp_path_factory) -> tuple[Path, dict]:
    """A Speech-Commands-shaped tarball: 3 digit words x 4 speakers, plus non-digit noise."""
    members, splits = {}, {}
    for word in ("zero", "one", "nine", "yes"):
        for k, spk in enumerate(("0a1b2c3d", "1f2e3d4c", "22334455", "9abcdef0")):
            rel = f"{word}/{spk}_nohash_{k % 2}.wav"
            members[f"./{rel}"] = _wav_bytes(300 + 50 * k)
            splits[rel] = ("train", "train", "valid", "test")[k]
    members["./_background_noise_/white_noise.wav"] = _wav_bytes(1000, 2.0)
    members["./validation_list.txt"] = "\n".join(r for r, s in splits.items() if s == "valid").encode()
    members["./testing_list.txt"] = "\n".join(r for r, s in splits.items() if s == "test").encode()
    members["./LICENSE"] = b"CC BY 4.0"
    path = _tar(tmp_path_factory.mktemp("sc09arc") / "speech_commands_v0.02.tar.gz", members)
    return path, splits


def test_prepare_sc09_end_to_end(sc09_archive, http_server, tmp_path, spec_cache):
    archive, splits = sc09_archive
    http_server.files["/data/speech_commands_v0.02.tar.gz"] = archive.read_bytes()
    http_server.drop_after["/data/speech_commands_v0.02.tar.gz"] = 5000  # first try breaks off
    mod = load_script("prepare_sc09")
    out = tmp_path / "sc09"
    argv = ["--url", http_server.url("/data/speech_commands_v0.02.tar.gz"), "--sha256",
            sha256_file(archive), "--out", str(out), "--no-progress"]
    assert mod.main(argv) == 0
    assert sorted(p.name for p in (out / "train").iterdir()) == [
        "0_0a1b2c3d_0.wav", "0_1f2e3d4c_1.wav", "1_0a1b2c3d_0.wav", "1_1f2e3d4c_1.wav",
        "9_0a1b2c3d_0.wav", "9_1f2e3d4c_1.wav"]
    assert sorted(p.name for p in (out / "test").iterdir())[0] == "0_9abcdef0_1.wav"
    with open(out / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and all(r["split"] == splits[r["source"]] for r in rows)
    assert (out / "LICENSE").exists() and not (out / "_staging").exists()
    assert (tmp_path / "downloads" / "speech_commands_v0.02.tar.gz").exists()
    assert [r["range"] for r in http_server.requests] == [None, "bytes=5000-"]  # resumed
    ds = DigitFolder(out / "valid", "all", cfg=SMALL, cache_dir=spec_cache, progress=False)
    assert sorted(ds.labels.tolist()) == [0, 1, 9] and set(ds.speakers) == {"22334455"}
    n = len(http_server.requests)
    assert mod.main(argv) == 0 and len(http_server.requests) == n  # finished: nothing to do


def test_prepare_sc09_local_archive_and_bad_checksum(sc09_archive, tmp_path):
    archive, _ = sc09_archive
    mod = load_script("prepare_sc09")
    with pytest.raises(SystemExit, match="sha256 mismatch"):  # the pinned official checksum
        mod.main(["--archive", str(archive), "--out", str(tmp_path / "a"), "--no-progress"])
    assert mod.main(["--archive", str(archive), "--sha256", "skip", "--out",
                     str(tmp_path / "b"), "--no-progress"]) == 0
    assert len(list((tmp_path / "b" / "train").iterdir())) == 6


def test_sc09_helper_reads_prepared_folders(sc09_archive, tmp_path, spec_cache):
    from ggan_lib.data import sc09

    archive, _ = sc09_archive
    load_script("prepare_sc09").main(["--archive", str(archive), "--sha256", "skip", "--out",
                                      str(tmp_path / "sc"), "--no-progress"])
    ds = sc09("test", root=tmp_path / "sc", cfg=SMALL, cache_dir=spec_cache, progress=False)
    assert len(ds) == 3 and ds.n_classes == 10


def test_sc09_cli_help():
    res = subprocess.run([sys.executable, str(REPO / "data_scripts" / "prepare_sc09.py"),
                          "--help"], capture_output=True, text=True, check=True)
    assert "--sha256" in res.stdout and "--archive" in res.stdout


# --------------------------------------------------------------------------- LibriSpeech
SPEAKERS_TXT = """\
; Some header lines
; ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
26   | M | train-clean-100  | 25.08 | Denny Sayers
27   | M | train-clean-100  | 20.14 | Sean McKinley
32   | F | train-clean-100  | 24.01 | Betsie Bush
40   | F | train-clean-100  | 25.0  | Vicki |Barbour
60   | M | train-clean-100  | 20.18 | |CBW|Simon
14   | F | train-clean-360  | 25.03 | Kristin LeMoine
"""


def _flac_bytes(seconds: float, freq: float) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * freq * t), 16000, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def libri_archive(tmp_path_factory) -> Path:
    """A LibriSpeech-shaped train-clean-100 tarball: 6 speakers, 2 chapters x 2 utterances each."""
    members = {"LibriSpeech/SPEAKERS.TXT": SPEAKERS_TXT.encode(),
               "LibriSpeech/LICENSE.TXT": b"CC BY 4.0"}
    for spk in ("19", "26", "27", "32", "40", "60"):
        for chap in ("100", "200"):
            for utt in range(2):
                members[f"LibriSpeech/train-clean-100/{spk}/{chap}/{spk}-{chap}-{utt:04d}.flac"] = \
                    _flac_bytes(2.5, 100 + int(spk) * 3 + utt)
            members[f"LibriSpeech/train-clean-100/{spk}/{chap}/{spk}-{chap}.trans.txt"] = b"HI"
    return _tar(tmp_path_factory.mktemp("libri") / "train-clean-100.tar.gz", members)


def test_parse_and_choose_speakers():
    mod = load_script("prepare_librispeech_gender")
    spk = mod.parse_speakers(SPEAKERS_TXT, "train-clean-100")
    assert spk["60"] == ("M", 20.18) and spk["40"][0] == "F" and "14" not in spk
    a = mod.choose_speakers(spk, 2, 300, seed=0)
    assert sorted(a.values()) == ["F", "F", "M", "M"] and a == mod.choose_speakers(spk, 2, 300, 0)
    with pytest.raises(SystemExit, match="only 3 M"):
        mod.choose_speakers(spk, 4, 300, seed=0)


def test_prepare_librispeech_end_to_end(libri_archive, http_server, tmp_path, spec_cache):
    http_server.files["/resources/12/train-clean-100.tar.gz"] = libri_archive.read_bytes()
    mod = load_script("prepare_librispeech_gender")
    out = tmp_path / "lg"
    argv = ["--url", http_server.url("/resources/12/train-clean-100.tar.gz"), "--sha256",
            sha256_file(libri_archive), "--out", str(out), "--n-per-gender", "2",
            "--seconds", "5", "--seed", "1", "--no-progress"]
    assert mod.main(argv) == 0
    with open(out / "labels.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20  # 4 speakers x 5 one-second clips
    per_spk = {}
    for r in rows:
        per_spk.setdefault(r["speaker"], set()).add(r["gender"])
        assert r["gender"] == {"M": "0", "F": "1"}[r["sex"]]
        assert Path(r["path"]).name.startswith(f"{r['gender']}_{r['speaker']}_")
    assert len(per_spk) == 4 and sorted(g for s in per_spk.values() for g in s) == ["0", "0", "1", "1"]
    clip, sr = sf.read(out / rows[0]["path"])
    assert sr == 16000 and clip.shape == (16000,)
    ds = LabelledFolder(out, "labels.csv", label_column="gender", n_classes=2, cfg=SMALL,
                        cache_dir=spec_cache, progress=False)
    assert len(ds) == 20 and np.bincount(ds.labels).tolist() == [10, 10]
    from ggan_lib.data import librispeech_gender

    spk = sorted(per_spk)[:2]
    test = librispeech_gender(out, split="test", test_speakers=spk, cfg=SMALL,
                              cache_dir=spec_cache, progress=False)
    assert sorted(set(test.speakers)) == spk and len(test) == 10


# --------------------------------------------------------------------------- synthetic voices
def test_synthetic_voice_plan_is_seeded():
    mod = load_script("make_synthetic_voices")
    args = mod.parse_args(["--voices-per-gender", "3", "--seed", "4"])
    a, b = mod.plan(args), mod.plan(args)
    assert a == b and a != mod.plan(mod.parse_args(["--voices-per-gender", "3", "--seed", "5"]))
    voices = {(j["gender"], j["voice"]) for j in a}
    assert sorted(g for g, _ in voices) == [0, 0, 0, 1, 1, 1]
    assert all("_" not in v for _, v in voices)
    words = [j for j in a if j["set"] == "words"]
    assert not {j["word"] for j in words} & set(mod.DIGITS)  # words carry no digit information


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng not installed (bash .ci/setup installs it as root)")
def test_make_synthetic_voices_tiny(tmp_path, spec_cache):
    mod = load_script("make_synthetic_voices")
    out = tmp_path / "voices"
    assert mod.main(["--out", str(out), "--voices-per-gender", "2", "--takes", "2",
                     "--n-digits", "3", "--n-words", "2", "--workers", "2", "--no-progress"]) == 0
    from ggan_lib.data import synthetic_voices

    digits = synthetic_voices("digits", root=out, cfg=SMALL, cache_dir=spec_cache, progress=False)
    assert len(digits) == 4 * 3 * 2 and sorted(set(digits.labels.tolist())) == [0, 1, 2]
    words = synthetic_voices("words", root=out, cfg=SMALL, cache_dir=spec_cache, progress=False)
    assert len(words) == 8 and np.bincount(words.labels).tolist() == [4, 4]
    assert set(words.speakers) == set(digits.speakers)  # the voice is the speaker
    info = sf.info(out / "words" / words.paths[0].name)
    assert info.samplerate == 16000 and info.channels == 1
    before = {p.name: p.read_bytes() for p in (out / "words").glob("*.wav")}
    mod.main(["--out", str(out), "--voices-per-gender", "2", "--takes", "2", "--n-digits", "3",
              "--n-words", "2", "--no-progress"])
    assert before == {p.name: p.read_bytes() for p in (out / "words").glob("*.wav")}


# --------------------------------------------------------------------------- offline preparation
def test_prepare_offline(fsdd_subset, tmp_path, monkeypatch):
    mod = load_script("prepare_offline")
    root = tmp_path / "fsdd" / "recordings"
    shutil.copytree(fsdd_subset, root)
    sums = "".join(f"{sha256_file(p)}  {p.name}\n" for p in sorted(root.iterdir()))
    (root.parent / "SHA256SUMS").write_text(sums)
    monkeypatch.setenv("GGAN_CACHE_DIR", str(tmp_path / "cache"))
    assert mod.verify_fsdd(root) == 50
    assert mod.main(["--fsdd-dir", str(root), "--shapes", "64x32,32x16", "--no-voices"]) == 0
    assert len(list((tmp_path / "cache").glob("recordings-*.npz"))) == 2
    first = sorted(root.iterdir())[0]
    first.write_bytes(first.read_bytes()[:-2])
    with pytest.raises(SystemExit, match=first.name):
        mod.verify_fsdd(root)
    with pytest.raises(SystemExit, match="FSDD not found"):
        mod.main(["--fsdd-dir", str(tmp_path / "none")])


def test_corpus_helpers_say_how_to_get_data(tmp_path):
    from ggan_lib.data import DatasetNotFoundError, librispeech_gender, synthetic_voices

    with pytest.raises(DatasetNotFoundError, match="make_synthetic_voices.py"):
        synthetic_voices("words", root=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="prepare_librispeech_gender.py"):
        librispeech_gender(root=tmp_path / "missing")
