"""Tests of ggan_lib.audio.pghi: phase gradients, heap integration, FGLA and the audio pipeline."""
import importlib
from pathlib import Path

import numpy as np
import pytest
import torch

from ggan_lib.audio import AudioConfig, BadSpectrogramError, audio_to_spectrogram, dgt, idgt, spectrogram_to_magnitude
from ggan_lib.audio.pghi import fgla, pghi, phase_gradients, spectral_convergence, spectrogram_to_audio

P = importlib.import_module("ggan_lib.audio.pghi")  # the module (ggan_lib.audio.pghi is also the function)
REF = Path("/work/shared/reference/ltfat-tifresi")
CFG = AudioConfig()
pytestmark = pytest.mark.skipif(not REF.is_dir(), reason="reference arrays not available")


def ref(name):
    """Load one reference array."""
    return np.load(REF / f"{name}.npy")


def test_phase_gradients_match_tifresi():
    tgrad, fgrad = phase_gradients(ref("target_mag"))
    np.testing.assert_allclose(tgrad, ref("pghi_tgrad"), rtol=0, atol=1e-10)
    np.testing.assert_allclose(fgrad, ref("pghi_fgrad"), rtol=0, atol=1e-10)


def _wrapped(d):
    """Phase difference wrapped to (-pi, pi]."""
    return np.angle(np.exp(1j * d))


def test_heap_integration_matches_tifresi_phase():
    phase = pghi(ref("logmag_norm"))  # (5, 257, 128)
    assert phase.shape == (5, 257, 128)
    assert np.abs(_wrapped(phase - ref("pghi_phase"))).max() < 1e-9


def test_pghi_input_kinds_agree():
    spec, T = ref("logmag_norm")[:1], ref("target_mag")[:1]
    p_spec = pghi(torch.tensor(spec))
    np.testing.assert_allclose(pghi(T, kind="mag"), p_spec, atol=1e-9)
    np.testing.assert_allclose(pghi(np.log(T), kind="log"), p_spec, atol=1e-9)
    with pytest.raises(ValueError):
        pghi(T, kind="db")


def test_compiled_heap_equals_python_fallback():
    T = ref("target_mag")[3]
    tstep, fstep = P._lattice_gradients(T, CFG)
    fast = P._heap_integrate(T, tstep, fstep, 1e-7)
    slow = P._heap_integrate_py(T, tstep, fstep, 1e-7)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    # with a high tolerance, several seeds are needed: same order in both versions
    fast = P._heap_integrate(T, tstep, fstep, 1e-2)
    slow = P._heap_integrate_py(T, tstep, fstep, 1e-2)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    assert np.sum(fast == 0) > 0.5 * fast.size


def test_random_phase_below_tolerance():
    T = ref("target_mag")[:1]
    phase = pghi(T, kind="mag", tol=1e-2, rng=np.random.default_rng(0))
    small = T < 1e-2 * T.max()
    assert np.abs(phase[small]).max() > 1.0 and np.abs(phase[small]).max() <= np.pi


def test_pghi_quality_on_reference_clips():
    sc = spectral_convergence(spectrogram_to_audio(ref("logmag_norm")), ref("target_mag"))
    assert sc.shape == (5,)
    assert sc.mean() <= -18.0, sc


def test_true_phase_resynthesis_is_near_perfect():
    c = ref("dgt")
    y = idgt(c / np.abs(c).max(axis=(1, 2), keepdims=True))
    sc = spectral_convergence(y, np.abs(dgt(y)))
    assert sc.max() < -200  # identical magnitude: only rounding error
    assert spectral_convergence(y, ref("target_mag")).mean() < -50  # floor only changes T a bit


def test_fgla_improves_on_pghi():
    spec, T = ref("logmag_norm")[:3], ref("target_mag")[:3]
    sc0 = spectral_convergence(spectrogram_to_audio(spec), T)
    sc8 = spectral_convergence(spectrogram_to_audio(spec, n_gla=8), T)
    assert np.all(sc8 < sc0 - 2.0), (sc0, sc8)
    # FGLA alone from zero phase also converges a bit
    c = fgla(T.astype(complex), T, CFG, n_iter=4)
    assert np.allclose(np.abs(c), T)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_pipeline_equals_numpy(dtype):
    spec = ref("logmag_norm")[:2]
    y_np = spectrogram_to_audio(spec, n_gla=2)
    y_t = spectrogram_to_audio(torch.tensor(spec, dtype=dtype), n_gla=2)
    assert isinstance(y_t, torch.Tensor) and y_t.shape == (2, 16384) and y_t.dtype == torch.float32
    tol = 1e-6 if dtype == torch.float64 else 1e-3
    np.testing.assert_allclose(y_t.numpy(), y_np, rtol=0, atol=tol * np.abs(y_np).max())
    sc_t = spectral_convergence(y_t.double(), torch.tensor(ref("target_mag")[:2]))
    np.testing.assert_allclose(sc_t.numpy(), spectral_convergence(y_np, ref("target_mag")[:2]),
                               atol=0.05)


def test_batched_shapes():
    spec = ref("logmag_norm")[:4].reshape(2, 2, 256, 128)
    y = spectrogram_to_audio(spec)
    assert y.shape == (2, 2, 16384) and y.dtype == np.float32
    np.testing.assert_allclose(y[1, 0], spectrogram_to_audio(spec[1, 0]), atol=1e-7)


def test_torch_cpu_batch_runs_in_chunks_equal_to_clip_by_clip():
    """A CPU tensor batch runs end to end a few clips at a time (_CPU_CHUNK): 9 clips = 4 + 4 + 1, any lead shape."""
    clips = np.concatenate([ref("logmag_norm")] * 9)[:9]
    spec = torch.tensor(clips, dtype=torch.float32).reshape(3, 3, 256, 128)
    y = spectrogram_to_audio(spec, n_gla=1, workers=1)
    assert y.shape == (3, 3, 16384) and y.dtype == torch.float32
    for i in (0, 3, 4, 8):  # first and last of a chunk, the next chunk's first, the remainder
        one = spectrogram_to_audio(spec.reshape(9, 256, 128)[i], n_gla=1, workers=1)
        torch.testing.assert_close(y.reshape(9, -1)[i], one, rtol=0, atol=1e-5 * float(one.abs().max()))
    bad = spec.clone()
    bad[2, 1, 5, 5] = float("nan")  # clip 7, in the second chunk: its values are checked there
    with pytest.raises(BadSpectrogramError, match="1 NaN"):
        spectrogram_to_audio(bad)


@pytest.mark.parametrize("shape, max_sc", [((128, 64), -8.0), ((64, 32), -4.0)])
def test_small_spec_shape_round_trip(shape, max_sc):
    # a blurred (area-downsampled) spectrogram cannot be inverted exactly: loose check
    cfg = AudioConfig(spec_shape=shape)
    small = audio_to_spectrogram(ref("wav16k")[:2], cfg)
    y = spectrogram_to_audio(small, cfg)
    assert y.shape == (2, 16384)
    sc = spectral_convergence(y, spectrogram_to_magnitude(small, cfg))
    assert sc.mean() < max_sc, sc


def test_flat_spectrogram_gives_finite_audio():
    # an untrained generator can output a constant spectrogram: no crash, no NaN
    y = spectrogram_to_audio(-np.ones((2, 256, 128)), n_gla=1)
    assert y.shape == (2, 16384) and np.all(np.isfinite(y))


@pytest.mark.parametrize("bad", [np.zeros((2, 257, 128)), np.zeros((128, 256)),
                                 np.full((256, 128), np.nan)])
def test_bad_spectrogram_raises(bad):
    with pytest.raises(BadSpectrogramError):
        spectrogram_to_audio(bad)
    with pytest.raises(BadSpectrogramError):
        spectrogram_to_audio(torch.tensor(bad))


def test_radix_order_equals_stable_mergesort():
    from ggan_lib.audio import kernels
    rng = np.random.default_rng(0)
    # many ties (LSD-sorted buckets), few ties over decades (insertion-sorted buckets), one value, tiny
    for vals in (np.round(rng.random(5000), 3), np.exp(rng.uniform(-10, 0, 100000)), np.full(300, 0.5),
                 np.tile(np.exp(rng.uniform(-10, 0, 2000)), 4), np.array([0.2, 0.7])):
        idx = np.flatnonzero(vals > 0.1)
        np.testing.assert_array_equal(kernels.argsort_desc(vals, idx), idx[np.argsort(-vals[idx], kind="mergesort")])


def test_polar_kernel_is_accurate():
    from ggan_lib.audio import kernels
    rng = np.random.default_rng(1)
    phase = np.concatenate([rng.uniform(-10, 10, 1000), rng.uniform(-1e5, 1e5, 1000), rng.uniform(-1e7, 1e7, 10)])
    mag = rng.random(phase.size)
    out = np.empty(phase.size, np.complex128)
    kernels.polar(mag, phase, out)
    np.testing.assert_allclose(out, mag * np.exp(1j * phase), rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", [(257, 128), (257, 512), (3, 5), (9, 8)])
def test_tiled_transpose_kernel_equals_numpy(shape):
    """kernels.transpose (8 x 8 tiles, any remainder) and its numpy fallback both give src.T exactly."""
    from ggan_lib.audio import kernels
    rng = np.random.default_rng(3)
    for src in (rng.standard_normal(shape), rng.standard_normal(shape) + 1j * rng.standard_normal(shape)):
        for fn in (kernels.transpose, kernels._transpose_np):
            dst = np.full(shape[::-1], np.nan, dtype=src.dtype)
            fn(src, dst)
            np.testing.assert_array_equal(dst, src.T)


def test_fgla_numpy_batch_float32_and_torch_agree():
    T = ref("target_mag")[:2]
    c0 = P.pghi(T, kind="mag")
    c0 = T * np.exp(1j * c0)
    c = fgla(c0, T, CFG, n_iter=3)
    np.testing.assert_allclose(c[1], fgla(c0[1], T[1], CFG, n_iter=3), rtol=0, atol=1e-13)
    ct = fgla(torch.tensor(c0), torch.tensor(T), CFG, n_iter=3)
    np.testing.assert_allclose(ct.numpy(), c, rtol=0, atol=1e-10)
    c32 = fgla(c0.astype(np.complex64), T, CFG, n_iter=3)
    assert c32.dtype == np.complex64
    np.testing.assert_allclose(c32, c, rtol=0, atol=1e-4)


def test_floor_gate_silences_cells_at_the_floor_and_nothing_else():
    """AudioConfig.floor_gate: cells with x <= -1 + gate invert to magnitude 0; louder cells keep theirs."""
    import dataclasses

    from ggan_lib.audio.pghi import floor_gate_mask
    from ggan_lib.audio.spectrogram import spectrogram_to_logmag
    spec = ref("logmag_norm")[:1]
    cfg = AudioConfig()
    assert cfg.floor_gate == 0.1
    logs = spectrogram_to_logmag(spec, cfg)
    mask = floor_gate_mask(logs, cfg)
    # by hand: x <= -0.9  <=>  ln|c| = 5 (x - 1) <= -9.5
    np.testing.assert_array_equal(mask, logs <= -9.5)
    gated = np.abs(dgt(spectrogram_to_audio(spec, cfg), cfg))
    literal = np.abs(dgt(spectrogram_to_audio(spec, dataclasses.replace(cfg, floor_gate=None)), cfg))
    # the gated clip is quieter where the target is at the floor, and as loud elsewhere
    assert gated[mask].mean() < 0.5 * literal[mask].mean()
    loud = logs > -3
    np.testing.assert_allclose(gated[loud].mean(), literal[loud].mean(), rtol=0.05)
    with pytest.raises(ValueError, match="floor_gate"):
        AudioConfig(floor_gate=2.5)
    # the gate only concerns the inverse: spectrogram caches keep their key
    assert dataclasses.replace(cfg, floor_gate=None).key() == cfg.key()


LONG = AudioConfig(signal_length=65536, spec_shape=(256, 512))  # 128 blocks: 4 chunks of 32


def _fgla_reference(c, mag, cfg, n_iter, alpha=0.99):
    """FGLA as first written: momentum on the coefficients, whole-clip inverse DGT and DGT."""
    c_prev, t = c.copy(), c.copy()
    for _ in range(n_iter):
        proj = dgt(idgt(t, cfg), cfg)
        m = np.abs(proj)
        c_new = np.where(m > 0, proj * (mag / np.where(m > 0, m, 1.0)), mag)
        t, c_prev = c_new + alpha * (c_new - c_prev), c_new
    return c_prev


def _long_clip():
    """The reference target of clip 3, four times over: (257, 512) magnitude and its PGHI start."""
    T = np.tile(ref("target_mag")[3], (1, 4))
    return T, T * np.exp(1j * pghi(T, LONG, kind="mag"))


def test_chunked_fgla_equals_the_coefficient_domain_loop():
    # fgla_clip: chunks of frames, momentum on signals; the same iteration to rounding (FGLA
    # amplifies rounding a little per iteration: ~1e-13 of the peak after 8)
    T, c0 = _long_clip()
    c = fgla(c0, T, LONG, n_iter=8)
    ref_c = _fgla_reference(c0, T, LONG, 8)
    assert np.abs(c - ref_c).max() < 1e-11 * np.abs(ref_c).max()
    # the signal it synthesises on the way is the inverse DGT of its result
    cn, sig = np.ascontiguousarray(c0.T), np.empty(LONG.signal_length)
    out = P.fgla_clip(cn, np.ascontiguousarray(T.T), LONG, 8, 0.99, signal=sig)
    np.testing.assert_array_equal(out.T, c)
    np.testing.assert_allclose(sig, idgt(c, LONG), rtol=0, atol=1e-13 * np.abs(sig).max())
    # and no iteration at all returns the start
    np.testing.assert_array_equal(fgla(c0, T, LONG, n_iter=0), c0)


def test_fgla_numpy_fallback_kernels_agree(monkeypatch):
    from ggan_lib.audio import kernels
    T, c0 = _long_clip()
    c = fgla(c0, T, LONG, n_iter=4)
    for name in ("analysis", "synthesis", "synthesis_add", "fgla_project", "fgla_momentum"):
        monkeypatch.setattr(kernels, name, getattr(kernels, f"_{name}_np"))
    assert np.abs(fgla(c0, T, LONG, n_iter=4) - c).max() < 1e-11 * np.abs(c).max()


def test_compiled_heap_equals_python_fallback_bit_for_bit():
    # the packed records and the index bitmap change where the heap reads, not what it computes:
    # the same visiting order and arithmetic as the heapq version, on real and noise magnitudes
    rng = np.random.default_rng(2)
    noise = np.abs(rng.standard_normal((257, 256)) + 1j * rng.standard_normal((257, 256)))
    for mag, cfg in ((ref("target_mag")[3], CFG), (np.tile(ref("target_mag")[1], (1, 4)), LONG),
                     (noise, AudioConfig(signal_length=32768, spec_shape=(256, 256)))):
        tstep, fstep = P._lattice_gradients(mag, cfg)
        for tol in (1e-7, 1e-2):
            np.testing.assert_array_equal(P._heap_integrate(mag, tstep, fstep, tol),
                                          P._heap_integrate_py(mag, tstep, fstep, tol))
