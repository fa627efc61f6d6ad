"""Tests of ggan_lib.metrics: IS / FID by hand, the digit classifier, its training and checkpoints."""
import math
import warnings

import numpy as np
import pytest
import torch

from ggan_lib.metrics import (
    CheckpointError,
    ClassifierConfig,
    DigitClassifier,
    NonFiniteSpectrogramError,
    classifier_outputs,
    compute_is_fid,
    feature_statistics,
    frechet_distance,
    inception_score,
    load_classifier,
    real_statistics,
    save_classifier,
    score_spectrograms,
)
from ggan_lib.metrics.train_classifier import accuracy, augment, train_classifier

L = 16384
TINY = ClassifierConfig(n_classes=3, channels=8)


def tones(n_per_class: int, n_classes: int = 3, seed: int = 0):
    """Synthetic 'digits': class k is a noisy tone at 300 * 2^k Hz with a random onset."""
    rng = np.random.default_rng(seed)
    t = np.arange(8000) / 16000
    waves, labels = [], []
    for k in range(n_classes):
        for _ in range(n_per_class):
            w = np.zeros(L, np.float32)
            start = rng.integers(0, 4000)
            f = 300 * 2 ** k * rng.uniform(0.95, 1.05)
            w[start:start + 8000] = 0.5 * np.sin(2 * np.pi * f * t) + 0.02 * rng.normal(size=8000)
            waves.append(w)
            labels.append(k)
    return np.stack(waves), np.array(labels)


@pytest.fixture(scope="module")
def tiny_model():
    """A tiny classifier trained for a few steps on synthetic tones (shared by several tests)."""
    x, y = tones(14)
    model, losses = train_classifier(x, y, TINY, epochs=10, batch_size=14, lr=3e-3, max_shift=400,
                                     class_names=["low", "mid", "high"], progress=False)
    return model, losses, x, y


# ------------------------------------------------------------------ inception score
def test_is_uniform_predictions_is_one():
    mean, std = inception_score(np.full((100, 10), 0.1), n_splits=10)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


def test_is_balanced_one_hot_is_n_classes():
    n = 7
    probs = np.tile(np.eye(n), (10, 1))  # each of the 10 splits holds every class once
    mean, std = inception_score(probs, n_splits=10, shuffle_seed=None)
    assert mean == pytest.approx(n) and std == pytest.approx(0.0, abs=1e-9)


def test_is_does_not_depend_on_class_order():
    probs = np.repeat(np.eye(5), 200, axis=0)  # sorted by class, like a folder listing
    assert inception_score(probs, n_splits=10, shuffle_seed=None)[0] < 1.5  # each split ~one class
    assert inception_score(probs, n_splits=10)[0] == pytest.approx(5, rel=0.03)


def test_is_hand_computed_two_clips():
    probs = np.array([[0.9, 0.1], [0.1, 0.9]])  # marginal (0.5, 0.5)
    kl = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)  # same for both clips
    assert inception_score(probs, n_splits=1)[0] == pytest.approx(math.exp(kl))


def test_is_rejects_non_probabilities():
    with pytest.raises(ValueError):
        inception_score(np.ones((20, 3)), n_splits=2)


# ------------------------------------------------------------------ Frechet distance
def test_fid_identical_features_is_zero():
    f = np.random.default_rng(0).normal(size=(500, 16))
    s = feature_statistics(f)
    assert frechet_distance(s.mu, s.sigma, s.mu, s.sigma) == pytest.approx(0.0, abs=1e-6)


def test_fid_closed_form_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    # ||mu1 - mu2||^2 + sum(v1 + v2 - 2 sqrt(v1 v2)) = 7.25 + (4 + 1 + 0)
    expected = 1 + 0 + 6.25 + (1 + 9 - 6) + (4 + 1 - 4) + 0.0
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected)


def test_fid_from_samples_matches_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2, v1, v2 = np.array([0.0, 2.0]), np.array([1.0, 0.0]), np.array([1.0, 4.0]), np.array([4.0, 1.0])
    a = feature_statistics(mu1 + np.sqrt(v1) * rng.normal(size=(200_000, 2)))
    b = feature_statistics(mu2 + np.sqrt(v2) * rng.normal(size=(200_000, 2)))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))  # 5 + 2
    assert frechet_distance(a.mu, a.sigma, b.mu, b.sigma) == pytest.approx(expected, abs=0.05)


def test_fid_singular_covariances_stay_finite():
    rng = np.random.default_rng(2)
    a, b = feature_statistics(rng.normal(size=(10, 40))), feature_statistics(rng.normal(size=(10, 40)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(frechet_distance(a.mu, a.sigma, b.mu, b.sigma))


# ------------------------------------------------------------------ classifier
def test_classifier_shapes_full_recipe():
    model = DigitClassifier().eval()
    x = torch.randn(2, L) * 0.1
    assert model.front(x).shape == (2, 1, 128, 128)
    assert model.logits(x).shape == (2, 10)
    assert model.features(x).shape == (2, 8192) == (2, ClassifierConfig().feat_dim)
    assert model.features(x, "spatial_mean").shape == (2, 128)
    assert model.features(x.unsqueeze(1), "logits").shape == (2, 10)
    with pytest.raises(ValueError):
        model.logits(torch.zeros(2, 16000))


def test_front_end_buffers_follow_the_module():
    names = {n for n, _ in DigitClassifier(TINY).named_buffers()}
    assert {"front.mel_basis", "front.window"} <= names
    assert "front.mel_basis" not in DigitClassifier(TINY).state_dict()  # rebuilt from settings


def test_augment_keeps_shape_and_shifts():
    x = torch.zeros(3, L)
    x[:, 100] = 1.0
    y = augment(x, max_shift=50, gain_db=0.0, gen=torch.Generator().manual_seed(0))
    assert y.shape == x.shape and torch.allclose(y.sum(1), torch.ones(3))
    assert (y.argmax(1) - 100).abs().max() <= 50


def test_tiny_training_lowers_loss(tiny_model):
    model, losses, x, y = tiny_model
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    assert accuracy(model, x, y, batch_size=16) > 0.6


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip(tiny_model, tmp_path):
    model, _, x, _ = tiny_model
    path = save_classifier(model, tmp_path / "c.pt", test_accuracy=0.5)
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write leaves no temporary file
    raw = torch.load(path, weights_only=True)
    assert raw["config"] == TINY.to_dict() and raw["test_accuracy"] == 0.5
    loaded = load_classifier(path, expect=TINY)
    assert loaded.class_names == ["low", "mid", "high"] and loaded.test_accuracy == 0.5
    xt = torch.from_numpy(x[:4])
    torch.testing.assert_close(loaded.logits(xt), model.eval().logits(xt))


def test_checkpoint_mismatch_errors(tiny_model, tmp_path):
    model, _, _, _ = tiny_model
    path = save_classifier(model, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="channels"):
        load_classifier(path, expect=ClassifierConfig(n_classes=3, channels=16))
    ckpt = torch.load(path, weights_only=True)
    ckpt["config"]["channels"] = 16  # settings no longer match the stored weights
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="does not match"):
        load_classifier(tmp_path / "bad.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="expected"):
        load_classifier(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="no such"):
        load_classifier(tmp_path / "missing.pt")


# ------------------------------------------------------------------ scoring audio and spectrograms
def test_compute_is_fid_real_vs_itself(tiny_model):
    model, _, x, _ = tiny_model
    res = compute_is_fid(x, x, model, batch_size=16, n_splits=2, feature_kind="spatial_mean", progress=False)
    assert res.n_scored == len(x) and res.fid == pytest.approx(0.0, abs=1e-6)
    assert 1.0 <= res.is_mean <= 3.0 + 1e-9
    stats = real_statistics(x, model, batch_size=16, feature_kind="spatial_mean", progress=False)
    _, feats = classifier_outputs(x, model, batch_size=16, feature_kind="spatial_mean", progress=False)
    np.testing.assert_allclose(stats.sigma, feature_statistics(feats).sigma, atol=1e-8)
    other = compute_is_fid(x[::2], (stats.mu, stats.sigma), model, n_splits=2,
                           feature_kind="spatial_mean", progress=False)
    assert other.fid > 0
    with pytest.raises(ValueError, match="dims"):
        compute_is_fid(x, stats, model, n_splits=2, feature_kind="logits", progress=False)
    assert math.isnan(compute_is_fid(x, None, model, n_splits=2, progress=False).fid)


def _fake_inverse(specs):
    """Stand-in for PGHI: must never see a non-finite spectrogram."""
    assert np.isfinite(specs).all()
    return tones(len(specs), 1)[0][: len(specs)]


def test_score_spectrograms_nan_handling(tiny_model):
    model, _, _, _ = tiny_model
    specs = np.random.default_rng(0).uniform(-1, 1, size=(8, 1, 32, 16)).astype(np.float32)
    specs[2, 0, 5, 5] = np.nan
    specs[6, 0, 0, 0] = np.inf
    with pytest.raises(NonFiniteSpectrogramError, match="2 of 8"):
        score_spectrograms(specs, None, model, to_audio=_fake_inverse, n_splits=2, progress=False)
    with pytest.warns(UserWarning, match="excluding 2"):
        res = score_spectrograms(torch.from_numpy(specs), None, model, on_nonfinite="exclude",
                                 to_audio=_fake_inverse, n_splits=2, progress=False)
    assert res.n_scored == 6 and res.n_excluded == 2


def test_score_spectrograms_through_pghi(tiny_model):
    pytest.importorskip("ggan_lib.audio.pghi")
    from ggan_lib.audio import AudioConfig, audio_to_spectrogram

    model, _, x, _ = tiny_model
    cfg = AudioConfig()
    specs = audio_to_spectrogram(x[::7][:4], cfg)  # (4, 256, 128)
    res = score_spectrograms(specs, None, model, audio_cfg=cfg, n_splits=2, progress=False)
    assert res.n_scored == 4 and np.isfinite(res.is_mean)


def test_cli_on_a_tiny_digit_folder(tmp_path):
    import soundfile as sf

    from ggan_lib.cli.classifier import main
    from ggan_lib.data.sources import list_digit_folder

    x, y = tones(6, n_classes=2)
    for i, (w, d) in enumerate(zip(x, y)):
        sf.write(tmp_path / f"{d}_spk_{i % 6}.wav", w[:8000:2], 8000)  # 8 kHz like FSDD
    (tmp_path / "notes.wav").write_bytes(b"")  # not `{digit}_{speaker}_{index}`: ignored
    assert len(list_digit_folder(tmp_path, "test")) == 10 and len(list_digit_folder(tmp_path, "train")) == 2
    out = tmp_path / "ckpt" / "clf.pt"
    acc = main(["--data", str(tmp_path), "--out", str(out), "--epochs", "1", "--channels", "4",
                "--batch-size", "4"])
    loaded = load_classifier(out)
    assert loaded.test_accuracy == acc and loaded.class_names == ["0", "1"]
    assert loaded.extra["n_train"] == 2
    again = main(["--data", str(tmp_path), "--out", str(out), "--epochs", "1", "--channels", "4",
                  "--init", str(out)])  # continue training from the checkpoint
    assert 0.0 <= again <= 1.0 and load_classifier(out).extra["init"] == str(out)


def test_cli_held_out_speaker_records_raw_and_round_trip_accuracy(tmp_path):
    """--test-speaker: train on the other speakers, test on every clip of it, and record the held-out
    accuracy raw and after each round trip; --epochs 0 --init re-measures without training."""
    import soundfile as sf

    from ggan_lib.cli.classifier import main
    from ggan_lib.metrics.train_classifier import HELDOUT_SHAPES, heldout_summary

    x, y = tones(8, n_classes=2)
    for i, (w, d) in enumerate(zip(x, y)):
        sf.write(tmp_path / f"{d}_{'ab'[i % 2]}_{i}.wav", w[:8000:2], 8000)
    out = tmp_path / "clf.pt"
    acc = main(["--data", str(tmp_path), "--out", str(out), "--epochs", "1", "--channels", "4",
                "--batch-size", "4", "--test-speaker", "b"])
    held = load_classifier(out).extra["heldout"]
    assert held["speakers"] == ["b"] and held["n"] == 8 and held["raw"] == acc
    assert set(held["roundtrip"]) == {f"{h}x{w}" for h, w in HELDOUT_SHAPES}
    assert all(0.0 <= v <= 1.0 for v in held["roundtrip"].values())
    summary = heldout_summary(load_classifier(out), (64, 32))
    assert summary["heldout_raw"] == acc and summary["heldout_roundtrip"] == held["roundtrip"]["64x32"]
    assert math.isnan(heldout_summary(load_classifier(out)).get("heldout_roundtrip"))
    before = out.read_bytes()
    again = main(["--data", str(tmp_path), "--out", str(out), "--epochs", "0", "--init", str(out),
                  "--channels", "4", "--test-speaker", "b"])
    assert again == acc and load_classifier(out).extra["heldout"] == held and len(out.read_bytes()) == len(before)


def test_a_judge_that_heard_everyone_reports_its_recipes_held_out_figure(tmp_path):
    """--heldout-from: the held-out figures of a sibling (same settings, trained without a speaker) recorded
    beside a classifier that heard every speaker; heldout_summary reads them and says whose they are; its own
    figures win; a sibling of other settings, or without figures, is refused."""
    import soundfile as sf

    from ggan_lib.cli.classifier import main
    from ggan_lib.metrics.train_classifier import heldout_summary, recipe_heldout_path

    x, y = tones(8, n_classes=2)
    for i, (w, d) in enumerate(zip(x, y)):
        sf.write(tmp_path / f"{d}_{'ab'[i % 2]}_{i}.wav", w[:8000:2], 8000)
    judge, sib, other = tmp_path / "judge.pt", tmp_path / "sib.pt", tmp_path / "other.pt"
    common = ["--data", str(tmp_path), "--epochs", "1", "--batch-size", "4"]
    main(common + ["--out", str(judge), "--channels", "4"])  # FSDD-style split: heard both speakers
    main(common + ["--out", str(sib), "--channels", "4", "--test-speaker", "b"])
    main(common + ["--out", str(other), "--channels", "6", "--test-speaker", "b"])
    assert heldout_summary(load_classifier(judge), (64, 32), judge)["heldout_of"] == ""  # nothing recorded yet
    with pytest.raises(ValueError, match="not the same recipe"):
        main(["--heldout-from", str(other), "--init", str(judge)])
    with pytest.raises(ValueError, match="no held-out-speaker figures"):
        main(["--heldout-from", str(judge), "--init", str(judge)])
    before = judge.read_bytes()
    main(["--heldout-from", str(sib), "--init", str(judge)])
    assert judge.read_bytes() == before and recipe_heldout_path(judge).is_file()  # the judge itself unchanged
    held = load_classifier(sib).extra["heldout"]
    s = heldout_summary(load_classifier(judge), (64, 32), judge)
    assert s["heldout_raw"] == held["raw"] and s["heldout_roundtrip"] == held["roundtrip"]["64x32"]
    assert s["heldout_speakers"] == ["b"] and "same recipe trained without b" in s["heldout_of"]
    assert math.isnan(heldout_summary(load_classifier(judge), (64, 32))["heldout_raw"])  # no path: no sidecar
    own = heldout_summary(load_classifier(sib), (64, 32), sib)
    assert own["heldout_of"] == "this classifier" and own["heldout_raw"] == held["raw"]
    with pytest.raises(SystemExit):
        main(["--heldout-from", str(sib)])  # beside which classifier?
