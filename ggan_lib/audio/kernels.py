"""Compiled inner loops of the Gabor transform and of fast Griffin-Lim (numba; numpy fallbacks).

The DGT of :mod:`ggan_lib.audio.gabor` works on the signal cut into R = L / M blocks of M samples,
xb[k, j] = x[k M + j], and on the window cut the same way around each frame: the frame n = p Q + q
(Q = M / a) sees block p + d through W[q, d - d0, j] = w[(d M + j - q a) mod L] for the few taps
d = d0 .. d0 + D - 1 where w is not negligible (5 for the Gaussian, 15 for its canonical dual;
all R of them for a window that fills the signal, which is then the textbook polyphase sum).

- analysis   y[p, q, j] = sum_i xb[(p + d0 + i) mod R, j] W[q, i, j]  (then an FFT over j)
- synthesis  xb[k, j]   = sum_q sum_i W[q, i, j] z[(k - d0 - i) mod R, q, j]  (after an iFFT)

Both keep the residue j = l mod M, so the DGT's 'freqinv' phase needs no extra factor. Both work
on one clip: ``analysis`` on a chunk of its blocks, so a long clip's frames go through the FFTs a few
blocks at a time while they are in cache; ``synthesis`` (a gather, the inverse DGT's) on the whole
clip; ``synthesis_add`` (a scatter, FGLA's) adds a chunk's share to every block it reaches, the same
terms in another order. Every function writes into its output; numba compiles them with nogil.
"""
from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba comes with librosa
    njit = None


def _analysis_nb(xb, W, d0, p0, out):  # pragma: no cover - compiled by numba
    """out[b, q, :] = sum_i xb[(p0 + b + d0 + i) mod R, :] * W[q, i, :]; xb (R, M) one clip,
    out (nb, Q, M): the frames of blocks p0 .. p0 + nb - 1."""
    R, M = xb.shape
    Q, D, _ = W.shape
    for b in range(out.shape[0]):
        p = p0 + b
        for q in range(Q):
            acc = out[b, q]
            acc[:] = 0.0
            for i in range(D):
                xr = xb[(p + d0 + i) % R]
                wr = W[q, i]
                for j in range(M):
                    acc[j] += xr[j] * wr[j]


def _add_frames(acc, W, i, zr):  # pragma: no cover - compiled by numba (inlined)
    """acc (M,) += sum_q W[q, i, :] * zr[q, :]: tap i of every frame phase q, four frames per pass
    over acc (fewer loads / stores), in the same order of additions for the gather and the scatter."""
    Q, M = zr.shape
    Q4 = Q - Q % 4
    for q in range(0, Q4, 4):
        w0, w1, w2, w3 = W[q, i], W[q + 1, i], W[q + 2, i], W[q + 3, i]
        z0, z1, z2, z3 = zr[q], zr[q + 1], zr[q + 2], zr[q + 3]
        for j in range(M):
            acc[j] += w0[j] * z0[j] + w1[j] * z1[j] + w2[j] * z2[j] + w3[j] * z3[j]
    for q in range(Q4, Q):
        wr, zq = W[q, i], zr[q]
        for j in range(M):
            acc[j] += wr[j] * zq[j]


def _synthesis_nb(z, W, d0, out):  # pragma: no cover - compiled by numba
    """out[k, :] = sum_q sum_i W[q, i, :] * z[(k - d0 - i) mod R, q, :]; z (R, Q, M) the frames of one
    clip, out (R, M) (a gather: every output block sums its terms in one fixed order)."""
    R = z.shape[0]
    D = W.shape[1]
    for k in range(R):
        acc = out[k]
        acc[:] = 0.0
        for i in range(D):
            _add_frames(acc, W, i, z[(k - d0 - i) % R])


def _synthesis_add_nb(z, W, d0, p0, out):  # pragma: no cover - compiled by numba
    """out[(p0 + b + d0 + i) mod R, :] += sum_q W[q, i, :] * z[b, q, :] for every tap i: the share of
    the frames of blocks p0 .. p0 + nb - 1 (z (nb, Q, M)) in the synthesis of one clip, out (R, M)
    (a scatter: the terms of :func:`_synthesis_nb` in another order)."""
    nb = z.shape[0]
    R = out.shape[0]
    D = W.shape[1]
    for b in range(nb):
        zr = z[b]
        for i in range(D):
            _add_frames(out[(p0 + b + d0 + i) % R], W, i, zr)


def _fgla_project_nb(proj, mag):  # pragma: no cover - compiled by numba
    """In place, elementwise: proj = mag proj / |proj| (mag where proj = 0), the nearest
    coefficients of magnitude mag. proj: complex, seen as flat real (re, im) pairs of length
    2 n; mag: flat, length n."""
    for i in range(mag.shape[0]):
        re, im = proj[2 * i], proj[2 * i + 1]
        m = np.sqrt(re * re + im * im)
        if m > 0:
            s = mag[i] / m
            proj[2 * i], proj[2 * i + 1] = re * s, im * s
        else:
            proj[2 * i], proj[2 * i + 1] = mag[i], 0.0 * mag[i]


def _fgla_momentum_nb(x, y, alpha):  # pragma: no cover - compiled by numba
    """In place, elementwise, on signals: x holds the new y_new, y the previous; afterwards
    y = y_new and x = y_new + alpha (y_new - y) (FGLA's momentum step, in the signal domain)."""
    for i in range(x.shape[0]):
        a = x[i]
        x[i] = a + alpha * (a - y[i])
        y[i] = a


def _lattice_steps_nb(logs, freqinv, tstep, fstep):  # pragma: no cover - compiled by numba
    """PGHI phase steps of one (F, N) clip from its log-magnitude, in radians per lattice step.

    s = max(logs, max(logs) - 11) (tifresi's range limit); time step (s[m+1] - s[m-1]) / 2 (0 on
    the DC and Nyquist rows), frequency step -(s[n+1] - s[n-1]) / 2 - freqinv n (periodic in n).
    """
    F, N = logs.shape
    peak = logs.max()
    s = np.maximum(logs, peak - 11.0)
    for m in range(F):
        for n in range(N):
            if m == 0 or m == F - 1:
                tstep[m, n] = 0.0
            else:
                tstep[m, n] = (s[m + 1, n] - s[m - 1, n]) / 2.0
            fstep[m, n] = -(s[m, (n + 1) % N] - s[m, n - 1]) / 2.0 - freqinv * n


# fdlibm's kernels: pi/2 in three 33-bit parts (k pio2_i is exact for |k| < 2^20) and the
# minimax polynomials of sin and cos on [-pi/4, pi/4]
_PIO2 = (1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21)
_SIN = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
        2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_COS = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
        -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)


def _polar_nb(mag, phase, out):  # pragma: no cover - compiled by numba
    """out = mag (cos phase + i sin phase), flat arrays, with a branch-free sin / cos that the
    compiler vectorises (fdlibm's reduction and polynomials; libm beyond |phase| = 1e6)."""
    p1, p2, p3 = _PIO2
    s1, s2, s3, s4, s5, s6 = _SIN
    c1, c2, c3, c4, c5, c6 = _COS
    for i in range(phase.shape[0]):
        x = phase[i]
        k = np.floor(x * 0.63661977236758134308 + 0.5)  # nearest multiple of pi/2
        r = ((x - k * p1) - k * p2) - k * p3
        z = r * r
        sn = r + r * z * (s1 + z * (s2 + z * (s3 + z * (s4 + z * (s5 + z * s6)))))
        cs = 1.0 - 0.5 * z + z * z * (c1 + z * (c2 + z * (c3 + z * (c4 + z * (c5 + z * c6)))))
        quad = np.int64(k) & 3
        odd = (quad & 1) == 1
        c = sn if odd else cs  # cos x = cs, -sn, -cs, sn in quadrants 0..3
        s = cs if odd else sn  # sin x = sn, cs, -sn, -cs
        c = -c if (quad == 1 or quad == 2) else c
        s = -s if quad >= 2 else s
        out[i] = complex(mag[i] * c, mag[i] * s)
    for i in range(phase.shape[0]):  # k pi/2 is no longer exact: libm's full reduction
        if abs(phase[i]) > 1e6:
            out[i] = mag[i] * complex(np.cos(phase[i]), np.sin(phase[i]))


def _argsort_desc_nb(vals, idx):  # pragma: no cover - compiled by numba
    """idx reordered by vals[idx] descending, ties kept in their order (a stable sort) of the bit
    patterns, which for non-negative float64 ascend with the value: one counting pass on the top
    12 bits in which the keys differ (at most 4096 buckets), then within each bucket, in cache,
    an insertion sort (small buckets) or an LSD radix sort of the remaining bytes."""
    n = idx.shape[0]
    order = idx.astype(np.int32)
    if n < 2:
        return order.astype(idx.dtype)
    bits = vals.view(np.uint64)
    keys = np.empty(n, np.uint64)
    kmin, kmax = ~np.uint64(0), np.uint64(0)
    for i in range(n):
        k = ~bits[order[i]]  # ascending ~bits = descending value
        keys[i] = k
        kmin, kmax = min(kmin, k), max(kmax, k)
    width, diff = 0, kmin ^ kmax  # the keys share every bit from `width` up
    while diff:
        diff >>= np.uint64(1)
        width += 1
    shift = np.uint64(max(0, width - 12))
    base = kmin >> shift
    nb = np.int64((kmax >> shift) - base) + 1
    start = np.zeros(nb + 1, np.int64)
    for i in range(n):
        start[np.int64((keys[i] >> shift) - base) + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    pos = start[:nb].copy()
    keys2, order2 = np.empty_like(keys), np.empty_like(order)
    for i in range(n):
        d = np.int64((keys[i] >> shift) - base)
        keys2[pos[d]], order2[pos[d]] = keys[i], order[i]
        pos[d] += 1
    for b in range(nb):
        s, e = start[b], start[b + 1]
        if e - s <= 1 or shift == 0:
            continue
        if e - s <= 32:
            _insertion_sort(keys2, order2, s, e)
        else:
            _lsd_sort(keys2[s:e], order2[s:e], keys[s:e], order[s:e], (np.int64(shift) + 7) // 8)
    return order2.astype(idx.dtype)


def _insertion_sort(keys, order, s, e):  # pragma: no cover - compiled by numba
    """Stable insertion sort of keys[s:e] (order alongside)."""
    for i in range(s + 1, e):
        k, o = keys[i], order[i]
        j = i - 1
        while j >= s and keys[j] > k:
            keys[j + 1], order[j + 1] = keys[j], order[j]
            j -= 1
        keys[j + 1], order[j + 1] = k, o


def _lsd_sort(keys, order, keys2, order2, n_bytes):  # pragma: no cover - compiled by numba
    """Stable LSD radix sort of keys (order alongside) by their lowest n_bytes bytes, in place
    (keys2, order2: scratch of the same size); a byte that every key shares needs no pass."""
    n = keys.shape[0]
    count = np.zeros(257, np.int64)
    swapped = False
    for byte in range(n_bytes):
        shift = np.uint64(8 * byte)
        count[:] = 0
        for i in range(n):
            count[np.int64((keys[i] >> shift) & np.uint64(255)) + 1] += 1
        if count.max() == n:
            continue
        for b in range(256):
            count[b + 1] += count[b]
        for i in range(n):
            d = np.int64((keys[i] >> shift) & np.uint64(255))
            keys2[count[d]], order2[count[d]] = keys[i], order[i]
            count[d] += 1
        keys, keys2, order, order2 = keys2, keys, order2, order
        swapped = not swapped
    if swapped:  # the sorted run is in the scratch arrays
        keys2[:] = keys
        order2[:] = order


def _argsort_desc_np(vals, idx):
    """numpy version of :func:`_argsort_desc_nb`."""
    return idx[np.argsort(-vals[idx], kind="stable")]


# --------------------------------------------------------------------------- numpy fallbacks
def _analysis_np(xb, W, d0, p0, out):
    """numpy version of :func:`_analysis_nb` (no numba)."""
    R, nb = xb.shape[0], out.shape[0]
    out[:] = 0.0
    for i in range(W.shape[1]):
        out += xb[(np.arange(p0, p0 + nb) + d0 + i) % R][:, None, :] * W[:, i]


def _synthesis_np(z, W, d0, out):
    """numpy version of :func:`_synthesis_nb` (no numba)."""
    out[:] = 0.0
    for i in range(W.shape[1]):
        out += (np.roll(z, d0 + i, axis=0) * W[:, i]).sum(axis=1)


def _lattice_steps_np(logs, freqinv, tstep, fstep):
    """numpy version of :func:`_lattice_steps_nb` (no numba)."""
    s = np.maximum(logs, logs.max() - 11.0)
    tstep[:] = (np.roll(s, -1, axis=0) - np.roll(s, 1, axis=0)) / 2.0
    tstep[0] = tstep[-1] = 0.0
    fstep[:] = -(np.roll(s, -1, axis=1) - np.roll(s, 1, axis=1)) / 2.0 - freqinv * np.arange(s.shape[1])


def _polar_np(mag, phase, out):
    """numpy version of :func:`_polar_nb` (no numba)."""
    out.real = mag * np.cos(phase)
    out.imag = mag * np.sin(phase)


def _synthesis_add_np(z, W, d0, p0, out):
    """numpy version of :func:`_synthesis_add_nb` (no numba); nb <= R, so no block twice per tap."""
    R, nb = out.shape[0], z.shape[0]
    for i in range(W.shape[1]):
        out[(np.arange(p0, p0 + nb) + d0 + i) % R] += (z * W[:, i]).sum(axis=1)


def _fgla_project_np(proj, mag):
    """numpy version of :func:`_fgla_project_nb` (no numba)."""
    p = proj.view(np.complex128 if proj.dtype == np.float64 else np.complex64)
    m = np.abs(p)
    p[:] = np.where(m > 0, p * (mag / np.where(m > 0, m, 1.0)), mag)


def _fgla_momentum_np(x, y, alpha):
    """numpy version of :func:`_fgla_momentum_nb` (no numba)."""
    a = x.copy()
    x += alpha * (a - y)
    y[:] = a


def _transpose_nb(src, dst):  # pragma: no cover - compiled by numba
    """dst (N, F) = src (F, N).T in 8 x 8 tiles: both sides stay in a few cache lines per tile (numpy's
    strided copy measured 2.3x slower at 257 x 128 .. 512, and grew faster than the array)."""
    F, N = src.shape
    for m0 in range(0, F, 8):
        m1 = min(m0 + 8, F)
        for n0 in range(0, N, 8):
            for n in range(n0, min(n0 + 8, N)):
                for m in range(m0, m1):
                    dst[n, m] = src[m, n]


def _transpose_np(src, dst):
    """numpy version of :func:`_transpose_nb`."""
    np.copyto(dst, src.T)


# --------------------------------------------------------------------------- PGHI's bitmaps
def _bit_is_set_nb(bitmap, i):  # pragma: no cover - compiled by numba
    """Bit i of a uint64 bitmap."""
    return (bitmap[i >> 6] >> np.uint64(i & 63)) & np.uint64(1) != 0


def _bit_set_nb(bitmap, i):  # pragma: no cover - compiled by numba
    """Set bit i of a uint64 bitmap."""
    bitmap[i >> 6] |= np.uint64(1) << np.uint64(i & 63)


# count trailing zeros of a uint64 with a de Bruijn multiply (no intrinsic needed in numba)
_DEBRUIJN = 0x03F79D71B4CB0A89
_CTZ = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _CTZ[(((1 << _i) * _DEBRUIJN) % 2**64) >> 58] = _i
_DEBRUIJN = np.uint64(_DEBRUIJN)


def _ctz_nb(x):  # pragma: no cover - compiled by numba
    """Index of the lowest set bit of a non-zero uint64."""
    low = x & (~x + np.uint64(1))
    return _CTZ[(low * _DEBRUIJN) >> np.uint64(58)]


def _queue_push_nb(bits, summary, lo, r):  # pragma: no cover - compiled by numba
    """Queue rank r."""
    w = r >> 6
    bits[w] |= np.uint64(1) << np.uint64(r & 63)
    summary[w >> 6] |= np.uint64(1) << np.uint64(w & 63)
    lo[0] = min(lo[0], w >> 6)


def _queue_pop_nb(bits, summary, lo):  # pragma: no cover - compiled by numba
    """Remove and return the smallest queued rank (the queue must not be empty); the scan for
    it starts at lo, not 0, so a pop does not grow with the clip's size."""
    s = lo[0]
    while summary[s] == 0:
        s += 1
    lo[0] = s
    w = (s << 6) + _ctz(summary[s])
    r = (w << 6) + _ctz(bits[w])
    bits[w] &= bits[w] - np.uint64(1)  # clear the lowest set bit: r
    if bits[w] == 0:
        summary[s] &= summary[s] - np.uint64(1)  # ... and w, the lowest set bit of summary[s]
    return r


if njit is not None:
    _add_frames = njit(cache=True, inline="always")(_add_frames)  # before the kernels that call it compile
    analysis = njit(cache=True, nogil=True)(_analysis_nb)
    synthesis = njit(cache=True, nogil=True)(_synthesis_nb)
    synthesis_add = njit(cache=True, nogil=True)(_synthesis_add_nb)
    fgla_project = njit(cache=True, nogil=True)(_fgla_project_nb)
    fgla_momentum = njit(cache=True, nogil=True)(_fgla_momentum_nb)
    lattice_steps = njit(cache=True, nogil=True)(_lattice_steps_nb)
    polar = njit(cache=True, nogil=True)(_polar_nb)
    transpose = njit(cache=True, nogil=True)(_transpose_nb)
    _insertion_sort = njit(cache=True, nogil=True)(_insertion_sort)
    _lsd_sort = njit(cache=True, nogil=True)(_lsd_sort)
    argsort_desc = njit(cache=True, nogil=True)(_argsort_desc_nb)
    _ctz = njit(cache=True, inline="always")(_ctz_nb)
    bit_is_set = njit(cache=True, inline="always")(_bit_is_set_nb)
    bit_set = njit(cache=True, inline="always")(_bit_set_nb)
    queue_push = njit(cache=True, inline="always")(_queue_push_nb)
    queue_pop = njit(cache=True)(_queue_pop_nb)
else:  # pragma: no cover
    argsort_desc = _argsort_desc_np
    _ctz, bit_is_set, bit_set, queue_push, queue_pop = _ctz_nb, _bit_is_set_nb, _bit_set_nb, _queue_push_nb, _queue_pop_nb
    analysis, synthesis, synthesis_add = _analysis_np, _synthesis_np, _synthesis_add_np
    fgla_project, fgla_momentum = _fgla_project_np, _fgla_momentum_np
    lattice_steps, polar, transpose = _lattice_steps_np, _polar_np, _transpose_np
