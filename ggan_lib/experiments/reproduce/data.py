"""The data the reproduction's notebooks read: spectrograms and waveforms of a split of FSDD, SC09 or a folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ggan_lib.audio import AudioConfig
from ggan_lib.config import ModelConfig
from ggan_lib.data import DigitFolder, default_fsdd_dir, default_sc09_dir, load_digit_folder
from ggan_lib.data.splits import parse_data_spec


def audio_cfg(preset: str) -> AudioConfig:
    """AudioConfig at the preset's spectrogram shape (what its generator's audio went through)."""
    return AudioConfig(spec_shape=tuple(ModelConfig.preset(preset).spec_shape))


def data_source(data: str, split: str) -> tuple[Path, str, str | None]:
    """(folder, split inside it, held-out test speaker or None) of a data spec, for split 'train' or 'test'.

    data: 'fsdd', 'sc09' or a digit folder, optionally with ':test=<speaker>' (ggan_lib.data.splits.data_spec)
    for the speaker-disjoint split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    data, speaker = parse_data_spec(data)
    if data == "sc09":  # prepare_sc09.py writes one folder per official split (already speaker-disjoint)
        if speaker:
            raise ValueError("SC09's official split is speaker-disjoint already: no ':test=' speaker")
        return default_sc09_dir() / split, "all", None
    folder = default_fsdd_dir() if data == "fsdd" else Path(data)
    return folder, split, speaker  # FSDD's split (takes 0-4 test) unless a speaker is held out


def load_spectrograms(data: str, split: str, preset: str, progress: bool = False):
    """X (N, 1, H, W) at the preset's spectrogram shape and labels y (N,) of one split."""
    folder, sub, speaker = data_source(data, split)
    return DigitFolder(folder, split=sub, test_speakers=speaker, cfg=audio_cfg(preset),
                       progress=progress).as_tensors()


def load_waves(data: str, split: str, limit: int = 0, seed: int = 0, progress: bool = False):
    """Waveforms (N, L) and labels of one split, shuffled (IS splits must not be one class each); limit > 0 keeps N."""
    folder, sub, speaker = data_source(data, split)
    waves, labels = load_digit_folder(folder, sub, progress=progress, test_speakers=speaker)
    order = np.random.default_rng(seed).permutation(len(waves))
    order = order[:limit] if limit else order
    return waves[order], labels[order]
