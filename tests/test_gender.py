"""Gender guidance from another corpus (ggan_lib.experiments.gender*, book.gender_report, cli.gender):
data split, measures, the one-command CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from ggan_lib.book import gender_report
from ggan_lib.cli import gender as gender_cli
from ggan_lib.data import DigitFolder
from ggan_lib.experiments import gender

SR = 16000


def _tone(freq: float, seconds: float = 0.8) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("freq", [150.0, 220.0])
def test_f0_of_a_pure_tone(freq):
    f0, voiced = gender.f0_pyin(np.pad(_tone(freq), (0, 16384 - int(0.8 * SR))))
    assert abs(f0 - freq) < 4.0
    assert voiced > 0.5


def test_f0_of_silence_is_nan_and_centroid_follows_frequency():
    assert np.isnan(gender.f0_pyin(np.zeros(16384))[0])
    assert gender.spectral_centroid(_tone(300.0)) < gender.spectral_centroid(_tone(1200.0))


def test_voice_split_holds_out_whole_voices_per_class():
    speakers = [f"m{i}" for i in range(4) for _ in range(3)] + [f"f{i}" for i in range(4) for _ in range(3)]
    labels = [0] * 12 + [1] * 12
    train, test = gender.voice_split(speakers, labels, n_test_per_class=2, seed=0)
    assert not set(train) & set(test)
    assert set(train) | set(test) == set(speakers)
    assert sum(s.startswith("m") for s in test) == 2 and sum(s.startswith("f") for s in test) == 2
    assert gender.voice_split(speakers, labels, 2, seed=0) == (train, test)
    with pytest.raises(ValueError):
        gender.voice_split(speakers, labels, n_test_per_class=4)


def test_unlabelled_voices_are_whole_voices_of_both_genders_out_of_the_guidance_set(monkeypatch):
    """--unlabelled-voices-per-class: the voices whose digits join the unlabelled set come from the guidance
    training voices, k per gender, disjoint from the held-out ones; 0 moves none (the old experiment)."""
    from ggan_lib.experiments import gender_run
    from ggan_lib.experiments.gender_run import GenderRun, split_voices, unlabelled_voices
    # the synthetic corpus's listing (8 + 8 voices, 3 clips each), without the corpus on disk
    speakers = [f"{g}{i}" for g in "mf" for i in range(8) for _ in range(3)]
    genders = np.array([0 if s[0] == "m" else 1 for s in speakers])
    monkeypatch.setattr(gender_run, "guidance_speakers", lambda name: (speakers, genders))
    gender_of = dict(zip(speakers, genders.tolist()))
    run = GenderRun(unlabelled_voices_per_class=3)
    train, test = split_voices(run)
    moved = unlabelled_voices(run, train)
    assert len(moved) == 6 and set(moved) <= set(train) and not set(moved) & set(test)
    assert sorted(gender_of[v] for v in moved) == [0, 0, 0, 1, 1, 1]
    assert unlabelled_voices(GenderRun(), train) == []
    with pytest.raises(ValueError, match="guidance 'voices'"):
        unlabelled_voices(GenderRun(guidance="librispeech", unlabelled_voices_per_class=1), train)


def test_corpus_balance_repeats_the_added_digits_to_the_corpus_size():
    """--unlabelled-balance corpus: the added synthetic digits are repeated until the two corpora are about
    equal; 'none' appends them once; a bad name is refused."""
    from ggan_lib.experiments.gender_run import balance_corpora
    X, V = torch.zeros(2250, 1, 4, 2), torch.arange(180.0).reshape(180, 1, 1, 1).expand(180, 1, 4, 2)
    assert len(balance_corpora(X, V, "none")) == 2430
    both = balance_corpora(X, V, "corpus")
    assert len(both) == 2250 + 180 * 12  # round(2250 / 180) = 12
    assert torch.equal(both[2250 + 180:2250 + 360], V) and torch.equal(both[:2250], X)
    assert len(balance_corpora(X, X, "corpus")) == 4500  # already as large: once
    with pytest.raises(ValueError, match="balance"):
        balance_corpora(X, V, "gender")


@pytest.fixture
def gender_dir(tmp_path, make_tone):
    """3 'male' (low tones) and 3 'female' (high tones) speakers, 4 clips each, named {gender}_{speaker}_{k}."""
    root = tmp_path / "guide"
    for g, base in ((0, 120), (1, 230)):
        for s in range(3):
            for k in range(4):
                make_tone(root / f"{g}_{'mf'[g]}{s}_{k}.wav", base + 10 * s + 3 * k, sr=16000, seconds=0.5)
    return root


def test_guidance_set_is_independent_of_the_unlabelled_set(digit_dir, gender_dir, spec_cache):
    X = DigitFolder(digit_dir, split="all", cfg=gender._audio_cfg((16, 8)), cache_dir=spec_cache, progress=False)
    guide = gender.load_guidance(str(gender_dir), (16, 8))
    assert guide.n_classes == 2 and len(guide) == 24
    tr = gender.guided_trainer(X, guide, preset="tiny", progress=False, tensorboard=False)
    assert tr.mcfg.n_classes == 2 and len(tr.X) == len(X) and len(tr.Xl) == 24
    tr.step()
    s_m, s_f = gender.paired_samples(tr.model, 3)
    assert s_m.shape == s_f.shape == (3, 1, 16, 8)
    assert not torch.equal(s_m, s_f)  # c changes the output for the same z


def test_cli_end_to_end_and_rerun_only_evaluates(tmp_path, digit_dir, gender_dir):
    out, run, model = tmp_path / "out", tmp_path / "run", tmp_path / "model.pt"
    args = ["--preset", "tiny", "--iters", "2", "--unlabelled", str(digit_dir), "--guidance", str(gender_dir),
            "--test-voices-per-class", "1", "--out", str(out), "--run-dir", str(run), "--export", str(model),
            "--n-eval", "4", "--n-ref", "2", "--classifier-epochs", "1", "--metric-classifier", "none",
            "--progress", "false", "--threads", "1"]
    assert gender_cli.main(args) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["training"]["iteration"] == 2
    g = m["generated"]
    assert len(g["p_female"]["male"]) == len(g["f0"]["female"]) == 4
    test = m["gender_classifier"]["test_speakers"]
    assert len(test) == 2 and {t[0] for t in test} == {"m", "f"}
    assert not set(m["gender_classifier"]["test_speakers"]) & set(m["gender_classifier"]["train_speakers"])
    assert gender_report.verdict(m) in (out / "summary.md").read_text() and "guidance" in gender_report.verdict(m).lower()
    m2 = json.loads(json.dumps(m))  # a second "seed": the seeds table puts the runs side by side
    m2["generated"]["fraction_heard_female"] = {"male": 0.25, "female": 0.75}
    seeds = gender_report.seeds_table({"a": m, "b": m2})
    assert list(seeds.columns) == ["a", "b"]
    assert seeds.loc["c = female heard as female", "b"] == 0.75 and seeds.loc["c = male heard as male", "b"] == 0.75
    assert seeds.loc["c = female heard as female", "a"] == g["fraction_heard_female"]["female"]
    assert (out / "f0_centroid.png").exists() and (out / "audio" / "z0_female.wav").exists()
    assert sf.info(out / "audio" / "z0_male.wav").samplerate == SR
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["metrics"]["gender_heard_female"].keys() == {"male", "female"} and "espeak" in card["licence"]
    from ggan_lib.experiments.pretrained import load_pretrained
    assert load_pretrained(model).model_cfg.n_classes == 2
    mtime = (run / "checkpoint.pt").stat().st_mtime_ns
    assert gender_cli.main(args) == 0  # finished training: only evaluates (the cached gender classifier is reused)
    assert (run / "checkpoint.pt").stat().st_mtime_ns == mtime
    assert json.loads((out / "metrics.json").read_text())["training"]["train_seconds_this_call"] == 0.0


def test_reading_follows_the_measured_figures():
    """gender_report.reading on the committed runs: FSDD alone (c does not act) and the balanced corpora
    (c = female heard as female 64 %): each says what its figures say, the Cx sentence included."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "results"
    fail = gender_report.reading(json.loads((root / "gender-small" / "metrics.json").read_text()))
    works = gender_report.reading(json.loads((root / "gender-small-balanced" / "metrics.json").read_text()))
    assert "does **not** reproduce" in fail and "does not act on it" in fail
    assert "hears 64% of the c = female clips as female against 17%" in works and "both carry gender" in works
    assert "not** reproduce" not in works
