"""Tests of ggan_lib.audio: loading, the exact DGT, the TiFGAN log-magnitude, input errors."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from ggan_lib import audio
from ggan_lib.audio import (
    AudioConfig,
    AudioError,
    BadSpectrogramError,
    CorruptAudioError,
    EmptyAudioError,
    SilentClipError,
    TruncatedAudioError,
    audio_to_spectrogram,
    dgt,
    idgt,
    load_audio,
    logmag_from_dgt,
    prepare_waveform,
    spectrogram_to_magnitude,
    windows,
)

REF = Path("/work/shared/reference/ltfat-tifresi")
FSDD = Path("/work/shared/data/fsdd/recordings")
CFG = AudioConfig()
needs_ref = pytest.mark.skipif(not REF.is_dir(), reason="reference arrays not available")


def ref(name):
    """Load one reference array."""
    return np.load(REF / f"{name}.npy")


# ------------------------------------------------------------------ transform vs reference
@needs_ref
def test_window_and_canonical_dual_match_ltfat():
    g, gd = windows(CFG)
    np.testing.assert_allclose(g, ref("window"), rtol=0, atol=1e-14)
    np.testing.assert_allclose(gd, ref("dual_window"), rtol=0, atol=1e-14)
    assert abs(np.linalg.norm(g) - 1) < 1e-14


def test_canonical_dual_is_not_the_diagonal_approximation():
    # the cheap g / (M sum_n g^2(l - n a)) is what a painless frame would give; ours is exact
    g, gd = windows(CFG)
    diag = g / (CFG.n_channels * sum(np.roll(g, n * CFG.hop) ** 2 for n in range(CFG.n_frames)))
    assert np.max(np.abs(diag - gd)) / np.max(np.abs(gd)) > 1e-3


@needs_ref
def test_dgt_matches_ltfat_dgtreal():
    c = dgt(ref("wav16k"))  # (5, 257, 128)
    assert c.shape == (5, 257, 128) and c.dtype == np.complex128
    np.testing.assert_allclose(c, ref("dgt"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(idgt(ref("dgt")), ref("wav16k"), rtol=0, atol=1e-12)


@needs_ref
@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-6)])
def test_dgt_and_idgt_match_ltfat(lib, dtype, tol):
    w, c_ref = ref("wav16k"), ref("dgt")
    scale = np.abs(c_ref).max()
    if lib == "numpy":
        c = dgt(w.astype(dtype))
        y = idgt(c_ref.astype(c.dtype))
    else:
        c = dgt(torch.tensor(w, dtype=getattr(torch, dtype))).numpy()
        y = idgt(torch.tensor(c_ref).to(torch.complex128 if dtype == "float64" else torch.complex64)).numpy()
    assert c.dtype == (np.complex128 if dtype == "float64" else np.complex64)
    np.testing.assert_allclose(c, c_ref, rtol=0, atol=tol * scale)
    np.testing.assert_allclose(y, w, rtol=0, atol=tol * np.abs(w).max())


def _dense_dgt(x, w):
    """The textbook real DGT with a full-length window w: c[m, n] = sum_l x[l] w[l - n a] e^(-2 pi i m l / M)."""
    L, a, M = CFG.signal_length, CFG.hop, CFG.n_channels
    t = np.arange(L)
    frames = x[None, :] * w[(t[None, :] - a * np.arange(L // a)[:, None]) % L]  # (N, L)
    return np.fft.rfft(frames.reshape(L // a, L // M, M).sum(axis=1), axis=-1).T  # fold onto l mod M


def _dense_idgt(c, w):
    """x[l] = sum_n w[l - n a] z[n, l mod M] with z = M irfft(c): the synthesis with a full-length window."""
    L, a, M = CFG.signal_length, CFG.hop, CFG.n_channels
    t = np.arange(L)
    z = M * np.fft.irfft(c.T, n=M, axis=-1)  # (N, M)
    return (w[(t[None, :] - a * np.arange(L // a)[:, None]) % L] * z[:, t % M]).sum(axis=0)


def test_window_support_transform_equals_the_full_window_one():
    # the taps cut the window where it is below float64 rounding: same transform, to rounding
    g, gd = windows(CFG)
    x = np.random.default_rng(3).standard_normal(CFG.signal_length)
    c = dgt(x)
    np.testing.assert_allclose(c, _dense_dgt(x, g), rtol=0, atol=1e-12)
    np.testing.assert_allclose(idgt(c), _dense_idgt(c, gd), rtol=0, atol=1e-12)


def test_batched_dgt_equals_one_clip_at_a_time():
    x = np.random.default_rng(4).standard_normal((3, CFG.signal_length))
    c = dgt(x)
    for i in range(3):
        np.testing.assert_array_equal(c[i], dgt(x[i]))
        np.testing.assert_array_equal(idgt(c)[i], idgt(c[i]))


def test_perfect_reconstruction_numpy():
    x = np.random.default_rng(0).standard_normal((3, CFG.signal_length))
    np.testing.assert_allclose(idgt(dgt(x)), x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_torch_dgt_equals_numpy_and_reconstructs(dtype, tol):
    x = np.random.default_rng(1).standard_normal((2, 3, CFG.signal_length))
    xt = torch.tensor(x, dtype=dtype)
    ct = dgt(xt)
    assert ct.shape == (2, 3, 257, 128) and ct.device == xt.device
    np.testing.assert_allclose(ct.numpy(), dgt(x), rtol=0, atol=tol * 100)
    np.testing.assert_allclose(idgt(ct).numpy(), x, rtol=0, atol=tol * 10)


# ------------------------------------------------------------------ log-magnitude
@needs_ref
def test_logmag_and_target_match_reference():
    spec = audio_to_spectrogram(ref("wav16k"))
    assert spec.shape == (5, 256, 128) and spec.dtype == np.float32
    np.testing.assert_allclose(spec, ref("logmag_norm"), rtol=0, atol=1e-6)
    np.testing.assert_allclose(logmag_from_dgt(ref("dgt")), ref("logmag_norm"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(spectrogram_to_magnitude(ref("logmag_norm")), ref("target_mag"),
                               rtol=1e-13, atol=0)
    assert spec.min() >= -1 and spec.max() == pytest.approx(1.0)


@needs_ref
def test_logmag_torch_equals_numpy():
    w = ref("wav16k")
    st = audio_to_spectrogram(torch.tensor(w))
    assert isinstance(st, torch.Tensor) and st.dtype == torch.float32 and st.shape == (5, 256, 128)
    np.testing.assert_allclose(st.numpy(), audio_to_spectrogram(w), rtol=0, atol=1e-6)
    mag_t = spectrogram_to_magnitude(torch.tensor(ref("logmag_norm")))
    np.testing.assert_allclose(mag_t.numpy(), ref("target_mag"), rtol=1e-12, atol=0)


def test_silent_clip():
    x = np.zeros((2, CFG.signal_length))
    x[0, 100] = 1.0
    with pytest.raises(SilentClipError):
        audio_to_spectrogram(x)
    with pytest.raises(SilentClipError):
        audio_to_spectrogram(torch.tensor(x))
    out = audio_to_spectrogram(x, silent="floor")
    assert np.all(out[1] == -1.0) and out[0].max() == pytest.approx(1.0)


@needs_ref
@pytest.mark.parametrize("shape", [(64, 32), (128, 64)])
def test_small_spec_shape_area_downsamples(shape):
    cfg = AudioConfig(spec_shape=shape)
    full = audio_to_spectrogram(ref("wav16k"))
    small = audio_to_spectrogram(ref("wav16k"), cfg)
    assert small.shape == (5, *shape)
    fh, fw = 256 // shape[0], 128 // shape[1]
    np.testing.assert_allclose(small[0, 0, 0], full[0, :fh, :fw].mean(), atol=1e-6)
    small_t = audio_to_spectrogram(torch.tensor(ref("wav16k")), cfg)
    np.testing.assert_allclose(small_t.numpy(), small, atol=1e-5)
    mag = spectrogram_to_magnitude(small, cfg)  # bilinear back to full size
    assert mag.shape == (5, 257, 128)


@pytest.mark.parametrize("bad, what", [(np.zeros((256, 127)), "shape"),
                                       (np.full((256, 128), np.nan), "NaN"),
                                       (np.full((256, 128), np.inf), "inf")])
def test_bad_spectrogram(bad, what):
    with pytest.raises(BadSpectrogramError, match=what):
        spectrogram_to_magnitude(bad)
    with pytest.raises(BadSpectrogramError, match=what):
        spectrogram_to_magnitude(torch.tensor(bad))


def test_config_key_and_validation():
    assert AudioConfig().key() == AudioConfig().key()
    assert AudioConfig().key() != AudioConfig(spec_shape=(64, 32)).key()
    with pytest.raises(ValueError):
        AudioConfig(spec_shape=(100, 128))


def test_lazy_reexport_of_spectrogram_to_audio():
    from ggan_lib.audio.pghi import spectrogram_to_audio
    assert audio.spectrogram_to_audio is spectrogram_to_audio


# ------------------------------------------------------------------ loading
@needs_ref
def test_load_matches_reference_resampling():
    x = load_audio(FSDD / "0_george_0.wav")
    assert x.shape == (16384,) and x.dtype == np.float32
    np.testing.assert_allclose(x, ref("wav16k")[0], atol=1e-6)


def _tone(n, sr=16000):
    """A 440 Hz tone of n samples."""
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / sr)).astype(np.float32)


def test_corrupt_file(tmp_path):
    p = tmp_path / "junk.wav"
    p.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(CorruptAudioError, match="junk.wav"):
        load_audio(p)
    txt = tmp_path / "notes.flac"
    txt.write_text("this is not audio")
    with pytest.raises(CorruptAudioError, match="notes.flac"):
        load_audio(txt)


def test_empty_files(tmp_path):
    zero_bytes = tmp_path / "zero.wav"
    zero_bytes.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="zero.wav"):
        load_audio(zero_bytes)
    no_frames = tmp_path / "noframes.wav"
    sf.write(no_frames, np.zeros(0, np.float32), 16000)
    with pytest.raises(EmptyAudioError, match="noframes.wav"):
        load_audio(no_frames)
    with pytest.raises(EmptyAudioError):
        prepare_waveform(np.zeros(0), 16000)


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_truncated_file(tmp_path, fmt):
    full = tmp_path / f"full.{fmt.lower()}"
    sf.write(full, _tone(16000), 16000, format=fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(CorruptAudioError, match="cut"):
        load_audio(cut)
    if fmt == "WAV":  # the header check names the problem
        with pytest.raises(TruncatedAudioError, match="truncated"):
            load_audio(cut)


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = _tone(8000), np.linspace(-0.5, 0.5, 8000, dtype=np.float32)
    p = tmp_path / "stereo.wav"
    sf.write(p, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    x = load_audio(p)
    np.testing.assert_allclose(x[:8000], (left + right) / 2, atol=1e-6)
    assert np.all(x[8000:] == 0)


def test_other_rate_is_resampled(tmp_path):
    p = tmp_path / "tone48k.flac"
    sf.write(p, _tone(24000, 48000), 48000)  # 0.5 s at 48 kHz
    x = load_audio(p)
    assert x.shape == (16384,)
    assert np.abs(x[:7800]).max() > 0.25 and np.all(np.abs(x[8100:]) < 1e-3)
    peak_bin = np.argmax(np.abs(np.fft.rfft(x[:8000])))  # 440 Hz survives resampling
    assert abs(peak_bin * 16000 / 8000 - 440) <= 2


def test_long_clip_is_cut_with_warning_or_strict_error(tmp_path):
    p = tmp_path / "long.wav"
    sf.write(p, _tone(40000), 16000)
    with pytest.warns(UserWarning, match="cut"):
        x = load_audio(p)
    np.testing.assert_allclose(x[:16000], _tone(40000)[:16000], atol=1e-4)
    assert np.all(x[16000:] == 0)
    with pytest.raises(AudioError, match="long.wav"):
        load_audio(p, strict=True)


def test_integer_pcm_is_scaled():
    pcm = np.array([0, 16384, -32768], dtype=np.int16)
    np.testing.assert_allclose(prepare_waveform(pcm, 16000)[:3], [0, 0.5, -1])


def test_half_precision_torch_input():
    x = torch.randn(2, CFG.signal_length)
    st = audio_to_spectrogram(x.to(torch.bfloat16))
    assert st.dtype == torch.float32 and st.shape == (2, 256, 128)


def test_missing_file_and_nonfinite_samples(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(CorruptAudioError, match="NaN"):
        prepare_waveform(np.array([0.0, np.nan]), 16000)


LONG = AudioConfig(signal_length=65536, spec_shape=(256, 512))  # 128 blocks: 4 chunks of 32


@pytest.mark.parametrize("chunk", [3, 32])
def test_chunked_transforms_equal_the_whole_clip_at_once(chunk):
    # the DGT runs chunk by chunk of blocks: bit for bit what one pass over the whole clip gives,
    # also for chunks that do not divide R; the inverse DGT is the same whatever the chunks
    from ggan_lib.audio.gabor import _Work
    x = np.random.default_rng(5).standard_normal(LONG.signal_length)
    whole, part = _Work(LONG, np.float64, chunk_blocks=128), _Work(LONG, np.float64, chunk_blocks=chunk)
    assert len(whole.chunks) == 1 and len(part.chunks) == -(-128 // chunk)
    c1, c2 = np.empty((512, 257), complex), np.empty((512, 257), complex)
    whole.dgt(x, c1)
    part.dgt(x, c2)
    np.testing.assert_array_equal(c1, c2)
    y1, y2 = np.empty(LONG.signal_length), np.empty(LONG.signal_length)
    whole.idgt(c1, y1)
    part.idgt(c1, y2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_allclose(y1, x, rtol=0, atol=1e-12)


def test_numpy_fallback_kernels_equal_the_compiled_ones(monkeypatch):
    # without numba the transforms run on the numpy versions of the kernels: same values to rounding
    from ggan_lib.audio import kernels
    x = np.random.default_rng(6).standard_normal(LONG.signal_length)
    c, y = dgt(x, LONG), idgt(dgt(x, LONG), LONG)
    for name in ("analysis", "synthesis", "synthesis_add"):
        monkeypatch.setattr(kernels, name, getattr(kernels, f"_{name}_np"))
    np.testing.assert_allclose(dgt(x, LONG), c, rtol=0, atol=1e-13)
    np.testing.assert_allclose(idgt(c, LONG), y, rtol=0, atol=1e-13)
