"""Your own recordings: classify a folder of audio files with a GGAN or the metric classifier, or write
a GGAN's generated clips as files.

Labels parse from the file names where they can: FSDD's ``{digit}_{speaker}_{take}.wav`` or a generated
clip's ``c{class}_{i}.wav``. A model's audio settings come with it (its spectrogram shape), and
:func:`ggan_lib.audio.load_audio` brings any sample rate to 16 kHz, so any folder of audio files works.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
import torch

from ggan_lib.audio import audio_to_spectrogram, load_audio, spectrogram_to_audio
from ggan_lib.config import AudioConfig
from ggan_lib.data import AUDIO_SUFFIXES, DIGIT_PATTERN
from ggan_lib.data.listing import audio_files as listed_audio_files
from ggan_lib.experiments.zoo import Pretrained
from ggan_lib.io.atomic import atomic_write
from ggan_lib.metrics.classifier import DigitClassifier, as_audio_tensor

_LABELLED_NAMES = (DIGIT_PATTERN,                         # FSDD: {digit}_{speaker}_{take}
                   re.compile(r"^c(?P<label>\d+)_\d+$"))  # generated: c{class}_{i}


@dataclass(frozen=True)
class Prediction:
    """One file's verdict: the predicted class, its softmax probability, and the label its name gives (or None)."""

    name: str
    predicted: int
    confidence: float
    label: int | None


def label_from_name(path: str | Path) -> int | None:
    """The class a file name states (``7_jackson_32.wav`` -> 7, ``c3_0.wav`` -> 3), or None."""
    stem = Path(path).stem
    for pattern in _LABELLED_NAMES:
        m = pattern.match(stem)
        if m:
            return int(m["label"])
    return None


def audio_files(folder: str | Path) -> list[Path]:
    """The audio files directly in a folder, sorted (data.listing's rule); a clear error when there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    files, bad = listed_audio_files(root)
    if bad:
        warnings.warn(f"{root}: left out " + "; ".join(f"{name} ({why})" for name, why in bad.items()), stacklevel=2)
    if not files:
        raise FileNotFoundError(f"{root}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    return files


def _predictions(paths: Sequence[Path], logits: torch.Tensor) -> list[Prediction]:
    probs = torch.softmax(logits.float(), dim=1)
    conf, pred = probs.max(dim=1)
    return [Prediction(p.name, int(k), float(c), label_from_name(p)) for p, k, c in zip(paths, pred, conf)]


def model_audio_cfg(pm: Pretrained) -> AudioConfig:
    """The front end a model's spectrograms came from (its spectrogram shape)."""
    return AudioConfig(spec_shape=tuple(pm.model_cfg.spec_shape))


@torch.no_grad()
def classify_files(pm: Pretrained, paths: Sequence[Path], batch_size: int = 64) -> list[Prediction]:
    """GGAN's Cx(F(D(x))) on each file's spectrogram at the model's own front end."""
    cfg = model_audio_cfg(pm)
    specs = np.stack([audio_to_spectrogram(load_audio(p, cfg), cfg) for p in paths]).astype(np.float32)
    x = torch.from_numpy(specs).unsqueeze(1)
    logits = torch.cat([pm.classify(x[i:i + batch_size]).cpu() for i in range(0, len(x), batch_size)])
    return _predictions(paths, logits)


@torch.no_grad()
def judge_files(classifier: DigitClassifier, paths: Sequence[Path], batch_size: int = 64,
                device: str | torch.device = "cpu") -> list[Prediction]:
    """The metric classifier (the judge of IS / FID) on each file's audio."""
    classifier.eval()
    cfg = AudioConfig()
    audio = np.stack([load_audio(p, cfg) for p in paths])
    logits = torch.cat([classifier.logits(as_audio_tensor(audio[i:i + batch_size], device)).cpu()
                        for i in range(0, len(audio), batch_size)])
    return _predictions(paths, logits)


def accuracy(preds: Sequence[Prediction]) -> tuple[float | None, int]:
    """(accuracy over the files whose name gives a label, how many such files); (None, 0) when none does."""
    known = [p for p in preds if p.label is not None]
    if not known:
        return None, 0
    return sum(p.predicted == p.label for p in known) / len(known), len(known)


def report_lines(preds: Sequence[Prediction]) -> list[str]:
    """``NAME<TAB>PREDICTED<TAB>CONFIDENCE`` per file, then ``accuracy: 0.xxx (n=N)`` where labels are known."""
    lines = [f"{p.name}\t{p.predicted}\t{p.confidence:.3f}" for p in preds]
    acc, n = accuracy(preds)
    if acc is not None:
        lines.append(f"accuracy: {acc:.3f} (n={n})")
    return lines


def generate_files(pm: Pretrained, per_class: int, out: str | Path, *, seed: int = 0, n_gla: int = 0) -> list[Path]:
    """Write ``c{class}_{i}.wav`` (16 kHz, the 1 s clip without the transform's padding) for every class:
    G(E(z, c)) through PGHI, z from ``seed``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_classes = pm.model_cfg.n_classes
    c = torch.arange(n_classes).repeat_interleave(per_class)
    specs = pm.sample(len(c), c=c, seed=seed, batch_size=64).cpu().numpy()[:, 0].astype(np.float64)
    cfg = model_audio_cfg(pm)
    waves = spectrogram_to_audio(specs, cfg, n_gla=n_gla)
    written = []
    for k, wave in enumerate(waves):
        path = out / f"c{int(c[k])}_{k % per_class}.wav"
        with atomic_write(path) as f:  # a killed run never leaves half a file
            sf.write(f, np.asarray(wave[:cfg.clip_samples], np.float32), cfg.sample_rate, format="WAV", subtype="PCM_16")
        written.append(path)
    return written
