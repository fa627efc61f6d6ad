"""The benchmark scripts run and report what they claim (figures themselves are never asserted)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_pghi  # noqa: E402
import bench_train  # noqa: E402
import estimate_memory  # noqa: E402


def test_bench_train_reports_every_figure():
    """One tiny fp32 iteration: it/s, peak memory, every phase timed, 4 G forwards, FLOPs counted."""
    r = bench_train.bench("tiny", 4, "cpu", "fp32", 1, 0)
    assert r["it_per_s"] > 0 and r["peak_mem_GiB"] > 0 and r["peak_kind"] == "cpu_max_rss"
    assert set(r["phase_s_per_iter"]) == {"fakes(D)", "D1", "D2", "Df", "ECG", "FC"}
    assert r["g_forwards_per_iter"] == 4      # k = 2 shared fakes + ECG + FC
    assert r["flops_per_iter"] > r["g_fwd_flops_per_sample"] > 0


def test_bench_train_reports_oom_and_goes_on(monkeypatch):
    """A mode that does not fit is reported as such instead of ending the run."""
    def boom(*a):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore")
    monkeypatch.setattr(bench_train, "bench", boom)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    r = bench_train.bench_or_oom("paper", 64, "cuda", "fp32", 5, 2)
    assert r == {"preset": "paper", "batch": 64, "mode": "fp32",
                 "oom": "CUDA out of memory. Tried to allocate 2.00 GiB"}


def test_live_storage_counts_and_frees():
    """The memory estimator counts each storage once (views included) and sees it freed."""
    mode = estimate_memory.LiveStorage()
    with mode:
        a = torch.ones(1000, 250)            # 1e6 bytes
        b = a * 2
        v = b[:10]
        del b
        assert mode.current == 2_000_000      # the view keeps b's storage alive
        del v
        assert mode.current == 1_000_000
    assert mode.peak == 2_000_000


@pytest.mark.parametrize("attention", ["fused", "math"])
def test_memory_estimate_grows_with_batch(attention):
    """Two tiny batches give a positive per-sample slope; the extrapolation is affine."""
    a = estimate_memory.measure("tiny", 2, "off", attention)
    b = estimate_memory.measure("tiny", 4, "off", attention)
    assert b["peak"] > a["peak"] > a["resident"] > 0
    assert set(a["phase_peak"]) == {"D1", "D2", "Df", "ECG", "FC"}
    est = estimate_memory.extrapolate(a, b, 8)
    assert est["peak"] == pytest.approx(b["peak"] + 4 * (b["peak"] - a["peak"]) / 2)


def test_bench_pghi_length_ratios_are_per_round_and_relative_to_l_log_l():
    """Each round's ms/clip at L over its own first-L figure, divided by (L log L) / (L0 log L0)."""
    import math
    rows = {16384: [[2.0, 20.0], [4.0, 40.0]], 32768: [[4.4, 40.0], [8.0, 100.0]]}
    nl = 2 * math.log(32768) / math.log(16384)
    r = bench_pghi.length_ratios(rows)
    assert r[16384] == [[1.0, 1.0], [1.0, 1.0]]
    assert r[32768][0] == pytest.approx([2.2 / nl, 2.0 / nl]) and r[32768][1] == pytest.approx([2 / nl, 2.5 / nl])
    assert bench_pghi._median_range([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)


def test_bench_pghi_length_table_runs_in_rounds(capsys):
    """Two lengths, one clip, two rounds: one [PGHI, PGHI + FGLA] pair per round per length, printed."""
    from ggan_lib.audio import load_audio
    from ggan_lib.data.paths import default_fsdd_dir
    files = bench_pghi.pick_clips(default_fsdd_dir(), 1)
    rows = bench_pghi.run_lengths(files, [16384, 32768], 1, 1, load_audio, rounds=2)
    assert set(rows) == {16384, 32768} and all(len(v) == 2 and all(len(p) == 2 for p in v) for v in rows.values())
    assert all(ms > 0 for v in rows.values() for p in v for ms in p)
    bench_pghi.print_lengths(rows)
    assert "2 rounds" in capsys.readouterr().out


def test_bench_pghi_abba_ratio_sees_a_per_call_cost(capsys):
    """A path whose every call costs the same CPU time, whatever its batch: 64 one-clip calls cost about 64
    batch calls, so the ABBA ratio is far above 1; one ratio per quad, printed with its interval."""
    import numpy as np

    def per_call(batch):
        t0 = time.process_time()
        while time.process_time() - t0 < 2e-3:
            pass
        return batch

    out = bench_pghi.run_abba({"fixed cost": per_call}, list(np.zeros((64, 2, 2))), quads=2)
    assert len(out["fixed cost"]) == 2 and min(out["fixed cost"]) > 10
    bench_pghi.print_abba(out)
    assert "| fixed cost |" in capsys.readouterr().out
