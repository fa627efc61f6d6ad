"""The exact Gabor transform: ltfat's real DGT and its inverse with the canonical dual window, numpy and torch.

Conventions (design note section 1, reference ``shared/reference/ltfat-tifresi``): hop a = 128,
M = 512 channels, a Gaussian window g[l] = exp(-pi l^2 / (a M)) as long as the signal (l circular in
[-L/2, L/2)), unit l2 norm, 'freqinv' phase: c[m, n] = sum_l x[l] g[(l - n a) mod L] exp(-2 pi i m l / M).
The torch versions are batched and run on the input's device.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from ggan_lib.audio import kernels
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


# A window's taps (blocks of M samples) whose every value is below this fraction of its peak
# are dropped: under half an ulp of the largest term in float64, resp. far under float32's.
_TAP_EPS = {np.float64: 1e-16, np.float32: 1e-9}
# S^-1's kernel decays ~500x per block; beyond 1e-15 of its peak the FFT inversion leaves only
# rounding noise (~1e-16) where the true values are < 1e-16: those taps are dropped too.
_TAP_EPS_INV = {np.float64: 1e-15, np.float32: 1e-9}


def _taps(w: np.ndarray, a: int, M: int, eps: float, scale: float = 1.0):
    """(d0, W): the window as (M/a, D, M) blocks W[q, i, j] = scale w[((d0 + i) M + j - q a) mod L]
    over the contiguous taps d0 .. d0 + D - 1 (circular, at most L/M) where |w| > eps max|w|."""
    L = w.shape[-1]
    R = L // M
    d = np.arange(R) - R // 2  # tap offsets, centred
    q = np.arange(M // a)[:, None, None]
    j = np.arange(M)[None, None, :]
    W = scale * w[(d[None, :, None] * M + j - q * a) % L]  # (Q, R, M)
    big = np.flatnonzero(np.abs(W).max(axis=(0, 2)) > eps * np.abs(w).max())
    lo, hi = big.min(), big.max() + 1
    return int(d[lo]), np.ascontiguousarray(W[:, lo:hi])


@lru_cache(maxsize=8)
def _windows_np(L: int, a: int, M: int):
    """Cached (g, gd) of a lattice, float64, read-only."""
    g = gauss_window(L, a, M)
    gd = canonical_dual(g, a, M)
    for arr in (g, gd):
        arr.setflags(write=False)
    return g, gd


def _inverse_frame_operator(g: np.ndarray, a: int, M: int) -> np.ndarray:
    """S^-1 as a length-L 'window' h[e M + j] = h_j[e]: the frame operator of (g, a, M) acts on
    each residue j as an (L/M x L/M) circulant (see :func:`canonical_dual`), whose inverse is
    the circular convolution with h_j (computed exactly by an FFT over the blocks)."""
    L = g.shape[-1]
    R, N = L // M, L // a
    j = np.arange(M)[None, None, :]
    n = np.arange(N)[None, :, None]
    e = np.arange(R)[:, None, None]
    s = M * (g[(j + e * M - n * a) % L] * g[(j - n * a) % L]).sum(axis=1)  # (R, M): S_j[e, 0]
    return np.fft.ifft(1.0 / np.fft.fft(s, axis=0), axis=0).real.reshape(L)


@lru_cache(maxsize=16)
def _taps_cached(L: int, a: int, M: int, dtype):
    """Read-only taps in ``dtype``: analysis (d0, G); synthesis with g, (d0, M G) (M undoes the
    irfft's 1/M); and S^-1, (e0, H) with one 'frame' per block. The inverse DGT with the canonical
    dual gd = S^-1 g is S^-1 applied after the synthesis with g: 5 x M/a + 11 taps, not 15 x M/a."""
    g, _ = _windows_np(L, a, M)
    out = []
    for w, hop, scale, eps in ((g, a, 1.0, _TAP_EPS[dtype]), (g, a, float(M), _TAP_EPS[dtype]),
                               (_inverse_frame_operator(g, a, M), M, 1.0, _TAP_EPS_INV[dtype])):
        d0, W = _taps(w, hop, M, eps, scale)
        W = W.astype(dtype)
        W.setflags(write=False)
        out.append((d0, W))
    return tuple(out)


def _taps_np(cfg: AudioConfig, dtype):
    """((d0, G), (d0, M G), (e0, H)) in float32 for float32 work, else float64."""
    dtype = np.float32 if dtype == np.float32 else np.float64
    return _taps_cached(cfg.signal_length, cfg.hop, cfg.n_channels, dtype)


def windows(cfg: AudioConfig = AudioConfig()):
    """The analysis window g and its canonical dual gd, each (L,) float64 (cached)."""
    return _windows_np(cfg.signal_length, cfg.hop, cfg.n_channels)


# --------------------------------------------------------------------------- DGT numpy
def _real_dtype(x):
    """float32 for float32 / complex64 arrays, else float64."""
    return np.float32 if x.dtype in (np.float32, np.complex64) else np.float64


def dgt(x, cfg: AudioConfig = AudioConfig()):
    """Real DGT ('freqinv') of (..., L) signals -> complex (..., M/2+1, N); numpy or torch.

    float32 in, complex64 out; anything else is computed in float64 (complex128 out).
    """
    if _is_torch(x):
        return _dgt_torch(x, cfg)
    x = np.asarray(x)
    _check_len(x.shape, cfg.signal_length)
    x = x.astype(_real_dtype(x), copy=False)
    return np.swapaxes(_dgt_nf(x.reshape(-1, cfg.signal_length), cfg), -1, -2).reshape(
        *x.shape[:-1], cfg.n_channels // 2 + 1, cfg.n_frames)


def _dgt_nf(x, cfg: AudioConfig):
    """DGT of (B, L) real signals in the frame-major layout (B, N, M/2+1), one clip at a time
    (a clip's frames stay in cache between the windowing and the FFT)."""
    x = np.ascontiguousarray(x)
    work = _Work(cfg, x.dtype)
    out = np.empty((x.shape[0], cfg.n_frames, cfg.n_channels // 2 + 1), dtype=work.cplx)
    for b in range(x.shape[0]):
        work.dgt(x[b], out[b])
    return out


# Blocks of M samples per chunk of a clip's transforms (Q = M / a frames each): 32 blocks = 128 frames,
# whose real frames (256 kB in float64) and coefficients (263 kB) stay in a 1 MiB L2 cache between the
# windowing, the FFT and the FGLA step; a clip of L = 16,384 is one chunk.
_CHUNK_BLOCKS = 32


class _Work:
    """Taps and scratch arrays for one clip's transforms, reused from call to call (fresh arrays
    in a loop cost more than the FFTs: page faults), numpy float32 or float64.

    The DGT runs chunk by chunk (``chunks``: (p0, p1, f0, f1), blocks p0 .. p1 - 1 = frames
    f0 .. f1 - 1), so a long clip's frames stay in cache between the windowing and the FFT; FGLA
    also synthesises chunk by chunk (:meth:`synthesis_add_rows`). The inverse DGT alone runs over
    the whole clip (a chunked gather re-transforms the D - 1 neighbour blocks of every chunk, and
    measured slower at L = 32,768 and 65,536)."""

    def __init__(self, cfg: AudioConfig, dtype, chunk_blocks: int = _CHUNK_BLOCKS):
        L, a, M = cfg.signal_length, cfg.hop, cfg.n_channels
        self.real = np.float32 if dtype in (np.float32, np.complex64) else np.float64
        self.cplx = np.complex64 if self.real == np.float32 else np.complex128
        R, Q = L // M, M // a
        self.M, self.R, self.Q = M, R, Q
        self.taps = _taps_np(cfg, self.real)
        nb = max(1, min(chunk_blocks, R))
        self.chunks = [(p0, min(p0 + nb, R), p0 * Q, min(p0 + nb, R) * Q) for p0 in range(0, R, nb)]
        self.frames = np.empty((R * Q, M), dtype=self.real)  # frames (real, folded onto M)
        self.proj = np.empty((nb * Q, M // 2 + 1), dtype=self.cplx)  # one chunk's coefficients
        self.u = np.empty((R, M), dtype=self.real)  # D_g^* c, before S^-1

    def dgt_rows(self, x, p0, p1, out):
        """out (Q (p1 - p0), M/2+1) = the DGT's frames of blocks p0 .. p1 - 1 of one clip x (L,)."""
        (d0, G), _, _ = self.taps
        y = self.frames[:out.shape[0]]
        kernels.analysis(x.reshape(self.R, self.M), G, d0, p0, y.reshape(p1 - p0, self.Q, self.M))
        if self.real == np.float64:
            np.fft.rfft(y, axis=-1, out=out)
        else:  # numpy's float32 rfft is slow; scipy's allocates, still faster
            out[:] = sfft.rfft(y, axis=-1)

    def dgt(self, x, out):
        """out (N, M/2+1) = DGT of one clip x (L,), C-contiguous."""
        for p0, p1, f0, f1 in self.chunks:
            self.dgt_rows(x, p0, p1, out[f0:f1])

    def synthesis_add_rows(self, c, p0, p1):
        """u += the synthesis with g of one chunk's coefficients c (Q (p1 - p0), M/2+1), the
        frames of blocks p0 .. p1 - 1 (no neighbour blocks needed: a scatter into u)."""
        _, (d0, G), _ = self.taps
        y = self.frames[:c.shape[0]]
        np.fft.irfft(c, n=self.M, axis=-1, out=y)  # M is in the taps
        kernels.synthesis_add(y.reshape(p1 - p0, self.Q, self.M), G, d0, p0, self.u)

    def inverse_frame_operator(self, out):
        """out (L,) = S^-1 u."""
        e0, H = self.taps[2]
        kernels.synthesis(self.u.reshape(self.R, 1, self.M), H, e0, out.reshape(self.R, self.M))

    def idgt(self, c, out):
        """out (L,) = inverse DGT of one clip's (N, M/2+1) coefficients: S^-1 D_g^* c."""
        _, (d0, G), _ = self.taps
        np.fft.irfft(c, n=self.M, axis=-1, out=self.frames)  # M is in the taps
        kernels.synthesis(self.frames.reshape(self.R, self.Q, self.M), G, d0, self.u)  # D_g^* c
        self.inverse_frame_operator(out)


def idgt(c, cfg: AudioConfig = AudioConfig()):
    """Inverse real DGT with the canonical dual window: (..., M/2+1, N) -> real (..., L).

    complex64 in, float32 out; anything else float64.
    """
    if _is_torch(c):
        return _idgt_torch(c, cfg)
    c = np.asarray(c)
    F, N = cfg.n_channels // 2 + 1, cfg.n_frames
    _check_coef(c.shape, F, N)
    c = c.astype(np.complex64 if _real_dtype(c) == np.float32 else np.complex128, copy=False)
    x = _idgt_nf(np.swapaxes(c.reshape(-1, F, N), -1, -2), cfg)
    return x.reshape(*c.shape[:-2], cfg.signal_length)


def _idgt_nf(c, cfg: AudioConfig):
    """Inverse DGT of (B, N, M/2+1) frame-major coefficients -> (B, L), one clip at a time."""
    work = _Work(cfg, c.dtype)
    x = np.empty((c.shape[0], cfg.signal_length), dtype=work.real)
    for b in range(c.shape[0]):
        work.idgt(c[b], x[b])
    return x


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
def _taps_torch_cached(L: int, a: int, M: int, device: str, dtype):
    """Analysis and synthesis taps (d0, W, block index) as tensors on ``device`` (cached)."""
    R = L // M
    out = []
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    for sign, (d0, W) in zip((1, -1, -1), _taps_cached(L, a, M, np_dtype)):
        D = W.shape[1]
        # analysis reads block (p + d0 + i) mod R; synthesis block (k - d0 - i) mod R, as a
        # slice [D - 1 - i, D - 1 - i + R) of the blocks (u - d0 - D + 1) mod R, u < R + D - 1
        start = d0 if sign > 0 else -d0 - D + 1
        idx = torch.tensor((np.arange(R + D - 1) + start) % R, device=device)
        out.append((torch.tensor(np.array(W), dtype=dtype, device=device), idx))
    return tuple(out)


def _taps_torch(cfg: AudioConfig, device, dtype):
    """Taps on the input's device, float64 for float64 input else float32."""
    dtype = torch.float64 if dtype in (torch.float64, torch.complex128) else torch.float32
    return _taps_torch_cached(cfg.signal_length, cfg.hop, cfg.n_channels, str(device), dtype)


def _dgt_torch(x, cfg: AudioConfig):
    """Torch version of :func:`dgt` (same layout), on x's device, float32 or float64."""
    _check_len(tuple(x.shape), cfg.signal_length)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()  # ints, half and bfloat16: no FFT support / precision on every device
    return _dgt_torch_nf(x, cfg).transpose(-1, -2)  # (..., M/2+1, N)


def _dgt_torch_nf(x, cfg: AudioConfig):
    """DGT of (..., L) float tensors in the frame-major layout (..., N, M/2+1)."""
    L, a, M = cfg.signal_length, cfg.hop, cfg.n_channels
    (G, idx), _, _ = _taps_torch(cfg, x.device, x.dtype)
    R, lead = L // M, x.shape[:-1]
    xp = x.reshape(*lead, R, M).index_select(-2, idx).unsqueeze(-2)  # (..., R + D - 1, 1, M)
    y = xp[..., :R, :, :] * G[:, 0]
    for i in range(1, G.shape[1]):  # one tap at a time: no (R, Q, D, M) temporary
        y = y + xp[..., i:i + R, :, :] * G[:, i]
    return torch.fft.rfft(y.reshape(*lead, L // a, M), dim=-1)


def _idgt_torch(c, cfg: AudioConfig):
    """Torch version of :func:`idgt`, on c's device."""
    _check_coef(tuple(c.shape), cfg.n_channels // 2 + 1, cfg.n_frames)
    return _idgt_torch_nf(c.transpose(-1, -2), cfg)


def _idgt_torch_nf(c, cfg: AudioConfig):
    """Inverse DGT of frame-major (..., N, M/2+1) complex tensors -> (..., L): S^-1 D_g^* c."""
    L, a, M = cfg.signal_length, cfg.hop, cfg.n_channels
    R, Q = L // M, M // a
    _, (G, idx), (H, idx_h) = _taps_torch(cfg, c.device, c.dtype)
    z = torch.fft.irfft(c, n=M, dim=-1)  # (..., N, M); M is in the taps
    lead = z.shape[:-2]
    u = _synthesis_torch(z.reshape(*lead, R, Q, M), G, idx)  # (..., R, M)
    return _synthesis_torch(u.unsqueeze(-2), H, idx_h).reshape(*lead, L)


def _synthesis_torch(z, W, idx):
    """sum_q sum_i W[q, i] z[..., (k - d0 - i) mod R, q, :] -> (..., R, M); z (..., R, Q, M)."""
    R, D = z.shape[-3], W.shape[1]
    zp = z.index_select(-3, idx)  # (..., R + D - 1, Q, M)
    acc = zp[..., D - 1:D - 1 + R, :, :] * W[:, 0]
    for i in range(1, D):
        acc = acc + zp[..., D - 1 - i:D - 1 - i + R, :, :] * W[:, i]
    return acc.sum(dim=-2)
