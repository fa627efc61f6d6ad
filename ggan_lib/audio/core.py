"""Audio front end: loading, the exact Gabor transform (DGT) and the TiFGAN log-magnitude.

Conventions (design note section 1, reference ``shared/reference/ltfat-tifresi``):

* audio is mono, 16 kHz, cut/padded to 16,000 samples then zero-padded to L = 16,384;
* the transform is ltfat's real DGT with hop a = 128, M = 512 channels, a Gaussian window
  g[l] = exp(-pi l^2 / (a M)) as long as the signal (l circular in [-L/2, L/2)), unit l2 norm,
  'freqinv' phase: c[m, n] = sum_l x[l] g[(l - n a) mod L] exp(-2 pi i m l / M);
* the network sees log(max(|c| / max|c|, e^-10)) / 5 + 1 with the Nyquist row dropped:
  (..., 256, 128) in [-1, 1] (frequency x time).

Both numpy and torch versions exist; the torch ones are batched and run on the input's device.
The inverse direction (``spectrogram_to_audio``) lives in :mod:`ggan_lib.audio.pghi`.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from ggan_lib.config import AudioConfig  # noqa: F401  (re-exported)

try:  # torch is a hard dependency of the package, but keep numpy paths importable without it
    import torch
except ImportError:  # pragma: no cover
    torch = None


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


# --------------------------------------------------------------------------- config
# --------------------------------------------------------------------------- loading
def _wav_missing_bytes(path: Path) -> int:
    """Bytes a RIFF/WAVE file's 'data' chunk declares beyond the end of the file (0 if none).

    libsndfile silently shortens a truncated WAV, so the header is checked by hand. Streaming
    writers leave the size 0 or 0xFFFFFFFF: those are not reported.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            n = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                missing = offset + 8 + n - size
                return missing if 0 < n < 0xFFFFFFFF and missing > 0 else 0
            offset += 8 + n + (n & 1)  # chunks are word aligned
    return 0


def _read_file(path: Path):
    """Read any audio file to (frames, channels) float32 and its rate; soundfile first."""
    import soundfile as sf

    missing = _wav_missing_bytes(path)
    if missing:
        raise TruncatedAudioError(f"{path}: truncated WAV file, {missing} bytes of audio data missing")
    try:
        with sf.SoundFile(str(path)) as f:
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
            y, sr = librosa.load(str(path), sr=None, mono=False)
    except Exception as err:  # noqa: BLE001 - any failure here means "not audio"
        raise CorruptAudioError(f"{path}: not readable audio, corrupt or truncated "
                                f"(soundfile: {sf_err}; fallback: {type(err).__name__})") from err
    y = np.atleast_2d(np.asarray(y, dtype=np.float32)).T  # (frames, channels)
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
    if int(sr) != cfg.sample_rate:
        import librosa

        # soxr_hq is what the reference (wav16k.npy) used
        x = librosa.resample(x, orig_sr=int(sr), target_sr=cfg.sample_rate, res_type="soxr_hq")
    n = cfg.clip_samples
    if x.shape[0] > n:
        msg = f"{name}: {x.shape[0]} samples > {n} at {cfg.sample_rate} Hz; cut to the first {n}"
        if strict:
            raise AudioError(msg)
        warnings.warn(msg, stacklevel=2)
    out = np.zeros(cfg.signal_length, dtype=np.float32)
    out[: min(n, x.shape[0])] = x[:n]
    return out


# --------------------------------------------------------------------------- windows
def gauss_window(L: int = 16384, a: int = 128, M: int = 512) -> np.ndarray:
    """Unit-norm periodic Gaussian exp(-pi l^2 / (a M)), l circular in [-L/2, L/2); (L,) float64."""
    l = np.arange(L, dtype=np.float64)
    l = np.where(l < L // 2, l, l - L)  # circular index centred on 0
    g = np.exp(-np.pi * l**2 / (a * M))
    return g / np.linalg.norm(g)


def _polyphase(g: np.ndarray, a: int, M: int) -> np.ndarray:
    """Window as (M/a, L/M, M) blocks gq[q, r, j] = g[(r M + j - q a) mod L]."""
    L = g.shape[-1]
    q = np.arange(M // a)[:, None, None]
    r = np.arange(L // M)[None, :, None]
    j = np.arange(M)[None, None, :]
    return g[(r * M + j - q * a) % L]


def canonical_dual(g: np.ndarray, a: int, M: int) -> np.ndarray:
    """Exact canonical dual window S^-1 g of the Gabor frame (g, a, M) (ltfat ``gabdual``).

    The frame operator of a Gabor system with modulation step 1/M only couples samples
    l and l' with l = l' (mod M): S[l, l'] = M sum_n g[l - n a] g[l' - n a]. So S splits into
    M independent (L/M x L/M) blocks, one per residue j; solve each exactly.
    """
    L = g.shape[-1]
    N, R = L // a, L // M
    j = np.arange(M)[:, None, None]
    k = np.arange(R)[None, :, None]
    n = np.arange(N)[None, None, :]
    G = g[(j + k * M - n * a) % L]  # (M, R, N): g[j + kM - na]
    S = M * G @ G.transpose(0, 2, 1)  # (M, R, R) blocks of the frame operator
    rhs = g.reshape(R, M).T[..., None]  # (M, R, 1): g[j + kM]
    gd = np.linalg.solve(S, rhs)[..., 0]  # (M, R)
    return gd.T.reshape(L)


@lru_cache(maxsize=8)
def _windows_np(L: int, a: int, M: int):
    """Cached (g, gd, FFT'd polyphase of g, FFT'd polyphase of gd) for a lattice."""
    g = gauss_window(L, a, M)
    gd = canonical_dual(g, a, M)
    # analysis is a circular correlation over blocks r, synthesis a convolution: precompute FFTs
    Gf = np.conj(np.fft.fft(_polyphase(g, a, M), axis=1))  # (M/a, L/M, M)
    Gdf = np.fft.fft(_polyphase(gd, a, M), axis=1)  # (M/a, L/M, M)
    for arr in (g, gd, Gf, Gdf):
        arr.setflags(write=False)
    return g, gd, Gf, Gdf


def windows(cfg: AudioConfig = AudioConfig()):
    """The analysis window g and its canonical dual gd, each (L,) float64 (cached)."""
    g, gd, _, _ = _windows_np(cfg.signal_length, cfg.hop, cfg.n_channels)
    return g, gd


# --------------------------------------------------------------------------- DGT numpy
def dgt(x, cfg: AudioConfig = AudioConfig()):
    """Real DGT ('freqinv') of (..., L) signals -> complex (..., M/2+1, N); numpy or torch."""
    if torch is not None and isinstance(x, torch.Tensor):
        return _dgt_torch(x, cfg)
    L, a, M = cfg.signal_length, cfg.hop, cfg.n_channels
    x = np.asarray(x)
    _check_len(x.shape, L)
    _, _, Gf, _ = _windows_np(L, a, M)
    Q, R = M // a, L // M
    xb = x.reshape(*x.shape[:-1], R, M)  # (..., R, M): x[k M + j]
    Xf = np.fft.fft(xb, axis=-2)  # (..., R, M)
    # y[p, q, j] = sum_k x[k, j] g[(k - p) M + j - q a]: a circular correlation over k
    Y = np.fft.ifft(Xf[..., None, :, :] * Gf, axis=-2)  # (..., Q, R, M), index [q, p, j]
    Y = np.swapaxes(Y, -3, -2).real  # (..., R, Q, M): frame n = p Q + q
    Y = Y.reshape(*x.shape[:-1], R * Q, M)  # (..., N, M) windowed frames folded onto M
    c = np.fft.rfft(Y, axis=-1)  # (..., N, M/2+1)
    return np.swapaxes(c, -1, -2)  # (..., M/2+1, N)


def idgt(c, cfg: AudioConfig = AudioConfig()):
    """Inverse real DGT with the canonical dual window: (..., M/2+1, N) -> real (..., L)."""
    if torch is not None and isinstance(c, torch.Tensor):
        return _idgt_torch(c, cfg)
    L, a, M = cfg.signal_length, cfg.hop, cfg.n_channels
    c = np.asarray(c)
    Q, R, N = M // a, L // M, L // a
    _check_coef(c.shape, M // 2 + 1, N)
    _, _, _, Gdf = _windows_np(L, a, M)
    z = M * np.fft.irfft(np.swapaxes(c, -1, -2), n=M, axis=-1)  # (..., N, M)
    z = z.reshape(*z.shape[:-2], R, Q, M)  # frame n = p Q + q -> [p, q, j]
    Zf = np.fft.fft(np.swapaxes(z, -3, -2), axis=-2)  # (..., Q, R, M) FFT over p
    # x[k, j] = sum_q sum_p gd[(k - p) M + j - q a] z[p, q, j]: a circular convolution over p
    xb = np.fft.ifft((Zf * Gdf).sum(axis=-3), axis=-2).real  # (..., R, M)
    return xb.reshape(*xb.shape[:-2], L)


def _check_len(shape, L):
    """Raise AudioError unless the last axis is L."""
    if len(shape) == 0 or shape[-1] != L:
        raise AudioError(f"expected signals of length {L} on the last axis, got shape {tuple(shape)}")


def _check_coef(shape, F, N):
    """Raise BadSpectrogramError unless the last two axes are (F, N)."""
    if len(shape) < 2 or tuple(shape[-2:]) != (F, N):
        raise BadSpectrogramError(f"expected DGT coefficients (..., {F}, {N}), got shape {tuple(shape)}")


# --------------------------------------------------------------------------- DGT torch
@lru_cache(maxsize=16)
def _windows_torch_cached(L: int, a: int, M: int, device: str, cdtype):
    """Polyphase window FFTs as complex tensors on ``device`` (cached per device and dtype)."""
    _, _, Gf, Gdf = _windows_np(L, a, M)
    return (torch.tensor(np.array(Gf), dtype=cdtype, device=device),
            torch.tensor(np.array(Gdf), dtype=cdtype, device=device))


def _windows_torch(cfg: AudioConfig, device, dtype):
    """Polyphase window FFTs on the input's device, complex64 for float32 input else complex128."""
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    return _windows_torch_cached(cfg.signal_length, cfg.hop, cfg.n_channels, str(device), cdtype)


def _dgt_torch(x, cfg: AudioConfig):
    """Torch version of :func:`dgt` (same layout), on x's device, float32 or float64."""
    L, a, M = cfg.signal_length, cfg.hop, cfg.n_channels
    _check_len(tuple(x.shape), L)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()  # ints, half and bfloat16: no FFT support / precision on every device
    Gf, _ = _windows_torch(cfg, x.device, x.dtype)
    Q, R = M // a, L // M
    lead = x.shape[:-1]
    Xf = torch.fft.fft(x.reshape(*lead, R, M), dim=-2)  # (..., R, M)
    Y = torch.fft.ifft(Xf.unsqueeze(-3) * Gf, dim=-2).real  # (..., Q, R, M)
    Y = Y.transpose(-3, -2).reshape(*lead, R * Q, M)  # (..., N, M)
    return torch.fft.rfft(Y, dim=-1).transpose(-1, -2)  # (..., M/2+1, N)


def _idgt_torch(c, cfg: AudioConfig):
    """Torch version of :func:`idgt`, on c's device."""
    L, a, M = cfg.signal_length, cfg.hop, cfg.n_channels
    Q, R, N = M // a, L // M, L // a
    _check_coef(tuple(c.shape), M // 2 + 1, N)
    real_dtype = torch.float64 if c.dtype == torch.complex128 else torch.float32
    _, Gdf = _windows_torch(cfg, c.device, real_dtype)
    z = M * torch.fft.irfft(c.transpose(-1, -2), n=M, dim=-1)  # (..., N, M)
    lead = z.shape[:-2]
    z = z.reshape(*lead, R, Q, M).transpose(-3, -2)  # (..., Q, R, M)
    Zf = torch.fft.fft(z, dim=-2)
    xb = torch.fft.ifft((Zf * Gdf).sum(dim=-3), dim=-2).real  # (..., R, M)
    return xb.reshape(*lead, L)


# --------------------------------------------------------------------------- log-magnitude
def _is_torch(x) -> bool:
    """True for a torch tensor."""
    return torch is not None and isinstance(x, torch.Tensor)


def logmag_from_dgt(c, cfg: AudioConfig = AudioConfig(), *, silent: str = "raise"):
    """TiFGAN log-magnitude of DGT coefficients: (..., M/2+1, N) -> (..., M/2, N) in [-1, 1].

    Per clip |c| / max|c|, natural log, floor at cfg.log_floor, / (-log_floor / 2) + 1, Nyquist
    row dropped. An all-zero clip raises SilentClipError, or gives all -1 with ``silent='floor'``.
    """
    lib = torch if _is_torch(c) else np
    mag = abs(c)
    peak = mag.amax(dim=(-2, -1), keepdim=True) if lib is torch else mag.max(axis=(-2, -1), keepdims=True)
    is_silent = peak <= 0
    if bool(is_silent.any()):
        if silent != "floor":
            n = int(is_silent.sum())
            raise SilentClipError(f"{n} clip(s) are all zeros (max |c| = 0); cannot normalise")
        peak = lib.where(is_silent, lib.ones_like(peak), peak)
    floor = cfg.log_floor
    rel = mag / peak
    if lib is torch:
        s = torch.log(torch.clamp(rel, min=float(np.exp(floor))))
    else:
        s = np.log(np.maximum(rel, np.exp(floor)))
    scale = -floor / 2.0  # 5 for floor -10: maps [floor, 0] onto [-1, 1]
    return (s / scale + 1.0)[..., :-1, :]


def audio_to_spectrogram(wave, cfg: AudioConfig = AudioConfig(), *, silent: str = "raise"):
    """Waveforms (..., L) -> float32 log-magnitude (..., H, W) in [-1, 1], numpy or torch.

    H, W = cfg.spec_shape; when smaller than (M/2, N) the full log-magnitude is area-downsampled
    (block mean). torch input stays on its device. See :func:`logmag_from_dgt` for ``silent``.
    """
    if _is_torch(wave):
        spec = logmag_from_dgt(_dgt_torch(wave, cfg), cfg, silent=silent)
        return _area_down(spec, cfg).to(torch.float32)
    x = np.asarray(wave, dtype=np.float64)
    spec = logmag_from_dgt(dgt(x, cfg), cfg, silent=silent)
    return _area_down(spec, cfg).astype(np.float32)


def _area_down(spec, cfg: AudioConfig):
    """Block-mean (..., M/2, N) down to (..., H, W) = cfg.spec_shape."""
    Hf, Wf = cfg.full_shape
    H, W = cfg.spec_shape
    if (H, W) == (Hf, Wf):
        return spec
    lead = spec.shape[:-2]
    blocks = spec.reshape(*lead, H, Hf // H, W, Wf // W)
    return blocks.mean(dim=(-3, -1)) if _is_torch(spec) else blocks.mean(axis=(-3, -1))




def _area_up(spec, cfg: AudioConfig):
    """Bilinear upsampling (..., H, W) -> (..., M/2, N), the inverse of :func:`_area_down`."""
    Hf, Wf = cfg.full_shape
    if tuple(spec.shape[-2:]) == (Hf, Wf):
        return spec
    t = spec if _is_torch(spec) else torch.from_numpy(np.ascontiguousarray(spec))
    lead = t.shape[:-2]
    flat = t.reshape(-1, 1, *t.shape[-2:])
    up = torch.nn.functional.interpolate(flat, size=(Hf, Wf), mode="bilinear", align_corners=False)
    up = up.reshape(*lead, Hf, Wf)
    return up if _is_torch(spec) else up.numpy()


def check_spectrogram(spec, cfg: AudioConfig = AudioConfig()):
    """Raise BadSpectrogramError unless spec is (..., H, W) = cfg.spec_shape and finite."""
    shape = tuple(spec.shape)
    if len(shape) < 2 or shape[-2:] != cfg.spec_shape:
        raise BadSpectrogramError(f"expected a spectrogram (..., {cfg.spec_shape[0]}, "
                                  f"{cfg.spec_shape[1]}), got shape {shape}")
    finite = torch.isfinite(spec).all() if _is_torch(spec) else np.isfinite(spec).all()
    if not bool(finite):
        n_nan = int(torch.isnan(spec).sum()) if _is_torch(spec) else int(np.isnan(spec).sum())
        n_bad = int((~torch.isfinite(spec)).sum()) if _is_torch(spec) else int((~np.isfinite(spec)).sum())
        raise BadSpectrogramError(f"spectrogram of shape {shape} holds {n_nan} NaN and "
                                  f"{n_bad - n_nan} inf values")


def spectrogram_to_magnitude(spec, cfg: AudioConfig = AudioConfig()):
    """Network log-magnitude (..., H, W) in [-1, 1] -> linear DGT magnitude (..., M/2+1, N).

    Upsamples bilinearly to (M/2, N) if cfg.spec_shape is smaller, undoes x/5 + 1 and the log
    (exp(5 (x - 1))), and appends the dropped Nyquist row at the floor e^-10. float64 for numpy,
    the input's float dtype for torch.
    """
    check_spectrogram(spec, cfg)
    scale = -cfg.log_floor / 2.0
    if _is_torch(spec):
        x = _area_up(spec if spec.is_floating_point() else spec.float(), cfg)
        mag = torch.exp(scale * (x - 1.0))
        nyq = torch.full_like(mag[..., :1, :], float(np.exp(cfg.log_floor)))
        return torch.cat([mag, nyq], dim=-2)
    x = _area_up(np.asarray(spec, dtype=np.float64), cfg)
    mag = np.exp(scale * (x - 1.0))
    nyq = np.full_like(mag[..., :1, :], np.exp(cfg.log_floor))
    return np.concatenate([mag, nyq], axis=-2)
