"""The FID reference: real clips through the same spectrogram + PGHI round trip as generated ones.

Hand-checkable facts: the round trip keeps a clip's length and gives finite audio (digital silence
included); the round-trip reference of a set against itself has FID 0; generated spectrograms that
*are* the spectrograms of the real clips score FID ~0 against the round-trip reference but not
against the raw one (the front end alone moves the raw FID).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from ggan_lib.audio import AudioConfig, audio_to_spectrogram
from ggan_lib.book import reports
from ggan_lib.cli import reproduce as cli
from ggan_lib.experiments import reproduce as rp
from ggan_lib.metrics import (
    ClassifierConfig,
    DigitClassifier,
    FeatureStats,
    compute_is_fid,
    real_statistics,
    roundtrip_audio,
    score_spectrograms,
)

L = 16384
SMALL = AudioConfig(spec_shape=(64, 32))


def tone(freq: float, start: int = 2000, n: int = 8000, amp: float = 0.5) -> np.ndarray:
    """A clip of L samples: digital silence, a tone of n samples from `start`, digital silence."""
    w = np.zeros(L, np.float32)
    t = np.arange(n) / 16000
    w[start:start + n] = amp * np.sin(2 * np.pi * freq * t)
    return w


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    return np.stack([tone(200 * 1.3 ** (i % 6), int(rng.integers(0, 6000))) for i in range(12)])


@pytest.fixture(scope="module")
def clf():
    """An untrained tiny classifier (eval mode): FIDs of identical sets are 0 whatever its weights."""
    torch.manual_seed(0)
    return DigitClassifier(ClassifierConfig(n_classes=3, channels=4)).eval()


def test_roundtrip_of_a_tone_keeps_length_and_is_finite():
    for cfg in (AudioConfig(), SMALL):
        y = roundtrip_audio(tone(440.0), cfg)
        assert y.shape == (L,) and y.dtype == np.float32 and np.isfinite(y).all()
        assert np.abs(y).max() > 0  # the tone survives
    batch = roundtrip_audio(np.stack([tone(300.0), np.zeros(L, np.float32)]), SMALL, batch_size=1)
    assert batch.shape == (2, L) and np.isfinite(batch).all()
    # digital silence comes back as silence: every cell sits at the floor, which AudioConfig.floor_gate gates
    assert np.count_nonzero(batch[1]) == 0
    # inverted literally (floor_gate=None, TiFGAN / tifresi) the floor is a quiet noise bed instead
    literal = roundtrip_audio(np.zeros((1, L), np.float32), dataclasses.replace(SMALL, floor_gate=None))
    assert np.count_nonzero(literal[0]) > 0 and np.abs(literal[0]).max() < 1e-2


def test_roundtrip_equals_pghi_of_the_spectrogram(clips):
    """roundtrip_audio is exactly spectrogram -> the inversion: a stand-in inversion sees the spectrogram."""
    seen = []
    fake = lambda spec: (seen.append(spec.shape), np.zeros((len(spec), L), np.float32))[1]  # noqa: E731
    out = roundtrip_audio(clips[:5], SMALL, to_audio=fake, batch_size=2)
    assert out.shape == (5, L) and seen == [(2, 64, 32), (2, 64, 32), (1, 64, 32)]
    with pytest.raises(ValueError, match="16384 samples"):
        roundtrip_audio(clips[:2, :1000], SMALL)


def test_roundtrip_reference_of_identical_sets_is_zero(clips, clf):
    kw = dict(batch_size=5, feature_kind="spatial_mean", progress=False)
    ref = real_statistics(clips, clf, reference="roundtrip", audio_cfg=SMALL, **kw)
    res = compute_is_fid(clips, ref, clf, n_splits=2, roundtrip_cfg=SMALL, **kw)
    assert res.fid == pytest.approx(0.0, abs=1e-6) and isinstance(res.stats, FeatureStats)
    raw = real_statistics(clips, clf, **kw)
    assert res.fid_against(raw) > 0  # round trip vs raw: the front end alone
    assert math.isnan(res.fid_against(None))
    with pytest.raises(ValueError, match="reference"):
        real_statistics(clips, clf, reference="cooked", **kw)


def test_generated_equal_to_real_spectrograms_score_zero_only_against_roundtrip(clips, clf):
    """'Generated' spectrograms that are the real clips' own: FID 0 against the round-trip reference."""
    specs = torch.from_numpy(audio_to_spectrogram(clips.astype(np.float64), SMALL)).unsqueeze(1)
    kw = dict(n_splits=2, batch_size=4, feature_kind="spatial_mean", audio_cfg=SMALL, progress=False)
    rt = score_spectrograms(specs, clips, clf, reference="roundtrip", **kw)
    raw = score_spectrograms(specs, clips, clf, reference="raw", **kw)
    assert rt.fid == pytest.approx(0.0, abs=1e-6)
    assert raw.fid > 1e-4  # the round trip still changes the clips (the floor gate brings them close)
    assert raw.fid == pytest.approx(rt.fid_against(real_statistics(clips, clf, batch_size=4,
                                                                   feature_kind="spatial_mean", progress=False)))


def test_reproduce_scores_report_both_references(clips, clf, monkeypatch):
    """score_generated / real_reference / score_real: 'fid' (round trip) and 'fid_raw' side by side."""
    monkeypatch.setattr(rp.scoring, "audio_cfg", lambda preset: SMALL)
    score = dict(feature_kind="spatial_mean", n_splits=2)
    row, refs = rp.real_reference(clips, clf, preset="small", **score)
    assert set(refs) == {"roundtrip", "raw"} and math.isnan(row["fid"]) and math.isnan(row["fid_raw"])
    assert 1.0 <= row["is_roundtrip"] <= 3.0 + 1e-9
    same = rp.score_real(clips, refs["roundtrip"], clf, preset="small", raw_stats=refs["raw"], **score)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6) and same["fid_raw"] == pytest.approx(0.0, abs=1e-6)
    assert same["fid_roundtrip_vs_raw"] > 1e-4  # the front end alone
    specs = torch.from_numpy(audio_to_spectrogram(clips.astype(np.float64), SMALL)).unsqueeze(1)
    gen = rp.score_generated(specs, refs["roundtrip"], clf, raw_stats=refs["raw"], preset="small", **score)
    assert gen["fid"] == pytest.approx(0.0, abs=1e-6) and gen["fid_raw"] > 1e-4
    assert gen["fid_reference"] == "roundtrip" and gen["n_scored"] == len(clips)


def test_table1_has_both_fids_and_load_table(tmp_path, capsys):
    """Table I shows FID (round trip) and FID (raw); load_table reads what write_table wrote, or says it is absent."""
    assert rp.load_table(tmp_path, 1) is None
    assert "table1.csv does not exist yet" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="table2.csv"):
        rp.load_table(tmp_path, 2, missing="raise")
    o = cli.options(cli.parse_args(["--table", "1", "--preset", "tiny", "--out", str(tmp_path),
                                  "--metric-classifier", str(tmp_path / "c.pt")]))
    runs = rp.plan(1, o)
    gg = next(r for r in runs if r.name == "eval_ggan_f5_d0")
    metrics = {"generated": {"is": 2.0, "is_std": 0.1, "fid": 12.5, "fid_raw": 150.0, "heard_as_code": 0.786,
                             "note": ""},
               "real_train": {"is": 3.0, "is_std": 0.1, "is_roundtrip": 2.5, "fid": math.nan, "fid_raw": math.nan},
               "real_test": {"is": 2.9, "is_std": 0.1, "is_roundtrip": 2.4, "fid": 0.4, "fid_raw": 0.1,
                             "heard_as_label": 0.956, "heard_as_label_roundtrip": 0.928},
               "judge": {"heldout_speakers": ["theo"], "heldout_raw": 0.7, "heldout_roundtrip": 0.65}}
    rp.write_result(tmp_path / "runs" / gg.name, "evaluate", gg.params, metrics)
    reports.write_table(tmp_path, 1, runs)
    df = rp.load_table(tmp_path, 1).set_index("model")
    assert df.loc["GGAN", "fid"] == 12.5 and df.loc["GGAN", "fid_raw"] == 150.0
    assert df.loc["Real (Test Data)", "fid"] == 0.4 and df.loc["Real (Train Data)", "is_roundtrip"] == 2.5
    md = (tmp_path / "table1.md").read_text()
    assert "FID (ours, round trip)" in md and "FID (ours, raw)" in md and "150.00" in md
    assert isinstance(df, pd.DataFrame)
    # beside IS / FID: how often the judge hears a clip as its digit, and the judge on a speaker it never heard
    assert df.loc["GGAN", "heard_as"] == 0.786 and df.loc["Real (Test Data)", "heard_as_roundtrip"] == 0.928
    assert df.loc[rp.tables.JUDGE_ROW, "heard_as"] == 0.7 and "theo" in df.loc[rp.tables.JUDGE_ROW, "note"]
    assert "| 78.6 " in md and "95.6 (round trip 92.8)" in md and "70.0 (round trip 65.0)" in md
    assert "the metric classifier, on every clip of theo" in df.loc[rp.tables.JUDGE_ROW, "note"]
    # a judge that heard every speaker: its recipe's figure (a sibling's), named as such
    metrics["judge"]["heldout_of"] = "the same recipe trained without theo (sib.pt)"
    rp.write_result(tmp_path / "runs" / gg.name, "evaluate", gg.params, metrics)
    reports.write_table(tmp_path, 1, runs)
    note = rp.load_table(tmp_path, 1).set_index("model").loc[rp.tables.JUDGE_ROW, "note"]
    assert note == "the same recipe trained without theo (sib.pt), on every clip of theo"
    assert (tmp_path / "table1_runs.csv").is_file()


def test_heard_as_counts_hits_per_class_over_the_scored_clips_only():
    """ScoreResult.heard_as: by hand, with one clip excluded (kept = the scored clips' input indices)."""
    from ggan_lib.metrics.scores import ScoreResult
    res = ScoreResult(1.0, 0.0, math.nan, 4, n_excluded=1, preds=np.array([0, 1, 1, 2]), kept=np.array([0, 1, 3, 4]))
    overall, per = res.heard_as([0, 1, 2, 2, 2], n_classes=3)  # input clip 2 was excluded
    assert overall == pytest.approx(0.75) and per[0] == 1.0 and per[1] == 1.0 and per[2] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="labels for"):
        res.heard_as([0, 1, 2])
    with pytest.raises(ValueError, match="no predictions"):
        ScoreResult(1.0, 0.0, math.nan, 4).heard_as([0])


def test_score_generated_reports_how_often_a_code_is_heard(clips, clf, monkeypatch):
    """score_generated(codes=...): heard_as_code equals the classifier's own predictions compared by hand."""
    from ggan_lib.metrics.train_classifier import predict
    monkeypatch.setattr(rp.scoring, "audio_cfg", lambda preset: SMALL)
    specs = torch.from_numpy(audio_to_spectrogram(clips.astype(np.float64), SMALL)).unsqueeze(1)
    codes = rp.generated_codes("ggan", len(specs), 3)
    gen = rp.score_generated(specs, None, clf, preset="small", feature_kind="spatial_mean", n_splits=2, codes=codes)
    pred = predict(clf, roundtrip_audio(clips, SMALL))
    assert gen["heard_as_code"] == pytest.approx(float((pred == codes).mean()))
    assert len(gen["heard_per_code"]) == 3 and rp.generated_codes("unsupervised_biggan", 5, 3) is None
