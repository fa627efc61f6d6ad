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


def fgla_clip(c, mag, cfg: AudioConfig, n_iter: int, alpha: float, signal=None, work=None):
    """FGLA of one clip in the frame-major layout: c (N, M/2+1) complex, mag (N, M/2+1) real
    (neither is modified). Returns the refined (N, M/2+1) coefficients; with ``signal`` (an (L,)
    array of the work's real dtype), also writes their inverse DGT there.

    The momentum step runs on signals, not coefficients: the inverse DGT is linear, so with
    y_n = idgt(c_n), idgt(c_n + alpha (c_n - c_{n-1})) = y_n + alpha (y_n - y_{n-1}). An iteration
    is then, chunk by chunk of frames (``_Work.chunks``), the DGT of x_n, the projection onto the
    magnitude and the synthesis of the result while those frames are in cache, then S^-1 and the
    momentum on two signals: the state read per iteration is mag and three signal-sized arrays,
    not three coefficient arrays (equal to the coefficient-domain loop to rounding).

    ``work``: a ``gabor._Work`` of cfg and c's precision to use for scratch (a batch's clips share
    one per thread); default a new one."""
    work = _Work(cfg, c.dtype) if work is None else work  # scratch arrays for all iterations
    real = work.real
    c = np.ascontiguousarray(c, dtype=work.cplx)
    mag = np.ascontiguousarray(mag, dtype=real)
    out = np.array(c)
    if n_iter <= 0:
        if signal is not None:
            work.idgt(out, signal)
        return out
    x, y = np.empty(cfg.signal_length, dtype=real), np.empty(cfg.signal_length, dtype=real)
    work.idgt(c, x)  # x_0 = idgt(t_0), t_0 = c_0
    y[:] = x  # y_0
    steps = [(p0, p1, f0, f1, mag[f0:f1].ravel()) for p0, p1, f0, f1 in work.chunks]
    for it in range(n_iter):
        last = it == n_iter - 1
        work.u[:] = 0.0
        for p0, p1, f0, f1, m in steps:
            proj = out[f0:f1] if last else work.proj[:f1 - f0]
            work.dgt_rows(x, p0, p1, proj)  # nearest consistent coefficients, these frames
            kernels.fgla_project(proj.ravel().view(real), m)  # c_{n+1} = mag proj / |proj|
            if not last or signal is not None:
                work.synthesis_add_rows(proj, p0, p1)
        if last:
            break
        work.inverse_frame_operator(x)  # x = y_{n+1}
        kernels.fgla_momentum(x, y, alpha)  # y = y_{n+1}, x = y_{n+1} + alpha (y_{n+1} - y_n)
    if signal is not None:
        work.inverse_frame_operator(signal)
    return out


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
