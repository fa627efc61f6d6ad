"""Loading audio: any file to a mono 16 kHz clip of L samples, and the audio / spectrogram input errors.

Audio is mono, 16 kHz, cut/padded to 16,000 samples then zero-padded to L = 16,384 (design note section 1).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from ggan_lib.config import AudioConfig  # noqa: F401  (re-exported by ggan_lib.audio)


# --------------------------------------------------------------------------- errors
class AudioError(ValueError):
    """Base class of every audio / spectrogram input error."""


class CorruptAudioError(AudioError):
    """The file is not readable audio (corrupt, truncated or not audio at all)."""


class TruncatedAudioError(CorruptAudioError):
    """The file's header promises more audio than the file holds."""


class EmptyAudioError(AudioError):
    """The file or array holds zero samples."""


class SilentClipError(AudioError):
    """The clip is all zeros, so its log-magnitude normalisation is undefined."""


class BadSpectrogramError(AudioError):
    """A spectrogram has the wrong shape or holds NaN / inf."""


# --------------------------------------------------------------------------- header checks
MIN_RATE, MAX_RATE = 1000, 768_000  # Hz: sample rates outside this are a corrupt header, not audio
MAX_CHANNELS = 64                   # more channels than this is a corrupt header
MAX_SECONDS = 600.0                 # the librosa fallback decodes at most this much of a file
RESAMPLE_MARGIN_S = 0.25            # source audio kept past the clip end so the resampler's filter sees it


def check_format(sr, channels: int, name: str) -> None:
    """CorruptAudioError for an absurd sample rate or channel count (checked before anything is decoded)."""
    if not isinstance(sr, (int, float)) or not math.isfinite(sr) or not MIN_RATE <= sr <= MAX_RATE:
        raise CorruptAudioError(f"{name}: sample rate {sr} Hz outside [{MIN_RATE}, {MAX_RATE}]: a corrupt header")
    if not 1 <= int(channels) <= MAX_CHANNELS:
        raise CorruptAudioError(f"{name}: {channels} channels outside [1, {MAX_CHANNELS}]: a corrupt header")


def _riff_chunk(path: Path, chunk_id: bytes) -> tuple[int, int, bytes] | None:
    """(offset, declared size, first 8 body bytes) of a RIFF/WAVE file's first ``chunk_id`` chunk, read by hand;
    None when the file is not RIFF/WAVE or has no such chunk."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            n = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == chunk_id:
                return offset, n, f.read(8)
            offset += 8 + n + (n & 1)  # chunks are word aligned
    return None


def _wav_format(path: Path) -> tuple[int, int] | None:
    """(sample rate, channels) of a RIFF/WAVE file's 'fmt ' chunk; None if it has none."""
    found = _riff_chunk(path, b"fmt ")
    if found is None or len(found[2]) < 8:
        return None
    fmt = found[2]
    return int.from_bytes(fmt[4:8], "little"), int.from_bytes(fmt[2:4], "little")


# --------------------------------------------------------------------------- loading
def _wav_missing_bytes(path: Path) -> int:
    """Bytes a RIFF/WAVE file's 'data' chunk declares beyond the end of the file (0 if none).

    libsndfile silently shortens a truncated WAV, so the header is checked by hand. Streaming
    writers leave the size 0 or 0xFFFFFFFF: those are not reported.
    """
    found = _riff_chunk(path, b"data")
    if found is None:
        return 0
    offset, n, _ = found
    missing = offset + 8 + n - path.stat().st_size
    return missing if 0 < n < 0xFFFFFFFF and missing > 0 else 0


def _read_file(path: Path):
    """Read any audio file to (frames, channels) float32 and its rate; soundfile first."""
    import soundfile as sf

    fmt = _wav_format(path)
    if fmt is not None:
        check_format(*fmt, str(path))
    missing = _wav_missing_bytes(path)
    if missing:
        raise TruncatedAudioError(f"{path}: truncated WAV file, {missing} bytes of audio data missing")
    try:
        with sf.SoundFile(str(path)) as f:
            check_format(f.samplerate, f.channels, str(path))  # before decoding a single frame
            declared = f.frames
            data = f.read(dtype="float32", always_2d=True)
            sr = f.samplerate
    except (sf.LibsndfileError, RuntimeError) as err:  # soundfile's errors are RuntimeErrors
        sf_err = err
    else:
        if 0 < declared and data.shape[0] < declared:
            raise TruncatedAudioError(f"{path}: truncated file, {data.shape[0]} of {declared} "
                                      "frames readable")
        return data, sr
    # soundfile cannot read e.g. mp3 on old libsndfile: fall back to librosa/audioread
    try:
        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, sr = librosa.load(str(path), sr=None, mono=False, duration=MAX_SECONDS)
    except Exception as err:  # noqa: BLE001 - any failure here means "not audio"
        raise CorruptAudioError(f"{path}: not readable audio, corrupt or truncated "
                                f"(soundfile: {sf_err}; fallback: {type(err).__name__})") from err
    y = np.atleast_2d(np.asarray(y, dtype=np.float32)).T  # (frames, channels)
    check_format(sr, y.shape[1], str(path))
    return y, sr


def load_audio(path, cfg: AudioConfig = AudioConfig(), *, strict: bool = False) -> np.ndarray:
    """Load an audio file as a float32 (cfg.signal_length,) mono 16 kHz clip (see prepare_waveform)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise EmptyAudioError(f"{path}: file is empty (0 bytes)")
    data, sr = _read_file(path)
    return prepare_waveform(data, sr, cfg, strict=strict, name=str(path))


def prepare_waveform(wave, sr: int, cfg: AudioConfig = AudioConfig(), *, strict: bool = False,
                     name: str = "<array>") -> np.ndarray:
    """Mono-mix, resample, cut/pad an array to a float32 (cfg.signal_length,) clip.

    ``wave`` is (frames,) or (frames, channels); channels are averaged (mono mix). A clip longer
    than ``cfg.clip_samples`` after resampling is cut (a warning is issued; ``strict=True`` raises
    AudioError instead). Integer PCM is scaled to [-1, 1). NaN / inf samples raise CorruptAudioError.
    """
    x = np.asarray(wave)
    if np.issubdtype(x.dtype, np.integer):  # e.g. int16 from scipy.io.wavfile
        x = x / float(2 ** (8 * x.dtype.itemsize - 1))
    x = x.astype(np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)  # (frames, ch) -> (frames,): mono mix by averaging
    elif x.ndim != 1:
        raise AudioError(f"{name}: expected (frames,) or (frames, channels), got shape {x.shape}")
    if x.size == 0:
        raise EmptyAudioError(f"{name}: audio holds 0 samples")
    if not np.all(np.isfinite(x)):
        raise CorruptAudioError(f"{name}: audio holds NaN or inf samples")
    check_format(sr, 1, name)
    n = cfg.clip_samples
    n_out = math.ceil(x.shape[0] * cfg.sample_rate / int(sr))  # length after resampling (librosa's rule)
    if n_out > n:
        msg = f"{name}: {n_out} samples > {n} at {cfg.sample_rate} Hz; cut to the first {n}"
        if strict:
            raise AudioError(msg)
        warnings.warn(msg, stacklevel=2)
    if int(sr) != cfg.sample_rate:
        import librosa

        # cut first (a long file is not resampled whole), keeping a margin past the clip end for the filter
        keep = math.ceil((n / cfg.sample_rate + RESAMPLE_MARGIN_S) * int(sr))
        # soxr_hq is what the reference (wav16k.npy) used
        x = librosa.resample(x[:keep], orig_sr=int(sr), target_sr=cfg.sample_rate, res_type="soxr_hq")
    out = np.zeros(cfg.signal_length, dtype=np.float32)
    out[: min(n, x.shape[0])] = x[:n]
    return out


