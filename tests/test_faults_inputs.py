"""Issue 16, inputs under faults: the spectrogram cache (2), config ranges (3), reproduce claims (4), archive
members (8), WAV headers (9), error messages (10) and LabelledFolder CSVs (11)."""
from __future__ import annotations

import io
import json
import math
import os
import socket
import struct
import tarfile
import time
import warnings

import numpy as np
import pytest
from conftest import write_tone

from ggan_lib.audio import AudioConfig, CorruptAudioError, load_audio
from ggan_lib.audio import load as audio_load
from ggan_lib.cli.train import main as train_main
from ggan_lib.config import BaselineConfig, EvalConfig, ModelConfig, MonitorConfig, TrainConfig
from ggan_lib.data import cache as spec_cache
from ggan_lib.data.folders import DigitFolder, LabelledFolder
from ggan_lib.data.paths import BadFilesError, DataError, DatasetNotFoundError
from ggan_lib.experiments import reproduce as rp
from ggan_lib.io.download import UnsafeArchiveError, extract, iter_tar

CFG = AudioConfig(spec_shape=(16, 8))


# --------------------------------------------------------------------------- 2: the cache
def test_a_failure_is_not_cached(tmp_path, monkeypatch):
    """A file that failed once (a permission error, say) is read again once it is fixed, not served as bad."""
    root = tmp_path / "d"
    paths = [write_tone(root / f"{i}_a_5.wav", 300 + 50 * i) for i in range(3)]
    real = spec_cache.load_audio

    def denied(path, cfg):
        if path.name == paths[1].name:
            raise PermissionError(f"{path}: Permission denied")
        return real(path, cfg)

    monkeypatch.setattr(spec_cache, "load_audio", denied)
    _, ok, reasons = spec_cache.cached_spectrograms(paths, root, CFG, cache_dir=tmp_path / "c", progress=False)
    assert ok.tolist() == [True, False, True] and "Permission" in reasons[1]
    monkeypatch.setattr(spec_cache, "load_audio", real)  # fixed: same file, same size and mtime
    specs, ok, _ = spec_cache.cached_spectrograms(paths, root, CFG, cache_dir=tmp_path / "c", progress=False)
    assert ok.all() and specs.shape == (3, 16, 8)
    fresh = spec_cache.compute_spectrograms(paths, CFG, progress=False)[0]
    assert specs.tobytes() == fresh.tobytes()
    again, ok, _ = spec_cache.cached_spectrograms(paths, root, CFG, cache_dir=tmp_path / "c", progress=False)
    assert ok.all() and again.tobytes() == fresh.tobytes()  # and the cache now holds it


def test_new_content_with_same_size_and_mtime_is_not_served_stale(tmp_path):
    root = tmp_path / "d"
    path = write_tone(root / "1_a_5.wav", 300)
    before, _, _ = spec_cache.cached_spectrograms([path], root, CFG, cache_dir=tmp_path / "c", progress=False)
    st = os.stat(path)
    write_tone(path, 900)  # same length, so the same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size
    after, _, _ = spec_cache.cached_spectrograms([path], root, CFG, cache_dir=tmp_path / "c", progress=False)
    assert not np.array_equal(before, after)
    assert after.tobytes() == spec_cache.compute_spectrograms([path], CFG, progress=False)[0].tobytes()


def test_content_hash_reads_both_ends(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(bytes(300_000))
    h0 = spec_cache.content_hash(p)
    p.write_bytes(bytes(299_999) + b"x")
    assert spec_cache.content_hash(p) != h0


# --------------------------------------------------------------------------- 3: config ranges
@pytest.mark.parametrize("cls,field,value", [
    (TrainConfig, "ema_decay", math.nan), (TrainConfig, "ema_decay", 5.0), (TrainConfig, "ema_decay", -0.1),
    (TrainConfig, "lr_g", 0.0), (TrainConfig, "lr_d", -1e-4), (TrainConfig, "lr_g", math.inf),
    (TrainConfig, "betas", (0.0, 1.0)), (TrainConfig, "adam_eps", 0.0), (TrainConfig, "log_every", 0),
    (TrainConfig, "ckpt_every", -1), (TrainConfig, "ema_start", -1),
    (BaselineConfig, "lr_clf", math.nan), (BaselineConfig, "lr_enc", 0.0), (BaselineConfig, "enc_latent_recon", -1.0),
    (BaselineConfig, "clf_betas", (0.9, 1.5)), (BaselineConfig, "clf_weight_decay", -1.0),
    (ModelConfig, "mg_alpha", 0.0), (ModelConfig, "sn_eps", math.nan), (ModelConfig, "bn_momentum", 1.5),
    (ModelConfig, "bn_eps", 0.0), (ModelConfig, "sn_iters", 0), (ModelConfig, "z_dim", 0),
    (EvalConfig, "pghi_tol", math.nan), (EvalConfig, "batch_size", 0),
    (MonitorConfig, "min_delta", math.nan), (MonitorConfig, "batch_size", 0),
    (AudioConfig, "log_floor", math.nan), (AudioConfig, "sample_rate", 0),
])
def test_out_of_range_numbers_are_refused(cls, field, value):
    with pytest.raises(ValueError, match=field):
        cls(**{field: value})


def test_presets_are_valid():
    for name in ("paper", "small", "tiny"):
        ModelConfig.preset(name), TrainConfig.preset(name), BaselineConfig.preset(name), EvalConfig.preset(name)


def test_cli_refuses_nan_ema_decay(tmp_path):
    with pytest.raises(ValueError, match="ema_decay=nan"):
        train_main(["--preset", "tiny", "--data", "synthetic", "--iters", "1", "--out", str(tmp_path / "x"),
                    "--progress", "false", "--ema-decay", "nan"])
    assert not (tmp_path / "x" / "checkpoint.pt").exists()


# --------------------------------------------------------------------------- 4: claims
@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"host": "h"}'])
def test_empty_or_corrupt_claim_is_taken_over(tmp_path, content):
    d = tmp_path / "run"
    d.mkdir()
    (d / rp.CLAIM).write_text(content)
    assert not rp.claimed_elsewhere(d)
    assert rp.claim_run(d)
    info = json.loads((d / rp.CLAIM).read_text())
    assert info["pid"] == os.getpid() and isinstance(info["heartbeat"], float)


def test_stale_heartbeat_is_taken_over(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    info = {"pid": os.getppid(), "host": "another-host", "heartbeat": time.time()}
    (d / rp.CLAIM).write_text(json.dumps(info))
    assert rp.claimed_elsewhere(d) and not rp.claim_run(d)  # fresh: left to its runner
    (d / rp.CLAIM).write_text(json.dumps({**info, "heartbeat": time.time() - 2 * rp.claims.STALE_S}))
    assert not rp.claimed_elsewhere(d) and rp.claim_run(d)


def test_heartbeat_refreshes_the_claim(tmp_path):
    d = tmp_path / "run"
    assert rp.claim_run(d)
    old = json.loads((d / rp.CLAIM).read_text())["heartbeat"]
    with rp.claims.keep_alive(d, every_s=0.05):
        time.sleep(0.3)
    assert json.loads((d / rp.CLAIM).read_text())["heartbeat"] > old
    assert json.loads((d / rp.CLAIM).read_text())["host"] == socket.gethostname()


# --------------------------------------------------------------------------- 8: archive members
def _tar(path, members):
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("root", [".", "./"])
def test_root_member_is_skipped(tmp_path, root):
    arc = _tar(tmp_path / "a.tar", [(root, None), ("./x.txt", b"x")])
    out = tmp_path / "out"
    assert extract(arc, out, progress=False) == [out.resolve() / "x.txt"]
    assert not (tmp_path / "out.tmp").exists()
    assert [n for n, _ in iter_tar(arc)] == ["x.txt"]


def test_file_member_named_dot_is_refused(tmp_path):
    arc = _tar(tmp_path / "a.tar", [(".", b"x")])
    with pytest.raises(UnsafeArchiveError, match="itself"):
        extract(arc, tmp_path / "out", progress=False)
    assert not (tmp_path / "out.tmp").exists()


@pytest.mark.parametrize("name", ["../x", "/etc/x", "a/../../x", "a/../x"])
def test_iter_tar_refuses_unsafe_names(tmp_path, name):
    arc = _tar(tmp_path / "a.tar", [(name, b"x")])
    with pytest.raises(UnsafeArchiveError):
        list(iter_tar(arc))


# --------------------------------------------------------------------------- 9: WAV headers
def _wav(path, rate: int, channels: int, n_bytes: int = 2000):
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    data = bytes(range(256)) * (n_bytes // 256 + 1)
    data = data[:n_bytes - n_bytes % (2 * channels)]
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize("rate,channels,what", [(0, 1, "sample rate 0"), (1, 1, "sample rate 1 Hz"),
                                                (10**9, 1, "sample rate"), (16000, 1000, "1000 channels")])
def test_absurd_headers_are_refused_before_decoding(tmp_path, rate, channels, what, monkeypatch):
    path = _wav(tmp_path / "x.wav", rate, channels, 14_000)
    monkeypatch.setattr(audio_load, "prepare_waveform", lambda *a, **k: pytest.fail("decoded"))
    with pytest.raises(CorruptAudioError, match=what):
        load_audio(path)


def test_long_file_is_cut_before_resampling(tmp_path, monkeypatch):
    sr = 8000
    wave = (0.3 * np.sin(np.arange(sr * 30) * 0.05)).astype(np.float32)
    import soundfile as sf
    sf.write(tmp_path / "long.wav", wave, sr)
    wave = sf.read(tmp_path / "long.wav", dtype="float32")[0]  # as stored (16-bit)
    seen = []
    import librosa
    real = librosa.resample
    monkeypatch.setattr(librosa, "resample", lambda x, **k: seen.append(len(x)) or real(x, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = load_audio(tmp_path / "long.wav")
    assert seen and seen[0] <= 2 * sr  # 1 s and a margin, not 30 s
    expect = real(wave, orig_sr=sr, target_sr=16000, res_type="soxr_hq")[:16000]
    assert np.array_equal(got[:16000], expect)  # the same clip as resampling the whole file


# --------------------------------------------------------------------------- 10: messages that point somewhere
def test_cli_bad_file_names_the_cli_option(tmp_path, monkeypatch):
    monkeypatch.setenv("GGAN_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "digits"
    for d in range(10):
        write_tone(root / f"{d}_a_5.wav", 300 + 40 * d)
    (root / "3_a_6.wav").write_bytes(b"not audio at all")
    base = ["--preset", "tiny", "--fsdd-dir", str(root), "--iters", "1", "--progress", "false",
            "--tensorboard", "false", "--label-fraction", "1.0"]
    with pytest.raises(SystemExit, match=r"(?s)--skip-bad-files.*3_a_6.wav") as err:
        train_main([*base, "--out", str(tmp_path / "r1")])
    assert "on_error" not in str(err.value)
    with pytest.warns(UserWarning, match="3_a_6.wav"):
        assert train_main([*base, "--out", str(tmp_path / "r2"), "--skip-bad-files"]) == 0


def test_empty_train_split_says_so(tmp_path):
    root = tmp_path / "digits"
    for d in range(3):
        write_tone(root / f"{d}_a_{d}.wav", 300 + 40 * d)  # takes 0-2: all test
    with pytest.raises(DataError, match=r"the train split of .* is empty.*takes 0-4 are the test split"):
        DigitFolder(root, split="train", cfg=CFG, cache_dir=tmp_path / "c", progress=False)


def test_symlink_loop_root_is_a_clear_error(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(DatasetNotFoundError, match="symlink"):
        DigitFolder(tmp_path / "a", cfg=CFG, cache_dir=tmp_path / "c", progress=False)


# --------------------------------------------------------------------------- 11: LabelledFolder CSVs
@pytest.fixture
def labelled(tmp_path):
    root = tmp_path / "lab"
    for i in range(4):
        write_tone(root / f"f{i}.wav", 300 + 50 * i)
    return root


def _folder(root, csv_text: str | bytes, **kw):
    p = root / "labels.csv"
    p.write_bytes(csv_text if isinstance(csv_text, bytes) else csv_text.encode())
    return LabelledFolder(root, "labels.csv", cfg=CFG, cache_dir=root.parent / "c", progress=False, **kw)


@pytest.mark.parametrize("row,reason", [
    ("{root}/f3.wav,1", "absolute path"), ("../outside.wav,1", "outside the folder"),
    ("f3.wav,", "empty label"), ("f3.wav,0\nf3.wav,1", "listed twice"),
])
def test_bad_csv_rows_are_bad_files(labelled, row, reason):
    (labelled.parent / "outside.wav").write_bytes((labelled / "f0.wav").read_bytes())
    text = "path,label\nf0.wav,0\nf1.wav,1\nf2.wav,0\n" + row.format(root=labelled) + "\n"
    with pytest.raises(BadFilesError, match=reason) as err:
        _folder(labelled, text)
    assert len(err.value.bad) == 1
    with pytest.warns(UserWarning, match=reason):
        ds = _folder(labelled, text, on_error="skip")
    assert [p.name for p in ds.paths] == ["f0.wav", "f1.wav", "f2.wav"] and ds.classes is None
    assert ds.n_classes == 2


def test_identical_duplicate_rows_are_kept_once(labelled):
    ds = _folder(labelled, "path,label\nf0.wav,0\nf0.wav,0\nf1.wav,1\n")
    assert len(ds) == 2


def test_binary_csv_is_a_data_error(labelled):
    with pytest.raises(DataError, match="not a UTF-8 text CSV"):
        _folder(labelled, b"\xff\xfe\x00\x81path,label\n\x00\x00")


def test_broken_links_are_reported(labelled):
    (labelled / "f9.wav").symlink_to(labelled / "nowhere.wav")
    (labelled / "fa.wav").symlink_to(labelled / "fb.wav")
    (labelled / "fb.wav").symlink_to(labelled / "fa.wav")
    for f in ("f0", "f1", "f2", "f3"):
        (labelled / f"{f}.wav").rename(labelled / f"{f[1]}_s_1.wav")
    with pytest.raises(BadFilesError) as err:
        LabelledFolder(labelled, pattern=r"^(?P<label>\d+)_(?P<speaker>s)_(?P<index>\d+)$", cfg=CFG,
                       cache_dir=labelled.parent / "c", progress=False)
    assert "dangling symlink" in err.value.bad["f9.wav"] and "symlink loop" in err.value.bad["fa.wav"]
    csv_text = "path,label\n0_s_1.wav,0\nf9.wav,1\nfa.wav,1\n"
    with pytest.raises(BadFilesError) as err:
        _folder(labelled, csv_text)
    assert "dangling symlink" in err.value.bad["f9.wav"] and "symlink loop" in err.value.bad["fa.wav"]
