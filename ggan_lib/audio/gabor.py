"""The exact Gabor transform: ltfat's real DGT and its inverse with the canonical dual window, numpy and torch.

Conventions (design note section 1, reference ``shared/reference/ltfat-tifresi``): hop a = 128,
M = 512 channels, a Gaussian window g[l] = exp(-pi l^2 / (a M)) as long as the signal (l circular in
[-L/2, L/2)), unit l2 norm, 'freqinv' phase: c[m, n] = sum_l x[l] g[(l - n a) mod L] exp(-2 pi i m l / M).
The torch versions are batched and run on the input's device.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ggan_lib.audio.load import AudioError, BadSpectrogramError
from ggan_lib.config import AudioConfig

try:  # torch is a hard dependency of the package, but keep numpy paths importable without it
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _is_torch(x) -> bool:
    """True for a torch tensor."""
    return torch is not None and isinstance(x, torch.Tensor)


# --------------------------------------------------------------------------- windows
def gauss_window(L: int = 16384, a: int = 128, M: int = 512) -> np.ndarray:
    """Unit-norm periodic Gaussian exp(-pi l^2 / (a M)), l circular in [-L/2, L/2); (L,) float64."""
    idx = np.arange(L, dtype=np.float64)
    idx = np.where(idx < L // 2, idx, idx - L)  # circular index l centred on 0
    g = np.exp(-np.pi * idx**2 / (a * M))
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
    if _is_torch(x):
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
    if _is_torch(c):
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


