"""Guidance from another corpus (paper sections IV-C and V): a gender-guided GGAN, trained and measured.

The paper trains GGAN on SC09 digits (unlabelled, no speaker or gender labels) with guidance from
LibriSpeech gender labels (50 male + 50 female speakers, 5 min each, 1 s clips; n = 2 classes) and
reports IS 6.52 +- 0.5 and FID 26.21 +- 0.1, i.e. male and female spoken digits although the guidance
set holds no digits. Here the two data sets are independent arguments:

    from ggan_lib.experiments.gender import guided_trainer, load_unlabelled, load_guidance
    X = load_unlabelled("fsdd", spec_shape=(64, 32))                  # or "sc09", or a folder of audio
    guide = load_guidance("voices", spec_shape=(64, 32), split="train", test_speakers=[...])
    trainer = guided_trainer(X, guide, preset="small")                # n_classes = guide.n_classes

The offline experiment (one command, resumable: a rerun after a finished training only evaluates)::

    python -m ggan_lib.cli.gender --preset small --iters 1400 --threads 1 \\
        --out results/gender-small --run-dir runs/gender-small --export models/ggan_gender_small.pt

unlabelled = the FSDD training split (adult male speakers), guidance = the synthetic espeak-ng corpus
(data/synthetic_voices/words: 40 non-digit words per voice, 8 male + 8 female voices, so gender is
the only thing its labels carry); ``--test-voices-per-class`` voices of each gender are held out of the
guidance set and used only to test the independent gender classifier.

What is measured (``measure``), for the same latent codes z generated once with c = male and once
with c = female, through PGHI audio:

* an independent gender classifier (a small log-mel CNN, ggan_lib.metrics' DigitClassifier with
  n_classes = 2, trained here on the guidance voices' words sent through the model's spectrogram
  resolution + PGHI, the footing of generated audio): its accuracy on held-out voices (words and
  digits), its verdict on real FSDD clips, and P(female) of the generated clips per c;
* pitch F0 (librosa.pyin, median over voiced frames) per clip per c, with real references sent
  through the same round trip (at 64 x 32 the round trip itself destroys pitch; see ``REFERENCE``);
* the spectral centroid (energy-weighted mean frequency), a spectral-envelope measure that survives
  the 64 x 32 resolution (formants of female voices lie higher);
* digit IS / FID with the project's metric classifier (models/metric_classifier_fsdd.pt) per c and
  overall, and how often the same z keeps its digit when c flips (c should change gender, not digit).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ggan_lib.io import paths
from ggan_lib.io import atomic

CLASS_NAMES = ("male", "female")  # label convention of every gender set: 0 = male, 1 = female
SR = 16000
REPO = paths.REPO_ROOT
DEFAULT_EXPORT = REPO / "models" / "ggan_gender_small.pt"
DEFAULT_CLASSIFIER = REPO / "models" / "metric_classifier_fsdd.pt"
DATA_LICENCE = ("Unlabelled data: the Free Spoken Digit Dataset (FSDD; Jakobovski/free-spoken-digit-dataset, "
                "CC BY-SA 4.0; credit: the FSDD contributors). Guidance data: synthetic voices generated offline "
                "with espeak-ng (GPL-3.0 program; its speech output is not restricted) by "
                "data_scripts/make_synthetic_voices.py. The weights and the audio they generate derive from FSDD: "
                "share them under CC BY-SA 4.0 with the same credit.")
LIBRI_LICENCE = "LibriSpeech (OpenSLR 12, CC BY 4.0, Panayotov et al. 2015)"
SC09_LICENCE = "Speech Commands v0.02 digits (CC BY 4.0, Warden 2018)"


# --------------------------------------------------------------------------- data
def _audio_cfg(spec_shape):
    from ggan_lib.audio import AudioConfig
    return AudioConfig(spec_shape=tuple(spec_shape))


def load_unlabelled(name: str = "fsdd", spec_shape=(64, 32), *, progress: bool = False, workers: int = 1):
    """The unlabelled set X (N, 1, H, W): 'fsdd' (its training split), 'sc09' (train) or a folder of
    ``{digit}_{speaker}_{index}.wav`` files (all of them). Returns the dataset (``.as_tensors()``)."""
    from ggan_lib.data import DigitFolder, sc09
    cfg = _audio_cfg(spec_shape)
    if name == "fsdd":
        return DigitFolder(None, split="train", cfg=cfg, progress=progress, workers=workers)
    if name == "sc09":
        return sc09("train", cfg=cfg, progress=progress, workers=workers)
    return DigitFolder(name, split="all", cfg=cfg, progress=progress, workers=workers)


def load_guidance(name: str = "voices", spec_shape=(64, 32), *, split: str = "all", test_speakers=None,
                  progress: bool = False, workers: int = 1):
    """The guidance set (gender 0 = male, 1 = female): 'voices' (synthetic words), 'voices-digits'
    (synthetic digits, for tests of transfer), 'librispeech' or a folder with a labels.csv
    (path, gender, speaker) or files named ``{gender}_{speaker}_{index}.wav``. Split by speaker."""
    from ggan_lib.data import LabelledFolder, librispeech_gender, synthetic_voices
    common = dict(split=split, test_speakers=test_speakers, cfg=_audio_cfg(spec_shape), progress=progress,
                  workers=workers)
    if name == "voices":
        return synthetic_voices("words", **common)
    if name == "voices-digits":
        return synthetic_voices("digits", **common)
    if name == "librispeech":
        return librispeech_gender(**common)
    folder = Path(name)
    labels = "labels.csv" if (folder / "labels.csv").exists() else None
    return LabelledFolder(folder, labels, label_column="gender", n_classes=2, **common)


def guidance_speakers(name: str = "voices") -> tuple[list[str], np.ndarray]:
    """(speaker of each clip, gender of each clip) of a guidance set, without computing spectrograms."""
    import csv

    from ggan_lib.data import default_librispeech_dir, default_voices_dir
    if name == "voices":
        path, scol = default_voices_dir() / "words" / "labels.csv", "voice"
    elif name == "librispeech":
        path, scol = default_librispeech_dir() / "labels.csv", "speaker"
    else:
        path, scol = Path(name) / "labels.csv", "speaker"
    if path.exists():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        return [r[scol] for r in rows], np.array([int(r["gender"]) for r in rows])
    ds = load_guidance(name, (16, 8))  # file-name labels: the tiny shape is cheap to compute
    return ds.speakers, ds.labels


def voice_split(speakers: Sequence[str], labels, n_test_per_class: int = 2, seed: int = 0) -> tuple[list, list]:
    """(train speakers, test speakers): ``n_test_per_class`` seeded speakers of each class held out.

    A speaker belongs to one class (its gender); the two lists are disjoint and cover every speaker."""
    labels = np.asarray(labels)
    by_class: dict[int, list[str]] = {}
    for s, y in sorted(set(zip(speakers, labels.tolist()))):
        by_class.setdefault(int(y), []).append(s)
    rng = np.random.default_rng(seed)
    test = []
    for y in sorted(by_class):
        pool = sorted(by_class[y])
        if len(pool) <= n_test_per_class:
            raise ValueError(f"class {y} has {len(pool)} speaker(s): cannot hold out {n_test_per_class} "
                             "and keep one for training")
        test += sorted(rng.choice(pool, n_test_per_class, replace=False).tolist())
    train = sorted(s for ss in by_class.values() for s in ss if s not in test)
    return train, sorted(test)


def _tensors(data) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(data, torch.Tensor):
        return data, None
    if isinstance(data, (tuple, list)):
        return data[0], (data[1] if len(data) > 1 else None)
    return data.as_tensors()


def guided_trainer(unlabelled, guidance, *, preset: str = "small", model_cfg=None, train_cfg=None,
                   n_classes: int | None = None, out_dir=None, monitor=None, resume=None, **train_overrides):
    """A Trainer of Algorithm 1 whose guidance set is independent of the unlabelled set.

    unlabelled: a dataset (``.as_tensors()``), an X tensor (N, 1, H, W) or (X, _); guidance: a labelled
    dataset or (Xl, yl), any n classes (``n_classes`` default: the dataset's, else max(yl) + 1). The
    model config is the preset's with ``n_classes`` set; resume: a checkpoint to continue from.
    """
    from ggan_lib.config import ModelConfig
    from ggan_lib.train.ggan import TrainConfig, Trainer
    X, _ = _tensors(unlabelled)
    Xl, yl = _tensors(guidance)
    if yl is None:
        raise ValueError("the guidance set needs labels: a labelled dataset or (Xl, yl)")
    n = n_classes or getattr(guidance, "n_classes", None) or int(yl.max()) + 1
    mcfg = model_cfg or ModelConfig.preset(preset, n_classes=n, spec_shape=tuple(X.shape[-2:]))
    if mcfg.n_classes != n:
        mcfg = mcfg.replace(n_classes=n)
    if resume:
        return Trainer.resume(resume, X, Xl, yl, train_overrides=train_overrides, out_dir=out_dir, monitor=monitor)
    tcfg = train_cfg or TrainConfig.preset(preset, **train_overrides)
    return Trainer(mcfg, tcfg, X, Xl, yl, out_dir=out_dir, monitor=monitor)


# --------------------------------------------------------------------------- audio measures
def roundtrip(waves: np.ndarray, spec_shape) -> np.ndarray:
    """Audio sent through the model's spectrogram resolution and PGHI: the footing of generated audio."""
    from ggan_lib.metrics.scores import roundtrip_audio
    return roundtrip_audio(waves, _audio_cfg(spec_shape))


def specs_to_audio(specs, spec_shape=None) -> np.ndarray:
    """PGHI audio (N, L) of spectrograms (N, 1, H, W) (NaN / inf spectrograms give silence)."""
    from ggan_lib.audio.pghi import spectrogram_to_audio
    s = torch.as_tensor(specs).detach().float().cpu()
    s = s[:, 0] if s.dim() == 4 else s
    cfg = _audio_cfg(spec_shape or tuple(s.shape[-2:]))
    out = np.zeros((len(s), cfg.signal_length), np.float32)
    ok = torch.isfinite(s.flatten(1)).all(1).numpy()
    if ok.any():
        out[ok] = spectrogram_to_audio(s[ok].double().numpy(), cfg)
    return out


def f0_pyin(wave, sr: int = SR, fmin: float = 60.0, fmax: float = 500.0, frame_length: int = 1024,
            hop_length: int = 512) -> tuple[float, float]:
    """(median F0 in Hz over voiced frames (NaN if none), voiced fraction) of one clip, by librosa.pyin."""
    import librosa
    w = np.asarray(wave, np.float64)
    if not np.any(w):
        return float("nan"), 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f0, voiced, _ = librosa.pyin(w, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length,
                                     hop_length=hop_length)
    v = voiced & np.isfinite(f0)
    return (float(np.median(f0[v])) if v.any() else float("nan")), float(voiced.mean())


def spectral_centroid(wave, sr: int = SR, n_fft: int = 1024, hop: int = 256) -> float:
    """Energy-weighted mean spectral centroid (Hz) of a clip: where its spectral envelope lies."""
    w = np.asarray(wave, np.float32)
    if not np.any(w):
        return float("nan")
    import librosa
    S = np.abs(librosa.stft(w, n_fft=n_fft, hop_length=hop))
    c = librosa.feature.spectral_centroid(S=S, sr=sr)[0]
    e = S.sum(0)
    return float(np.average(c, weights=e)) if e.sum() > 0 else float("nan")


def audio_measures(waves: np.ndarray, *, f0: bool = True) -> dict[str, list]:
    """Per clip: f0 (Hz, NaN if unvoiced), voiced fraction, spectral centroid (Hz)."""
    out: dict[str, list] = {"f0": [], "voiced": [], "centroid": []}
    for w in waves:
        f, v = f0_pyin(w) if f0 else (float("nan"), float("nan"))
        out["f0"].append(f)
        out["voiced"].append(v)
        out["centroid"].append(spectral_centroid(w))
    return out


def _stats(values) -> dict[str, float]:
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"n": 0, "median": float("nan"), "mean": float("nan"), "q25": float("nan"), "q75": float("nan")}
    return {"n": int(len(v)), "median": float(np.median(v)), "mean": float(v.mean()),
            "q25": float(np.percentile(v, 25)), "q75": float(np.percentile(v, 75))}


# --------------------------------------------------------------------------- the gender classifier
def gender_classifier_config(n_classes: int = 2):
    """A small log-mel CNN (the metric classifier's architecture, narrower): cheap on one CPU core."""
    from ggan_lib.metrics import ClassifierConfig
    return ClassifierConfig(n_classes=n_classes, channels=32, n_mels=64, hop=256)


def train_gender_classifier(waves, labels, *, epochs: int = 10, seed: int = 0, progress: bool = False):
    """Train the independent gender classifier on (round-trip) audio (N, L) with labels 0/1."""
    from ggan_lib.metrics.train_classifier import train_classifier
    model, _ = train_classifier(waves, labels, gender_classifier_config(), epochs=epochs, batch_size=32,
                                lr=2e-3, max_shift=1600, gain_db=6.0, seed=seed, class_names=CLASS_NAMES,
                                progress=progress)
    return model


@torch.no_grad()
def p_female(classifier, waves, batch_size: int = 64) -> np.ndarray:
    """The classifier's P(female) (N,) of audio (N, L)."""
    from ggan_lib.metrics.classifier import as_audio_tensor
    classifier.eval()
    out = [torch.softmax(classifier.logits(as_audio_tensor(waves[i:i + batch_size], "cpu")), 1)[:, 1]
           for i in range(0, len(waves), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0)


def load_waves(paths) -> np.ndarray:
    """Clips at the project's audio settings (16 kHz, 16,384 samples) as a float32 array (N, L)."""
    from ggan_lib.audio import AudioConfig, load_audio
    cfg = AudioConfig()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*cut to the first")
        return np.stack([load_audio(p, cfg) for p in paths]).astype(np.float32)


# --------------------------------------------------------------------------- generation
@torch.no_grad()
def paired_samples(model, n: int, seed: int = 0, c_pair: tuple[int, int] = (0, 1)) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectrograms (n, 1, H, W) for the same n latent codes z with c = c_pair[0] and c = c_pair[1]."""
    net = model.model if hasattr(model, "model") else model
    cfg = net.cfg
    g = torch.Generator().manual_seed(seed)
    if cfg.z_dist == "normal":
        z = torch.randn(n, cfg.z_dim, generator=g)
    else:
        z = torch.rand(n, cfg.z_dim, generator=g) * 2 - 1
    net.eval()
    dev = next(net.parameters()).device
    out = []
    for c in c_pair:
        cc = torch.full((n,), c, dtype=torch.long, device=dev)
        out.append(torch.cat([net.G(net.E(zb.to(dev), cb)).float().cpu()
                              for zb, cb in zip(z.split(64), cc.split(64))]))
    return out[0], out[1]


# --------------------------------------------------------------------------- measurement
def _digit_scores(clf, audio: dict[str, np.ndarray], real_stats) -> dict[str, Any]:
    """IS (and FID vs real_stats) of each c's audio and of both together; digit kept across c."""
    from ggan_lib.metrics import classifier_outputs, feature_statistics, frechet_distance, inception_score
    out: dict[str, Any] = {}
    preds = {}
    for key, a in audio.items():
        probs, feats = classifier_outputs(a, clf, feature_kind="spatial_mean", progress=False)
        is_m, is_s = inception_score(probs, n_splits=min(10, max(1, len(a) // 2)))
        rec = {"is": is_m, "is_std": is_s, "digit_counts": np.bincount(probs.argmax(1), minlength=10).tolist()}
        if real_stats is not None and len(a) > 2:
            st = feature_statistics(feats)
            rec["fid"] = frechet_distance(st.mu, st.sigma, real_stats.mu, real_stats.sigma)
        out[key] = rec
        preds[key] = probs.argmax(1)
    both = np.concatenate([audio[k] for k in audio])
    probs, feats = classifier_outputs(both, clf, feature_kind="spatial_mean", progress=False)
    is_m, is_s = inception_score(probs, n_splits=min(10, max(1, len(both) // 2)))
    out["all"] = {"is": is_m, "is_std": is_s}
    if real_stats is not None:
        st = feature_statistics(feats)
        out["all"]["fid"] = frechet_distance(st.mu, st.sigma, real_stats.mu, real_stats.sigma)
    keys = list(preds)
    if len(keys) == 2:
        out["same_digit_across_c"] = float((preds[keys[0]] == preds[keys[1]]).mean())
    return out


def fsdd_real_stats(clf, spec_shape, n_real: int = 300, cache_dir=None):
    """Metric-classifier statistics (spatial_mean) of n_real FSDD training clips sent through the round trip."""
    from ggan_lib.data import DigitFolder, repo_root
    from ggan_lib.metrics.monitor import real_audio_statistics
    ds = DigitFolder(None, split="train", cfg=_audio_cfg(spec_shape), progress=False)
    pick = np.random.default_rng(0).permutation(len(ds))[:n_real]
    name = f"fsdd_rt_{spec_shape[0]}x{spec_shape[1]}_{n_real}.npz"
    cache = Path(cache_dir or repo_root() / ".cache" / "gender") / name
    waves = None if cache.exists() else roundtrip(load_waves([ds.paths[i] for i in pick]), spec_shape)
    return real_audio_statistics(clf, waves, "spatial_mean", cache=cache)


def measure(model, *, guidance: str = "voices", test_speakers: Sequence[str],
            train_speakers: Sequence[str] | None = None, n_per_class: int = 100, seed: int = 0,
            metric_classifier=DEFAULT_CLASSIFIER, unlabelled: str = "fsdd",
            n_real: int = 300, n_ref: int = 40, classifier_epochs: int = 10, gender_classifier=None,
            classifier_cache=None, f0: bool = True, max_train: int = 4000, max_test: int = 1000,
            log=print) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every figure of the experiment; returns (metrics, media) where media holds audio / spectrograms for files.

    model: the GGAN (or a Pretrained); test_speakers: held-out guidance voices (never seen by the GGAN or
    the gender classifier's training); gender_classifier: a trained one (else trained here, cached at
    classifier_cache)."""
    net = model.model if hasattr(model, "model") else model
    spec_shape = tuple(net.cfg.spec_shape)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    # the independent gender classifier, on round-trip audio
    train_ds = load_guidance(guidance, spec_shape, split="train", test_speakers=test_speakers)
    test_ds = load_guidance(guidance, spec_shape, split="test", test_speakers=test_speakers)
    # large guidance sets (LibriSpeech: 30,000 clips) are subsampled: every clip costs a PGHI round trip
    cap = np.random.default_rng(seed + 1)
    tr_idx, te_idx = (np.sort(cap.permutation(len(d))[:k]) if len(d) > k else np.arange(len(d))
                      for d, k in ((train_ds, max_train), (test_ds, max_test)))
    y_test = test_ds.labels[te_idx]
    clf_info: dict[str, Any] = {"config": gender_classifier_config().to_dict(),
                                "train_speakers": sorted(set(train_ds.speakers)),
                                "test_speakers": sorted(set(test_ds.speakers)),
                                "n_train": len(tr_idx), "n_test": len(te_idx)}
    if gender_classifier is None and classifier_cache is not None and Path(classifier_cache).exists():
        from ggan_lib.metrics import load_classifier
        gender_classifier = load_classifier(classifier_cache)
        log(f"[gender] gender classifier from {classifier_cache}")
    if gender_classifier is None:
        log(f"[gender] training the gender classifier on {len(tr_idx)} round-trip clips")
        w_train = roundtrip(load_waves([train_ds.paths[i] for i in tr_idx]), spec_shape)
        gender_classifier = train_gender_classifier(w_train, train_ds.labels[tr_idx], epochs=classifier_epochs,
                                                    seed=seed)
        if classifier_cache is not None:
            from ggan_lib.metrics import save_classifier
            Path(classifier_cache).parent.mkdir(parents=True, exist_ok=True)
            save_classifier(gender_classifier, classifier_cache)
    w_test_raw = load_waves([test_ds.paths[i] for i in te_idx])
    w_test = roundtrip(w_test_raw, spec_shape)
    pf_test = p_female(gender_classifier, w_test)
    clf_info["acc_heldout_words"] = float(((pf_test > 0.5) == (y_test == 1)).mean())
    clf_info["acc_heldout_words_raw_audio"] = float(((p_female(gender_classifier, w_test_raw) > 0.5)
                                                     == (y_test == 1)).mean())
    refs: dict[str, np.ndarray] = {}  # round-trip audio of real references, for F0 / centroid
    if guidance == "voices":
        dig = load_guidance("voices-digits", spec_shape, split="test", test_speakers=test_speakers)
        w_dig = roundtrip(load_waves(dig.paths), spec_shape)
        y_dig = np.array([1 if s.startswith("f") else 0 for s in dig.speakers])  # voice names start m / f
        clf_info["acc_heldout_digits"] = float(((p_female(gender_classifier, w_dig) > 0.5) == (y_dig == 1)).mean())
        clf_info["n_heldout_digits"] = len(dig)
    if unlabelled == "fsdd":
        fs = load_unlabelled("fsdd", spec_shape)
        pick = rng.permutation(len(fs))[:max(n_ref, 100)]
        w_fsdd = roundtrip(load_waves([fs.paths[i] for i in pick]), spec_shape)
        clf_info["fsdd_fraction_heard_male"] = float((p_female(gender_classifier, w_fsdd) <= 0.5).mean())
        clf_info["n_fsdd"] = len(pick)
        refs["fsdd (real, round trip)"] = w_fsdd[:n_ref]
    for y, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(y_test == y)
        idx = rng.permutation(idx)[:n_ref]
        refs[f"held-out {name} voices (real, round trip)"] = w_test[idx]
        refs[f"held-out {name} voices (real, raw audio)"] = w_test_raw[idx]
    log(f"[gender] classifier held-out accuracy {clf_info['acc_heldout_words']:.3f} ({time.perf_counter() - t0:.0f} s)")

    # generated: the same z with c = male and c = female
    s_m, s_f = paired_samples(net, n_per_class, seed=seed)
    a_m, a_f = specs_to_audio(s_m, spec_shape), specs_to_audio(s_f, spec_shape)
    pf_m, pf_f = p_female(gender_classifier, a_m), p_female(gender_classifier, a_f)
    gen = {"n_per_class": n_per_class, "seed": seed,
           "p_female": {"male": pf_m.tolist(), "female": pf_f.tolist()},
           "fraction_heard_female": {"male": float((pf_m > 0.5).mean()), "female": float((pf_f > 0.5).mean())},
           "mean_p_female": {"male": float(pf_m.mean()), "female": float(pf_f.mean())},
           "pairs_more_female_with_c_female": float((pf_f > pf_m).mean())}
    gen["gender_accuracy"] = 0.5 * ((1 - gen["fraction_heard_female"]["male"]) + gen["fraction_heard_female"]["female"])
    log(f"[gender] generated: heard female {gen['fraction_heard_female']} ({time.perf_counter() - t0:.0f} s)")
    meas = {"male": audio_measures(a_m, f0=f0), "female": audio_measures(a_f, f0=f0)}
    gen["f0"] = {k: v["f0"] for k, v in meas.items()}
    gen["voiced"] = {k: v["voiced"] for k, v in meas.items()}
    gen["centroid"] = {k: v["centroid"] for k, v in meas.items()}
    gen["f0_stats"] = {k: _stats(v["f0"]) for k, v in meas.items()}
    gen["centroid_stats"] = {k: _stats(v["centroid"]) for k, v in meas.items()}
    df0 = np.asarray(meas["female"]["f0"]) - np.asarray(meas["male"]["f0"])
    dc = np.asarray(meas["female"]["centroid"]) - np.asarray(meas["male"]["centroid"])
    gen["paired_f0_diff_female_minus_male"] = _stats(df0)
    gen["paired_centroid_diff_female_minus_male"] = _stats(dc)
    gen["pairs_higher_centroid_with_c_female"] = float(np.nanmean(np.where(np.isfinite(dc), dc > 0, np.nan)))
    ref_meas = {k: audio_measures(v, f0=f0) for k, v in refs.items()}
    reference = {k: {"f0_stats": _stats(m["f0"]), "centroid_stats": _stats(m["centroid"]), "f0": m["f0"],
                     "centroid": m["centroid"]} for k, m in ref_meas.items()}
    log(f"[gender] F0 / centroid measured ({time.perf_counter() - t0:.0f} s)")

    digits: dict[str, Any] = {}
    if metric_classifier and Path(metric_classifier).exists():
        from ggan_lib.metrics import load_classifier
        mclf = load_classifier(metric_classifier)
        real_stats = fsdd_real_stats(mclf, spec_shape, n_real) if unlabelled == "fsdd" else None
        digits = _digit_scores(mclf, {"male": a_m, "female": a_f}, real_stats)
        digits["classifier"] = str(Path(metric_classifier).name)
        digits["fid_reference"] = (f"{n_real} FSDD training clips through the {spec_shape[0]} x {spec_shape[1]} "
                                   "round trip") if real_stats is not None else None
        log(f"[gender] digit IS {digits['all']['is']:.3f} ({time.perf_counter() - t0:.0f} s)")
    metrics = {"gender_classifier": clf_info, "generated": gen, "reference": reference, "digits": digits,
               "spec_shape": list(spec_shape), "seconds": round(time.perf_counter() - t0, 1)}
    media = {"specs_male": s_m, "specs_female": s_f, "audio_male": a_m, "audio_female": a_f}
    return metrics, media


# --------------------------------------------------------------------------- reports
def verdict(metrics: dict[str, Any]) -> str:
    """Plain sentences: did the guidance work, and by how much (from the measured figures only)."""
    g = metrics["generated"]
    fm, ff = g["fraction_heard_female"]["male"], g["fraction_heard_female"]["female"]
    gap = ff - fm
    cm, cf = g["centroid_stats"]["male"]["median"], g["centroid_stats"]["female"]["median"]
    shift = g["paired_centroid_diff_female_minus_male"]["median"]
    up = g["pairs_higher_centroid_with_c_female"]
    if gap >= 0.3:
        head = "Guidance worked"
    elif gap >= 0.1:
        head = "Guidance worked partly"
    else:
        head = "By the independent gender classifier, guidance did not work"
    text = (f"{head}: the classifier hears {100 * ff:.0f} % of the c = female clips as female against "
            f"{100 * fm:.0f} % of the c = male clips from the same latent codes (a gap of {100 * gap:.0f} points); "
            f"the median spectral centroid is {cf:.0f} Hz for c = female and {cm:.0f} Hz for c = male.")
    if gap < 0.3 and np.isfinite(up) and up >= 0.75:
        text += (f" Yet c does act on the sound: for the same z, c = female has the higher spectral centroid in "
                 f"{100 * up:.0f} % of the pairs (median shift {shift:+.0f} Hz), i.e. the generator moved the spectral "
                 "envelope in the direction of the female voices without making clips that sound female to the "
                 "classifier.")
    return text


def summary_markdown(metrics: dict[str, Any]) -> str:
    """The Markdown summary of results/gender-*/metrics.json."""
    g, c, d, r = metrics["generated"], metrics["gender_classifier"], metrics.get("digits", {}), metrics["reference"]
    tr = metrics.get("training", {})
    lines = [f"# Gender-guided GGAN ({metrics.get('preset', '?')} preset): measured figures", "",
             f"Command: `{metrics.get('command', '?')}`", "",
             f"Unlabelled: {metrics.get('unlabelled', '?')}; guidance: {metrics.get('guidance', '?')} "
             f"(voices {', '.join(c['train_speakers'])}); held out: {', '.join(c['test_speakers'])}. "
             f"Iterations: {tr.get('iteration', '?')}; spectrograms "
             f"{metrics['spec_shape'][0]} x {metrics['spec_shape'][1]}.",
             "", f"**{verdict(metrics)}**", "",
             "## Independent gender classifier (log-mel CNN, trained on round-trip audio of the guidance voices)", "",
             "| test set | accuracy |", "|---|---|",
             f"| held-out {'voices, words' if metrics.get('guidance') == 'voices' else 'speakers'} "
             f"({c['n_test']} clips) "
             f"| {c['acc_heldout_words']:.3f} |"]
    if "acc_heldout_digits" in c:
        lines.append(f"| held-out voices, digits ({c['n_heldout_digits']} clips) | {c['acc_heldout_digits']:.3f} |")
    if "fsdd_fraction_heard_male" in c:
        lines.append(f"| FSDD (all male) heard as male ({c['n_fsdd']} clips) | {c['fsdd_fraction_heard_male']:.3f} |")
    lines += ["", f"## Generated clips: the same {g['n_per_class']} latent codes with c = male and c = female", "",
              "| | c = male | c = female |", "|---|---|---|",
              f"| heard as female | {g['fraction_heard_female']['male']:.3f} | "
              f"{g['fraction_heard_female']['female']:.3f} |",
              f"| mean P(female) | {g['mean_p_female']['male']:.3f} | {g['mean_p_female']['female']:.3f} |",
              f"| median F0 (Hz, pyin) | {g['f0_stats']['male']['median']:.1f} | "
              f"{g['f0_stats']['female']['median']:.1f} |",
              f"| median spectral centroid (Hz) | {g['centroid_stats']['male']['median']:.0f} | "
              f"{g['centroid_stats']['female']['median']:.0f} |"]
    if d:
        lines += [f"| digit IS | {d['male']['is']:.2f} | {d['female']['is']:.2f} |"]
        if "fid" in d["male"]:
            lines += [f"| digit FID | {d['male']['fid']:.1f} | {d['female']['fid']:.1f} |"]
    lines += ["", f"Pairs (same z) where c = female sounds more female: {g['pairs_more_female_with_c_female']:.3f}; "
              f"with a higher centroid: {g['pairs_higher_centroid_with_c_female']:.3f}; median paired centroid "
              f"shift {g['paired_centroid_diff_female_minus_male']['median']:+.0f} Hz."]
    if d:
        lines += [f"Digit IS of all {2 * g['n_per_class']} clips: {d['all']['is']:.2f} +- {d['all']['is_std']:.2f}"
                  + (f", FID {d['all']['fid']:.1f} ({d['fid_reference']})" if "fid" in d["all"] else "")
                  + "; the metric classifier hears the same digit for both c in "
                  f"{100 * d['same_digit_across_c']:.0f} % "
                  "of the pairs. Paper (SC09 + LibriSpeech, 256 x 128, 2 x P100 for 33 h): IS 6.52 +- 0.5, FID 26.21."]
    lines += ["", "## Real references", "", "| clips | median F0 (Hz) | median centroid (Hz) |",
              "|---|---|---|"]
    for k, v in r.items():
        lines.append(f"| {k} | {v['f0_stats']['median']:.1f} | {v['centroid_stats']['median']:.0f} |")
    h, w = metrics["spec_shape"]
    lines += ["", f"F0 caveat: at {h} x {w} one frequency bin spans {8000 / h:.0f} Hz, and the PGHI inverse (hop 128) "
              "imposes a 16000 / 128 = 125 Hz frame-rate periodicity, so pyin tends to read about 125 Hz on round-trip "
              "audio whatever the voice (compare the round-trip and raw-audio rows above). Where the round-trip rows "
              "of male and female voices agree, F0 cannot carry gender at this resolution; the spectral envelope "
              "(centroid) and the classifier still can.", ""]
    return "\n".join(lines)


def plot_measures(metrics: dict[str, Any], key: str = "centroid", ax=None):
    """Histogram of a per-clip measure ('f0' or 'centroid') of the generated clips per c (from metrics.json)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    g = metrics["generated"][key]
    vals = [np.asarray(g[n], float) for n in CLASS_NAMES]
    vals = [v[np.isfinite(v)] for v in vals]
    allv = np.concatenate(vals) if any(len(v) for v in vals) else np.zeros(1)
    bins = np.linspace(allv.min() - 1, allv.max() + 1, 30)
    for n, v, col in zip(CLASS_NAMES, vals, ("tab:blue", "tab:red")):
        med = np.median(v) if len(v) else float("nan")
        ax.hist(v, bins=bins, alpha=0.5, color=col, label=f"c = {n} (median {med:.0f} Hz)")
    ax.set_xlabel("F0 (Hz, pyin)" if key == "f0" else "spectral centroid (Hz)")
    ax.set_ylabel("clips")
    ax.legend(fontsize=8)
    return ax


def write_results(out: Path, metrics: dict[str, Any], media: dict[str, Any], n_pairs: int = 5, model=None) -> None:
    """metrics.json, summary.md, a few paired WAVs, figures (PNG): small files, written atomically."""
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import soundfile as sf
    out.mkdir(parents=True, exist_ok=True)
    for i in range(min(n_pairs, len(media["audio_male"]))):
        for name in CLASS_NAMES:
            w = media[f"audio_{name}"][i]
            peak = float(np.abs(w).max())
            buf = io.BytesIO()
            sf.write(buf, (0.95 * w / peak if peak > 0 else w).astype(np.float32), SR, format="WAV", subtype="PCM_16")
            with atomic.atomic_write(out / "audio" / f"z{i}_{name}.wav") as fh:
                fh.write(buf.getvalue())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    plot_measures(metrics, "f0", axes[0])
    plot_measures(metrics, "centroid", axes[1])
    fig.tight_layout()
    _save_fig(fig, out / "f0_centroid.png")
    from ggan_lib.book.viz import plot_spectrogram_grid
    k = min(n_pairs, len(media["specs_male"]))
    specs = torch.cat([media["specs_male"][:k], media["specs_female"][:k]])
    fig = plot_spectrogram_grid(specs, titles=[f"z{i} male" for i in range(k)] + [f"z{i} female" for i in range(k)],
                                ncols=k)
    _save_fig(fig, out / "pairs.png")
    if model is not None:
        from ggan_lib.metrics.interpolation import interpolate_ze, plot_interpolation
        interp = interpolate_ze(model, 0, 1, n_steps=8, seed=0, class_names=CLASS_NAMES)
        fig = plot_interpolation(interp, title="male -> female, same z")
        _save_fig(fig, out / "interpolation.png")
        metrics["interpolation"] = {"spec": interp.spec_smoothness, "audio": interp.audio_smoothness}
    plt.close("all")
    atomic.write_json(out / "metrics.json", metrics, indent=1)
    atomic.write_text(out / "summary.md", summary_markdown(metrics))


def _save_fig(fig, path: Path) -> None:
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    with atomic.atomic_write(path) as fh:
        fh.write(buf.getvalue())


def read_results(out="results/gender-small") -> dict[str, Any]:
    """metrics.json of a results folder (relative paths are taken from the repository root)."""
    p = Path(out)
    if not p.is_absolute() and not p.exists():
        p = REPO / p
    return json.loads((p / "metrics.json").read_text())


# --------------------------------------------------------------------------- the command
def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small", choices=["paper", "small", "tiny"])
    p.add_argument("--iters", type=int, default=1400, help="total training iterations (a rerun resumes up to this)")
    p.add_argument("--unlabelled", default="fsdd", help="'fsdd', 'sc09' or a folder of {digit}_{speaker}_{i}.wav")
    p.add_argument("--guidance", default="voices",
                   help="'voices' (espeak-ng words), 'librispeech' or a labelled folder")
    p.add_argument("--test-voices-per-class", type=int, default=None,
                   help="guidance speakers per gender held out for the classifier's test (voices: 2, else 5)")
    p.add_argument("--out", default="results/gender-small", help="small result files (JSON, Markdown, WAV, PNG)")
    p.add_argument("--run-dir", default=None, help="checkpoints, log, snapshots (default runs/gender-<preset>)")
    p.add_argument("--export", default=None, help=f"exported model .pt (+ card .json) (default {DEFAULT_EXPORT} "
                                                  "for --preset small, else <run-dir>/model.pt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=None, help="monitor every N iterations (0: never; small: 250)")
    p.add_argument("--eval-clips", type=int, default=100)
    p.add_argument("--n-eval", type=int, default=100, help="generated clips per c for the final measures")
    p.add_argument("--n-ref", type=int, default=40, help="real reference clips per group for F0 / centroid")
    p.add_argument("--n-real", type=int, default=300, help="FSDD clips for the FID reference")
    p.add_argument("--classifier-epochs", type=int, default=10)
    p.add_argument("--metric-classifier", default=str(DEFAULT_CLASSIFIER),
                   help="digit IS / FID classifier ('none': skip)")
    p.add_argument("--no-f0", action="store_true", help="skip pyin (the slowest measure)")
    p.add_argument("--progress", default="true")
    p.add_argument("--workers", type=int, default=1, help="processes for spectrogram computation")
    return p.parse_args(argv)


def _monitor(a, mcfg, run_dir: Path, X_val, y_val, device):
    from ggan_lib.metrics.monitor import Monitor, MonitorConfig
    every = a.eval_every if a.eval_every is not None else {"paper": 2000, "small": 250, "tiny": 0}[a.preset]
    if not every:
        return None
    clf = None
    if a.metric_classifier != "none" and Path(a.metric_classifier).exists():
        from ggan_lib.metrics import load_classifier
        clf = load_classifier(a.metric_classifier, device=device)
    cfg = MonitorConfig(every=every, n_clips=max(a.eval_clips, 10), best_by="none", n_audio=4)
    return Monitor(cfg, clf, None, X_val, y_val, audio_cfg=_audio_cfg(mcfg.spec_shape), out_dir=run_dir, device=device)


def main(argv=None) -> int:
    """Train (or resume) the gender-guided GGAN, export it, measure it, write the results."""
    a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    from ggan_lib.io import checkpoint as ckpt
    from ggan_lib.config import ModelConfig
    from ggan_lib.experiments.pretrained import export_checkpoint, load_pretrained, read_card, write_card
    from ggan_lib.train.ggan import TrainConfig, resolve_device
    progress = a.progress.lower() in ("1", "true", "yes", "on")
    out = Path(a.out)
    run_dir = Path(a.run_dir or f"runs/gender-{a.preset}")
    export = Path(a.export) if a.export else (DEFAULT_EXPORT if a.preset == "small" else run_dir / "model.pt")
    args = argv if argv is not None else sys.argv[1:]
    command = "python -m ggan_lib.cli.gender " + " ".join(shlex.quote(x) for x in args)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    n_test = a.test_voices_per_class or (2 if a.guidance == "voices" else 5)
    speakers, genders = guidance_speakers(a.guidance)
    train_spk, test_spk = voice_split(speakers, genders, n_test, seed=a.seed)
    mcfg = ModelConfig.preset(a.preset, n_classes=2)
    spec_shape = tuple(mcfg.spec_shape)
    ck = run_dir / "checkpoint.pt"
    done = int(ckpt.load_checkpoint(ck)["iteration"]) if ck.exists() else 0
    t_train = 0.0
    if done < a.iters:
        X, _ = load_unlabelled(a.unlabelled, spec_shape, progress=progress, workers=a.workers).as_tensors()
        guide = load_guidance(a.guidance, spec_shape, split="train", test_speakers=test_spk, progress=progress,
                              workers=a.workers)
        val = load_guidance(a.guidance, spec_shape, split="test", test_speakers=test_spk, workers=a.workers)
        X_val, y_val = val.as_tensors()
        device = resolve_device(a.device)
        runtime = {"device": a.device, "progress": progress, "ckpt_every": a.ckpt_every}
        overrides = {"seed": a.seed, **({"batch_size": a.batch_size} if a.batch_size else {})}
        monitor = _monitor(a, mcfg, run_dir, X_val, y_val, device)
        if ck.exists():
            tr = guided_trainer(X, guide, resume=ck, out_dir=run_dir, monitor=monitor, **runtime)
        else:
            tcfg = TrainConfig.preset(a.preset, **overrides, **runtime)
            tr = guided_trainer(X, guide, model_cfg=mcfg, train_cfg=tcfg, out_dir=run_dir, monitor=monitor)
        log(f"[gender] unlabelled {a.unlabelled} {tuple(X.shape)}, guidance {a.guidance} {len(guide)} clips "
            f"({len(train_spk)} speakers; held out {test_spk}); iteration {tr.iteration} -> {a.iters}")
        t0 = time.perf_counter()
        try:
            tr.train(a.iters - tr.iteration)
            tr.save()
        finally:
            tr.close()
        t_train = time.perf_counter() - t0
        done = tr.iteration
    else:
        log(f"[gender] {ck} is at iteration {done} >= {a.iters}: evaluating only")

    # export (small, weights only, EMA G) with its card, then measure the exported model
    card = {"command": command, "experiment": "gender guidance (paper IV-C / V)", "class_names": list(CLASS_NAMES),
            "unlabelled": a.unlabelled, "guidance": a.guidance, "guidance_train_speakers": train_spk,
            "guidance_test_speakers": test_spk}
    if not export.exists() or read_card(export).get("iteration") != done:
        export_checkpoint(ck, export, f"ggan-gender-{a.preset}", card)
    pm = load_pretrained(export)
    log(f"[gender] measuring {export} (iteration {done})")
    metrics, media = measure(pm.model, guidance=a.guidance, test_speakers=test_spk, train_speakers=train_spk,
                             n_per_class=a.n_eval, seed=a.seed,
                             metric_classifier=None if a.metric_classifier == "none" else a.metric_classifier,
                             unlabelled=a.unlabelled, n_real=a.n_real, n_ref=a.n_ref,
                             classifier_epochs=a.classifier_epochs, classifier_cache=run_dir / "gender_classifier.pt",
                             f0=not a.no_f0, log=log)
    from ggan_lib.metrics.monitor import read_evals
    evals = read_evals(run_dir / "log.jsonl") if (run_dir / "log.jsonl").exists() else {}
    prev = json.loads((out / "metrics.json").read_text()).get("training", {}) if (out / "metrics.json").exists() else {}
    sec_per_iter = [r.get("sec") for r in _log_rows(run_dir / "log.jsonl") if "sec" in r]
    metrics = {"preset": a.preset, "command": command, "unlabelled": a.unlabelled, "guidance": a.guidance,
               "training": {"iteration": done, "train_seconds_this_call": round(t_train, 1),
                            "median_sec_per_iter": (float(np.median(sec_per_iter)) if sec_per_iter
                                                    else prev.get("median_sec_per_iter")),
                            "eval_history": evals, "run_dir": str(run_dir), "export": str(export)},
               **metrics}
    write_results(out, metrics, media, model=pm.model)
    card = read_card(export)
    card.update({"metrics": {"gender_heard_female": metrics["generated"]["fraction_heard_female"],
                             "gender_accuracy": metrics["generated"]["gender_accuracy"],
                             "centroid_median_hz": {k: v["median"]
                                                    for k, v in metrics["generated"]["centroid_stats"].items()},
                             "f0_median_hz": {k: v["median"] for k, v in metrics["generated"]["f0_stats"].items()},
                             "digit_is": metrics["digits"].get("all", {}).get("is"),
                             "digit_fid": metrics["digits"].get("all", {}).get("fid"),
                             "gender_classifier_heldout_acc": metrics["gender_classifier"]["acc_heldout_words"]},
                 "results": str(out), "licence": DATA_LICENCE})
    write_card(export, card)
    log(f"[gender] {verdict(metrics)}")
    log(f"[gender] wrote {out}/metrics.json, summary.md; model {export}")
    return 0


def _log_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


if __name__ == "__main__":
    sys.exit(main())
