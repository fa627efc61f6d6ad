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

    python -m ggan_lib.cli.gender --preset small --iters 1000 --threads 1 --unlabelled-voices-per-class 3 \\
        --unlabelled-balance corpus --out results/gender-small-balanced --run-dir runs/gender-small-balanced \\
        --export models/ggan_gender_small.pt

(its steps are :mod:`ggan_lib.experiments.gender_run`; the measurement is
:mod:`ggan_lib.experiments.gender_measure`; the report, figures and verdict are
:mod:`ggan_lib.book.gender_report`.) This module holds the pieces: data, trainer, generation, the
gender classifier and the per-clip audio measures.

unlabelled = the FSDD training split (adult male speakers), guidance = the synthetic espeak-ng corpus
(data/synthetic_voices/words: 40 non-digit words per voice, 8 male + 8 female voices, so gender is
the only thing its labels carry); ``--test-voices-per-class`` voices of each gender are held out of the
guidance set and used only to test the independent gender classifier.

What is measured (``gender_measure.measure``), for the same latent codes z generated once with c = male and once
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

import csv
import json
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ggan_lib.audio import AudioConfig, load_audio
from ggan_lib.audio.pghi import spectrogram_to_audio
from ggan_lib.config import EvalConfig, ModelConfig, TrainConfig
from ggan_lib.data import (
    DigitFolder,
    LabelledFolder,
    default_librispeech_dir,
    default_voices_dir,
    librispeech_gender,
    sc09,
    synthetic_voices,
)
from ggan_lib.io import paths
from ggan_lib.metrics.classifier import ClassifierConfig, as_audio_tensor
from ggan_lib.metrics.scores import roundtrip_audio
from ggan_lib.metrics.train_classifier import train_classifier
from ggan_lib.model.latent import sample_z
from ggan_lib.train.ggan import Trainer

CLASS_NAMES = ("male", "female")  # label convention of every gender set: 0 = male, 1 = female
SR = 16000
REPO = paths.REPO_ROOT
DEFAULT_EXPORT = REPO / "models" / "ggan_gender_small.pt"
DEFAULT_CLASSIFIER = REPO / "models" / "metric_classifier_fsdd.pt"
#: Digit IS / FID of the generated clips: the small preset's features (spatial_mean) and a 300-clip FSDD reference.
EVAL = EvalConfig.preset("small").replace(n_real=300)
DATA_LICENCE = ("Unlabelled data: the Free Spoken Digit Dataset (FSDD; Jakobovski/free-spoken-digit-dataset, "
                "CC BY-SA 4.0; credit: the FSDD contributors). Guidance data: synthetic voices generated offline "
                "with espeak-ng (GPL-3.0 program; its speech output is not restricted) by "
                "data_scripts/make_synthetic_voices.py. The weights and the audio they generate derive from FSDD: "
                "share them under CC BY-SA 4.0 with the same credit.")
LIBRI_LICENCE = "LibriSpeech (OpenSLR 12, CC BY 4.0, Panayotov et al. 2015)"
SC09_LICENCE = "Speech Commands v0.02 digits (CC BY 4.0, Warden 2018)"


# --------------------------------------------------------------------------- data
def _audio_cfg(spec_shape) -> AudioConfig:
    """The project's audio settings at a model's spectrogram shape."""
    return AudioConfig(spec_shape=tuple(spec_shape))


def load_unlabelled(name: str = "fsdd", spec_shape=(64, 32), *, progress: bool = False, workers: int = 1):
    """The unlabelled set X (N, 1, H, W): 'fsdd' (its training split), 'sc09' (train) or a folder of
    ``{digit}_{speaker}_{index}.wav`` files (all of them). Returns the dataset (``.as_tensors()``)."""
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
    return roundtrip_audio(waves, _audio_cfg(spec_shape))


def specs_to_audio(specs, spec_shape=None) -> np.ndarray:
    """PGHI audio (N, L) of spectrograms (N, 1, H, W) (NaN / inf spectrograms give silence)."""
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
    return ClassifierConfig(n_classes=n_classes, channels=32, n_mels=64, hop=256)


def train_gender_classifier(waves, labels, *, epochs: int = 10, seed: int = 0, progress: bool = False):
    """Train the independent gender classifier on (round-trip) audio (N, L) with labels 0/1."""
    model, _ = train_classifier(waves, labels, gender_classifier_config(), epochs=epochs, batch_size=32,
                                lr=2e-3, max_shift=1600, gain_db=6.0, seed=seed, class_names=CLASS_NAMES,
                                progress=progress)
    return model


@torch.no_grad()
def p_female(classifier, waves, batch_size: int = 64) -> np.ndarray:
    """The classifier's P(female) (N,) of audio (N, L)."""
    classifier.eval()
    out = [torch.softmax(classifier.logits(as_audio_tensor(waves[i:i + batch_size], "cpu")), 1)[:, 1]
           for i in range(0, len(waves), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0)


def load_waves(paths) -> np.ndarray:
    """Clips at the project's audio settings (16 kHz, 16,384 samples) as a float32 array (N, L)."""
    cfg = AudioConfig()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*cut to the first")
        return np.stack([load_audio(p, cfg) for p in paths]).astype(np.float32)


# --------------------------------------------------------------------------- generation
@torch.no_grad()
def paired_samples(model, n: int, seed: int = 0, c_pair: tuple[int, int] = (0, 1)) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectrograms (n, 1, H, W) for the same n latent codes z with c = c_pair[0] and c = c_pair[1].

    model: a GGAN, or a loaded Pretrained (its G with standing BN statistics, as its sample() uses)."""
    if hasattr(model, "standing_stats"):
        model.standing_stats()
    net = model.model if hasattr(model, "model") else model
    cfg = net.cfg
    z = sample_z(cfg, n, generator=torch.Generator().manual_seed(seed))
    net.eval()
    dev = next(net.parameters()).device
    out = []
    for c in c_pair:
        cc = torch.full((n,), c, dtype=torch.long, device=dev)
        out.append(torch.cat([net.G(net.E(zb.to(dev), cb)).float().cpu()
                              for zb, cb in zip(z.split(64), cc.split(64))]))
    return out[0], out[1]


# --------------------------------------------------------------------------- results
def read_results(out="results/gender-small") -> dict[str, Any]:
    """metrics.json of a results folder (relative paths are taken from the repository root)."""
    p = Path(out)
    if not p.is_absolute() and not p.exists():
        p = REPO / p
    return json.loads((p / "metrics.json").read_text())
