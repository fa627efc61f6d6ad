"""Phase reconstruction from the log-magnitude: PGHI (Průša et al. 2017) and fast Griffin-Lim.

Phase-gradient heap integration, as in ltfat / tifresi (design note section 4):

1. From the log-magnitude s = ln|c| of a DGT with a Gaussian window (lambda = a M) the phase
   gradients are finite differences of s: the time derivative of the phase is the frequency
   difference of s, the frequency derivative is minus the time difference (plus the 'freqinv'
   term -2 pi n a / M). :func:`phase_gradients` returns them in tifresi's units (tested against
   the reference); :func:`_lattice_gradients` in radians per lattice step.
2. Starting from the largest coefficient, the phase is integrated (trapezoid rule) to the four
   neighbours in order of decreasing magnitude with a max-heap, reseeding at the largest
   coefficient left until every coefficient above ``tol * max`` is done.

The heap loop is compiled with numba (a dependency of librosa, so always present with it); a
pure-Python heapq version is the fallback. PGHI runs on the CPU; FGLA and the DGTs run in torch
on the input's device when given a tensor.
"""
from __future__ import annotations

import heapq
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ggan_lib.audio import kernels
from ggan_lib.audio.fgla import _fgla_torch_nf, fgla, fgla_clip
from ggan_lib.audio.gabor import _idgt_torch_nf, _is_torch, _Work, dgt
from ggan_lib.audio.kernels import argsort_desc as _argsort_desc
from ggan_lib.audio.kernels import bit_is_set as _is_set
from ggan_lib.audio.kernels import bit_set as _set
from ggan_lib.audio.kernels import queue_pop as _pop
from ggan_lib.audio.kernels import queue_push as _push
from ggan_lib.audio.spectrogram import check_spectrogram, spectrogram_to_logmag, spectrogram_to_magnitude
from ggan_lib.config import PGHI_TOL, AudioConfig

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba comes with librosa
    njit = None

__all__ = ["phase_gradients", "pghi", "fgla", "spectrogram_to_audio", "spectral_convergence"]

# tifresi limits the log dynamic range to max - 11 before differentiating (ltfat gabphasegrad)
_GRAD_RANGE = 11.0


# --------------------------------------------------------------------------- gradients
def _clipped_log(mag):
    """ln|c| with the range limited to [max - 11, max] per clip; (..., F, N) float64."""
    logs = np.log(np.asarray(mag, dtype=np.float64) + np.finfo(np.float64).tiny)
    peak = logs.max(axis=(-2, -1), keepdims=True)
    return np.maximum(logs, peak - _GRAD_RANGE)


def _central(s, axis):
    """Periodic centred difference (s[i+1] - s[i-1]) / 2 along ``axis``."""
    return (np.roll(s, -1, axis=axis) - np.roll(s, 1, axis=axis)) / 2.0


def phase_gradients(mag, cfg: AudioConfig = AudioConfig()):
    """tifresi's (tgrad, fgrad) from a linear magnitude (..., M/2+1, N), each (..., M/2+1, N).

    tgrad (instantaneous frequency) is in units where the Nyquist frequency is L/2, fgrad (local
    group delay) in samples, as ltfat's ``gabphasegrad('abs', ...)``.
    """
    a, M, L = cfg.hop, cfg.n_channels, cfg.signal_length
    N = L // a
    tfr = a * M / L  # the Gaussian's time-frequency ratio lambda / L with lambda = a M
    s = _clipped_log(mag)
    fgrad = N * _central(s, -1) / (2 * np.pi) * tfr
    tgrad = M * _central(s, -2) / (2 * np.pi * tfr)
    tgrad[..., 0, :] = 0.0  # DC and Nyquist rows are symmetric: centred difference is 0
    tgrad[..., -1, :] = 0.0
    return tgrad, fgrad


def _lattice_gradients(mag, cfg: AudioConfig, logs=None):
    """Phase steps in radians per lattice step: (time-direction, frequency-direction), freqinv.

    tifresi's gradients of :func:`phase_gradients` in lattice units: a tgrad 2 pi / L is half the
    centred frequency difference of s, -(L / M)(fgrad + n a) 2 pi / L minus half its centred time
    difference minus 2 pi n a / M ('freqinv'); one compiled pass per clip. ``logs``: ln|c| if known.
    """
    logs = np.log(np.asarray(mag, np.float64) + np.finfo(np.float64).tiny) if logs is None else logs
    flat = np.ascontiguousarray(logs, dtype=np.float64).reshape(-1, *logs.shape[-2:])
    tstep, fstep = np.empty_like(flat), np.empty_like(flat)
    for i in range(flat.shape[0]):
        kernels.lattice_steps(flat[i], 2 * np.pi * cfg.hop / cfg.n_channels, tstep[i], fstep[i])
    return tstep.reshape(logs.shape), fstep.reshape(logs.shape)


# --------------------------------------------------------------------------- heap integration
def _heap_integrate_py(mag, tstep, fstep, tol):
    """Pure-Python PGHI heap integration of one (F, N) clip (numba-free fallback)."""
    F, N = mag.shape
    phase = np.zeros((F, N))
    done = mag < tol * mag.max()  # never integrate over near-silence
    magf, flat_done = mag.ravel(), done.ravel()
    while not flat_done.all():
        seed = int(np.argmax(np.where(flat_done, -np.inf, magf)))
        flat_done[seed] = True
        heap = [(-magf[seed], seed)]  # ties broken by flat index, as tifresi's (row, col) tuples
        while heap:
            _, p = heapq.heappop(heap)
            m, n = divmod(p, N)
            for dm, dn in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                mm, nn = m + dm, n + dn
                if 0 <= mm < F and 0 <= nn < N and not flat_done[mm * N + nn]:
                    step = (fstep[m, n] + fstep[mm, nn]) * dm + (tstep[m, n] + tstep[mm, nn]) * dn
                    phase[mm, nn] = phase[m, n] + step / 2.0  # trapezoid rule
                    flat_done[mm * N + nn] = True
                    heapq.heappush(heap, (-magf[mm * N + nn], mm * N + nn))
    return phase


def _heap_integrate_nb(mag, tstep, fstep, tol):  # pragma: no cover - compiled by numba
    """Same algorithm as :func:`_heap_integrate_py`, with an integer-rank priority queue (numba).

    rank[p] is p's position in the stable descending sort of the magnitudes, so the smallest rank
    is the largest magnitude, ties broken by index exactly like tifresi's heapq tuples. Ranks are
    unique and < F N, so the max-heap is a two-level bitmap with find-first-set: a few kB that
    stay in L1 cache, faster than a binary heap (most coefficients sit tied at the log floor).

    The heap visits coefficients in magnitude order, i.e. at scattered addresses, so what it needs
    of a coefficient lies in one 32-byte record (:func:`_heap_records`) and 'done' is a bitmap over
    indices (F N / 8 bytes, in L1 cache): a pop reads its own record, checks its neighbours in the
    bitmap and reads the records of the undone ones only, about three cache lines in all.
    """
    F, N = mag.shape
    FN = F * N
    magf = mag.ravel()
    order = _descending_order(magf)
    rec, done = _heap_records(magf, order, tstep.ravel(), fstep.ravel(), tol * magf[order[0]])
    bits = np.zeros(done.shape[0], dtype=np.uint64)  # bit r set: rank r is queued
    summary = np.zeros((done.shape[0] + 63) // 64, dtype=np.uint64)  # bit w set: bits[w] != 0
    lo = np.zeros(1, dtype=np.int64)  # no summary word below lo is non-zero: pops scan from there
    next_seed = 0
    while True:
        while next_seed < FN and _is_set(done, order[next_seed]):
            next_seed += 1  # the largest coefficient left is the first undone in sorted order
        if next_seed == FN:
            break
        _set(done, order[next_seed])
        _push(bits, summary, lo, next_seed)
        size = 1
        while size > 0:
            size += _spread(order[_pop(bits, summary, lo)], F, N, rec, done, bits, summary, lo) - 1
    return rec[:, 2].copy().reshape(F, N)


def _heap_records(magf, order, tf, ff, thresh):  # pragma: no cover - compiled by numba
    """rec[p] = (tstep, fstep, phase 0, rank) per coefficient, (F N, 4) float64 (the rank is exact
    in float64), and the 'done' bitmap with the coefficients below ``thresh`` set (they keep
    phase 0, like tifresi)."""
    FN = magf.shape[0]
    rank = np.empty(FN, dtype=np.int32)  # scattered writes into 4 bytes per coefficient, not 32
    for r in range(FN):
        rank[order[r]] = r
    rec = np.empty((FN, 4))
    done = np.zeros((FN + 63) // 64, dtype=np.uint64)
    for p in range(FN):
        rec[p, 0], rec[p, 1], rec[p, 2], rec[p, 3] = tf[p], ff[p], 0.0, rank[p]
        if magf[p] < thresh:
            _set(done, p)
    return rec, done


def _spread(p, F, N, rec, done, bits, summary, lo):  # pragma: no cover - compiled by numba
    """Integrate the phase from p to its undone 4-neighbours and queue them; return how many."""
    m, n = p // N, p % N
    tp, fp, php = rec[p, 0], rec[p, 1], rec[p, 2]
    pushed = 0
    for k in range(4):
        dm = 1 if k == 0 else (-1 if k == 1 else 0)
        dn = 1 if k == 2 else (-1 if k == 3 else 0)
        mm, nn = m + dm, n + dn
        if mm < 0 or mm >= F or nn < 0 or nn >= N:
            continue
        q = mm * N + nn
        if _is_set(done, q):
            continue
        step = (fp + rec[q, 1]) * dm + (tp + rec[q, 0]) * dn
        rec[q, 2] = php + step / 2.0  # trapezoid rule
        _set(done, q)
        _push(bits, summary, lo, np.int64(rec[q, 3]))
        pushed += 1
    return pushed


def _descending_order(magf):  # pragma: no cover - compiled by numba
    """Stable argsort of -magf (ties in index order) as int32; the floor is not sorted."""
    low = magf.min()  # most coefficients sit at the log floor: they come last, in index order
    above = np.flatnonzero(magf > low)
    above = _argsort_desc(magf, above) if low >= 0 else above[np.argsort(-magf[above], kind="mergesort")]
    return np.concatenate((above, np.flatnonzero(magf == low))).astype(np.int32)


if njit is not None:
    _spread = njit(cache=True, inline="always")(_spread)
    _heap_records = njit(cache=True)(_heap_records)
    _descending_order = njit(cache=True)(_descending_order)
    # nogil: clips of a batch are integrated in parallel threads (see _pghi_mag)
    _heap_integrate = njit(cache=True, nogil=True)(_heap_integrate_nb)
else:  # pragma: no cover
    _heap_integrate = _heap_integrate_py


def pghi(spec, cfg: AudioConfig = AudioConfig(), *, kind: str = "spec", tol: float = PGHI_TOL,
         rng=None, workers=None) -> np.ndarray:
    """PGHI phase (..., M/2+1, N) float64 from a magnitude-only representation.

    ``kind='spec'``: the network log-magnitude (..., H, W) in [-1, 1] (see
    :func:`ggan_lib.audio.spectrogram_to_magnitude`); ``kind='log'``: natural log-magnitude
    ln|c| (..., M/2+1, N); ``kind='mag'``: linear magnitude |c| (..., M/2+1, N).
    Coefficients below ``tol * max`` are not integrated: phase 0 (tifresi), or uniform random
    phase if a numpy Generator ``rng`` is given. With tifresi's tol = 1e-7 (``PGHI_TOL``, EvalConfig.pghi_tol) and the network's
    floor e^-10 every coefficient is integrated. A batch runs in ``workers`` threads (default:
    one per CPU core). numpy or torch input; numpy output.
    """
    if kind not in ("spec", "log", "mag"):
        raise ValueError(f"kind must be 'spec', 'log' or 'mag', got {kind!r}")
    if _is_torch(spec):
        spec = spec.detach().cpu().double().numpy()
    if kind == "spec":
        logs = spectrogram_to_logmag(spec, cfg)
        mag = np.exp(logs)
    else:
        mag = np.asarray(spec, np.float64)
        logs, mag = (mag, np.exp(mag)) if kind == "log" else (None, mag)
    return _pghi_mag(mag, cfg, tol, rng, workers, logs)


def _pghi_mag(mag, cfg: AudioConfig, tol: float, rng=None, workers=None, logs=None) -> np.ndarray:
    """PGHI phase (..., F, N) of a linear magnitude (..., F, N); clips in parallel threads."""
    flat = np.ascontiguousarray(mag, dtype=np.float64).reshape(-1, *mag.shape[-2:])
    lflat = None if logs is None else np.ascontiguousarray(logs, dtype=np.float64).reshape(flat.shape)
    phase = np.empty_like(flat)

    def one(i):
        """Phase steps and heap integration of clip i (the heap itself is sequential)."""
        phase[i] = _pghi_clip(flat[i], cfg, tol, None if lflat is None else lflat[i])

    _map_clips(one, flat.shape[0], workers)
    if rng is not None:
        small = flat < tol * flat.max(axis=(-2, -1), keepdims=True)
        phase[small] = rng.uniform(-np.pi, np.pi, int(small.sum()))
    return phase.reshape(mag.shape)


def _pghi_clip(mag, cfg: AudioConfig, tol: float, logs=None):
    """PGHI phase (F, N) of one C-contiguous float64 magnitude (F, N)."""
    tstep, fstep = _lattice_gradients(mag, cfg, logs)
    return _heap_integrate(mag, tstep, fstep, float(tol))


def _map_clips(fn, n: int, workers=None):
    """fn(0), ..., fn(n - 1) in ``workers`` threads (default one per CPU core; numba releases the GIL)."""
    n_workers = min(workers or os.cpu_count() or 1, n)
    if n_workers > 1 and njit is not None:
        with ThreadPoolExecutor(n_workers) as pool:
            list(pool.map(fn, range(n)))
    else:
        for i in range(n):
            fn(i)


# --------------------------------------------------------------------------- public pipeline
def floor_gate_mask(logs, cfg: AudioConfig):
    """True where ln|c| (..., F, N) lies within ``cfg.floor_gate`` (network units, [-1, 1]) of the log
    floor: the cells that :func:`spectrogram_to_audio` sets to silence."""
    return logs <= cfg.log_floor + (-cfg.log_floor / 2.0) * cfg.floor_gate


def spectrogram_to_audio(spec, cfg: AudioConfig = AudioConfig(), n_gla: int = 0, *,
                         alpha: float = 0.99, tol: float = PGHI_TOL, workers=None):
    """Log-magnitude (..., H, W) in [-1, 1] -> waveform (..., L) via PGHI (+ n_gla FGLA steps).

    numpy in, float32 numpy out, float64 inside, each clip end to end (PGHI, FGLA, inverse DGT)
    in one of ``workers`` threads (default one per CPU core). torch in, float32 tensor out on the
    same device, in the input's float dtype: PGHI runs on the CPU (threads), FGLA and the inverse
    DGT batched on the device. Raises BadSpectrogramError for a wrong shape or NaN / inf. The audio
    is at the normalised scale (max |DGT| = 1). alpha, tol: see :func:`fgla`, :func:`pghi`.

    ``cfg.floor_gate = m`` (None: off, the TiFGAN / tifresi inversion) sets every cell whose value is
    within m of the floor (x <= -1 + m) to magnitude 0 before the phase is applied: the log floor e^-10
    stands for "nothing here" (zero padding, digital silence), and inverting it literally turns that into
    a noise bed that a classifier hears (issue 13). The phase itself is still computed from all cells.
    """
    if _is_torch(spec):
        return _to_audio_torch(spec, cfg, n_gla, alpha, tol, workers)
    spec = np.asarray(spec)
    if spec.ndim < 2 or spec.shape[-2:] != tuple(cfg.spec_shape):
        check_spectrogram(spec, cfg)  # raises; values are checked clip by clip below
    flat = spec.reshape(-1, *spec.shape[-2:])
    y = np.empty((flat.shape[0], cfg.signal_length), dtype=np.float32)
    scratch = _ThreadScratch(cfg)

    def one(i):
        """Clip i, in one of the worker threads."""
        y[i] = _clip_to_audio(flat[i], cfg, n_gla, alpha, tol, *scratch.get())

    _map_clips(one, flat.shape[0], workers)
    return y.reshape(*spec.shape[:-2], cfg.signal_length)


class _ThreadScratch:
    """Per worker thread: a gabor._Work (transform scratch) and a float64 signal, allocated and first touched
    once per call of :func:`spectrogram_to_audio`, not once per clip."""

    def __init__(self, cfg: AudioConfig):
        self.cfg, self._by_thread = cfg, {}

    def get(self) -> tuple:
        """(work, signal) of the calling thread."""
        key = threading.get_ident()
        if key not in self._by_thread:
            self._by_thread[key] = (_Work(self.cfg, np.complex128), np.empty(self.cfg.signal_length))
        return self._by_thread[key]


def _clip_to_audio(spec, cfg: AudioConfig, n_gla: int, alpha: float, tol: float, work, x) -> np.ndarray:
    """One (H, W) clip end to end in cache: PGHI, FGLA, inverse DGT (frame-major after the phase), into
    the thread's signal buffer x (returned; the thread's next clip overwrites it)."""
    logs = spectrogram_to_logmag(spec, cfg)  # (F, N) float64
    mag = np.exp(logs)
    phase = _pghi_clip(mag, cfg, tol, logs)  # from every cell, gated or not
    if cfg.floor_gate is not None:
        mag[floor_gate_mask(logs, cfg)] = 0.0
    c_fn = np.empty(mag.shape, dtype=np.complex128)
    kernels.polar(mag.ravel(), phase.ravel(), c_fn.ravel())
    c = np.empty(mag.shape[::-1], dtype=np.complex128)
    kernels.transpose(c_fn, c)  # (N, F): frame-major, as the FFTs want it
    if n_gla > 0:  # FGLA synthesises its last coefficients anyway: no separate inverse DGT
        mag_nf = np.empty(mag.shape[::-1])
        kernels.transpose(mag, mag_nf)
        fgla_clip(c, mag_nf, cfg, n_gla, alpha, signal=x, work=work)
    else:
        work.idgt(c, x)
    return x


def _to_audio_torch(spec, cfg: AudioConfig, n_gla: int, alpha: float, tol: float, workers):
    """spectrogram_to_audio for a tensor: PGHI on the CPU, FGLA and the inverse DGT on its device.
    On a CUDA device the whole batch at once; on the CPU a few clips at a time end to end (at least
    one per worker thread), so that a chunk's magnitude, phase and coefficients stay in cache from
    PGHI to the waveform, and a large batch costs per clip what a small one does."""
    if spec.is_cuda:
        return _to_audio_torch_chunk(spec, cfg, n_gla, alpha, tol, workers)
    if spec.ndim < 2 or tuple(spec.shape[-2:]) != tuple(cfg.spec_shape):
        check_spectrogram(spec, cfg)  # raises; values are checked chunk by chunk below
    flat = spec.reshape(-1, *spec.shape[-2:])
    step = max(_CPU_CHUNK, min(workers or os.cpu_count() or 1, flat.shape[0]))
    out = [_to_audio_torch_chunk(flat[i:i + step], cfg, n_gla, alpha, tol, workers)
           for i in range(0, flat.shape[0], step)]
    return torch.cat(out).reshape(*spec.shape[:-2], cfg.signal_length)


def _to_audio_torch_chunk(spec, cfg: AudioConfig, n_gla: int, alpha: float, tol: float, workers):
    """spectrogram_to_audio of a tensor batch in one piece (see :func:`_to_audio_torch`)."""
    dtype = torch.float64 if spec.dtype == torch.float64 else torch.float32
    mag = spectrogram_to_magnitude(spec.detach().to(dtype), cfg)  # (..., F, N) on the device
    phase = _pghi_mag(mag.cpu().double().numpy(), cfg, tol, workers=workers)  # on the CPU
    if cfg.floor_gate is not None:
        # the mask from float64 logs, as the numpy path decides it (a float32 log would flip cells at the edge)
        mag = mag.masked_fill(floor_gate_mask(spectrogram_to_logmag(spec.detach().double(), cfg), cfg), 0.0)
    c = torch.polar(mag, torch.as_tensor(phase, dtype=dtype, device=spec.device))
    lead = c.shape[:-2]
    c, mag = c.reshape(-1, *c.shape[-2:]).transpose(-1, -2), mag.reshape(-1, *mag.shape[-2:]).transpose(-1, -2)
    if n_gla > 0:
        c = _fgla_torch_nf(c, mag, cfg, n_gla, alpha)
    return _idgt_torch_nf(c, cfg).reshape(*lead, cfg.signal_length).to(torch.float32)


_CPU_CHUNK = 4  # clips per torch CPU chunk: its whole pipeline's arrays stay in cache


def spectral_convergence(y, target_mag, cfg: AudioConfig = AudioConfig()):
    """20 log10(|| |DGT(y)| - T ||_F / ||T||_F) in dB per clip: (..., L), (..., F, N) -> (...)."""
    if _is_torch(y):
        T = torch.as_tensor(target_mag, device=y.device, dtype=y.dtype)
        err = torch.linalg.vector_norm(dgt(y, cfg).abs() - T, dim=(-2, -1))
        return 20 * torch.log10(err / torch.linalg.vector_norm(T, dim=(-2, -1)))
    T = np.asarray(target_mag, dtype=np.float64)
    err = np.linalg.norm(np.abs(dgt(np.asarray(y, np.float64), cfg)) - T, axis=(-2, -1))
    with np.errstate(divide="ignore"):  # an exact match gives -inf dB, not a warning
        return 20 * np.log10(err / np.linalg.norm(T, axis=(-2, -1)))
