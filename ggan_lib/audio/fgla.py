"""Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013) on the exact DGT, numpy and torch.

One iteration is one inverse DGT, one DGT and an elementwise step, all in the frame-major layout
(..., N, M/2+1) that the FFTs produce, so no transposes inside the loop. numpy works one clip at a
time (its frames stay in cache for all iterations; see :func:`fgla_clips` for threads); torch works
on the whole batch at once on the input's device.
"""
from __future__ import annotations

import numpy as np

from ggan_lib.audio import kernels
from ggan_lib.audio.gabor import _dgt_torch_nf, _idgt_torch_nf, _is_torch, _Work, torch
from ggan_lib.config import AudioConfig


def fgla(c0, mag, cfg: AudioConfig = AudioConfig(), n_iter: int = 32, alpha: float = 0.99):
    """Fast Griffin-Lim (Perraudin et al. 2013): refine coefficients c0 towards magnitude ``mag``.

    c0, mag: (..., M/2+1, N), numpy or torch (all on one device). Returns complex coefficients
    with magnitude ``mag`` (synthesise them with :func:`ggan_lib.audio.idgt`); complex64 numpy
    input is refined in float32, other numpy input in float64.
    """
    if _is_torch(c0):
        mag = torch.as_tensor(mag, device=c0.device)
        return _fgla_torch_nf(c0.transpose(-1, -2), mag.transpose(-1, -2), cfg, n_iter, alpha).transpose(-1, -2)
    c0 = np.asarray(c0)
    cdtype = np.complex64 if c0.dtype == np.complex64 else np.complex128
    mag = np.broadcast_to(np.asarray(mag), c0.shape)
    F, N = c0.shape[-2:]
    c_nf = np.ascontiguousarray(np.swapaxes(c0.reshape(-1, F, N), -1, -2), dtype=cdtype)  # (B, N, F)
    mag_nf = np.swapaxes(mag.reshape(-1, F, N), -1, -2)
    out = np.stack([fgla_clip(c_nf[b], mag_nf[b], cfg, n_iter, alpha) for b in range(c_nf.shape[0])])
    return np.swapaxes(out, -1, -2).reshape(c0.shape)


def fgla_clip(c, mag, cfg: AudioConfig, n_iter: int, alpha: float):
    """FGLA of one clip in the frame-major layout: c (N, M/2+1) complex, mag (N, M/2+1) real
    (neither is modified). Returns the refined (N, M/2+1) coefficients."""
    work = _Work(cfg, c.dtype)  # scratch arrays for all iterations
    real = work.real
    c_prev = np.array(c, dtype=work.cplx, order="C")  # C order: the kernel writes through ravel views
    t, proj = np.array(c_prev), np.empty_like(c_prev)
    x = np.empty(cfg.signal_length, dtype=real)
    mag_flat = np.ascontiguousarray(mag, dtype=real).ravel()
    for _ in range(n_iter):
        work.idgt(t, x)
        work.dgt(x, proj)  # nearest consistent coefficients
        # c = mag proj / |proj|; t = c + alpha (c - c_prev); c_prev = c (Nesterov-like momentum)
        kernels.fgla_update(proj.ravel().view(real), mag_flat, c_prev.ravel().view(real), t.ravel().view(real), alpha)
    return c_prev


def _fgla_torch_nf(c0, mag, cfg: AudioConfig, n_iter: int, alpha: float):
    """Torch FGLA on frame-major (..., N, M/2+1) coefficients, batched, on their device."""
    c_prev = c0
    t = c0
    for _ in range(n_iter):
        proj = _dgt_torch_nf(_idgt_torch_nf(t, cfg), cfg)
        m = proj.abs()
        # below the smallest normal number proj / m is inf or NaN in float32 (zero-magnitude cells of a
        # gated target, AudioConfig.floor_gate, project to subnormals): those cells take phase 0, as m = 0 does
        ok = m > torch.finfo(m.dtype).tiny
        c_new = torch.where(ok, mag * (proj / torch.where(ok, m, 1.0)), mag.to(proj.dtype))
        t = c_new + alpha * (c_new - c_prev)
        c_prev = c_new
    return c_prev
