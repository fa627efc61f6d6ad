"""The TiFGAN log-magnitude: DGT coefficients -> log(max(|c| / max|c|, e^-10)) / 5 + 1, Nyquist row dropped,
area-downsampled to AudioConfig.spec_shape; and back to a linear magnitude for phase reconstruction.

The network sees (..., 256, 128) in [-1, 1] (frequency x time), smaller for the reduced presets.
The inverse direction to audio (``spectrogram_to_audio``) lives in :mod:`ggan_lib.audio.pghi`.
"""
from __future__ import annotations

import numpy as np

from ggan_lib.audio.gabor import _dgt_torch, _is_torch, dgt, torch
from ggan_lib.audio.load import BadSpectrogramError, SilentClipError
from ggan_lib.config import AudioConfig


# --------------------------------------------------------------------------- log-magnitude
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
    logs = spectrogram_to_logmag(spec, cfg)
    return torch.exp(logs) if _is_torch(logs) else np.exp(logs)


def spectrogram_to_logmag(spec, cfg: AudioConfig = AudioConfig()):
    """Network log-magnitude (..., H, W) -> natural log-magnitude ln|c| (..., M/2+1, N): the log
    of :func:`spectrogram_to_magnitude`, 5 (x - 1) with the Nyquist row at -10."""
    check_spectrogram(spec, cfg)
    scale = -cfg.log_floor / 2.0
    if _is_torch(spec):
        x = _area_up(spec if spec.is_floating_point() else spec.float(), cfg)
        s = scale * (x - 1.0)
        return torch.cat([s, torch.full_like(s[..., :1, :], float(cfg.log_floor))], dim=-2)
    s = scale * (_area_up(np.asarray(spec, dtype=np.float64), cfg) - 1.0)
    return np.concatenate([s, np.full_like(s[..., :1, :], cfg.log_floor)], axis=-2)
