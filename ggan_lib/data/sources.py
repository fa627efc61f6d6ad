"""Training data in the shapes the trainers and metrics take: FSDD spectrograms with a labelled fraction, the
held-out monitoring set, synthetic smoke-test data, and the waveforms of a spoken-digit folder.

* :func:`fsdd_data` / :func:`fsdd_validation`: what ``python -m ggan_lib.cli.train`` trains and monitors on
  (the label protocol is :mod:`ggan_lib.data.splits`);
* :func:`list_digit_folder` / :func:`load_digit_folder`: ``{digit}_{speaker}_{index}.wav`` files as audio
  (N, L), FSDD's split (takes 0-4 test), for the metric classifier and the IS / FID reference.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ggan_lib.audio import AudioConfig, load_audio
from ggan_lib.config import ModelConfig
from ggan_lib.data.folders import DigitFolder
from ggan_lib.data.splits import labelled_subset, validation_indices

_NAME = re.compile(r"^(?P<digit>\d+)_(?P<speaker>[^_]+)_(?P<index>\d+)$")
TEST_INDICES = range(0, 5)  # FSDD's own convention: takes 0-4 of each digit and speaker are test


# --------------------------------------------------------------------------- spectrograms for training
def synthetic_data(model_cfg: ModelConfig, n: int = 64, n_labelled: int = 16, seed: int = 0):
    """Random spectrogram-shaped data in [-1, 1] with labels, for smoke tests only: (X, Xl, yl)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, *model_cfg.spec_shape, generator=g) * 2 - 1
    y = torch.randint(model_cfg.n_classes, (n,), generator=g)
    return X, X[:n_labelled], y[:n_labelled]


def _fsdd_train(model_cfg: ModelConfig, root, progress: bool, on_error: str = "raise"
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The FSDD training split as spectrograms (N, 1, H, W) at the model's shape, and digit labels (N,)."""
    cfg = AudioConfig(spec_shape=tuple(model_cfg.spec_shape))
    return DigitFolder(root, split="train", cfg=cfg, progress=progress, on_error=on_error).as_tensors()


def fsdd_data(model_cfg: ModelConfig, fraction: float, label_seed: int, root: str | None, progress: bool,
              on_error: str = "raise"):
    """FSDD training split as spectrograms of the preset's shape; a stratified labelled fraction: (X, Xl, yl).

    on_error: 'raise' (a bad file stops, named) or 'skip' (bad files left out with a warning)."""
    X, y = _fsdd_train(model_cfg, root, progress, on_error)
    idx = torch.from_numpy(labelled_subset(y, fraction, label_seed))
    # Pldata is a subset of Pdata here (section III-B): X keeps the labelled clips too
    return X, X[idx], y[idx]


def fsdd_validation(model_cfg: ModelConfig, fraction: float, label_seed: int, root: str | None, n_val: int,
                    on_error: str = "raise"):
    """A held-out labelled set for monitoring: n_val training-split clips outside the labelled subset, stratified
    (:func:`ggan_lib.data.splits.validation_indices`): (X_val, y_val).

    Their audio stays in the unlabelled pool X (as every training clip does); their labels are used only to
    measure Cx(F(D(x))) during training, never in a loss.
    """
    X, y = _fsdd_train(model_cfg, root, False, on_error)
    pick = validation_indices(y, fraction, label_seed, n_val)
    return X[pick], y[pick]


# --------------------------------------------------------------------------- waveforms of a digit folder
def list_digit_folder(folder, split: str, test_speakers=None) -> list[tuple[Path, int]]:
    """(path, digit) of every `{digit}_{speaker}_{index}.wav` in `folder` for split 'train'/'test'/'all'.

    The test set is FSDD's takes 0-4, or every clip of ``test_speakers`` (a name or names) when given.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    held_out = {test_speakers} if isinstance(test_speakers, str) else set(test_speakers or ())
    parsed = [(path, _NAME.match(path.stem)) for path in sorted(folder.glob("*.wav"))]
    parsed = [(path, m) for path, m in parsed if m is not None]
    unknown = held_out - {m["speaker"] for _, m in parsed}
    if unknown:
        raise ValueError(f"{folder}: no clips of test speaker(s) {sorted(unknown)}")
    items = []
    for path, m in parsed:
        is_test = m["speaker"] in held_out if held_out else int(m["index"]) in TEST_INDICES
        if split == "all" or (split == "test") == is_test:
            items.append((path, int(m["digit"])))
    if not items:
        raise FileNotFoundError(f"{folder}: no `{{digit}}_{{speaker}}_{{index}}.wav` files "
                                f"for split {split!r}")
    return items


def folder_speakers(folder) -> list[str]:
    """The speakers of a `{digit}_{speaker}_{index}.wav` folder, sorted (the folds of a speaker-disjoint table)."""
    return sorted({m["speaker"] for _, m in ((p, _NAME.match(p.stem)) for p in Path(folder).glob("*.wav")) if m})


def load_digit_folder(folder, split: str, cfg: AudioConfig = AudioConfig(),
                      progress: bool = True, test_speakers=None) -> tuple[np.ndarray, np.ndarray]:
    """Waveforms (N, L) float32 via ggan_lib.audio.load_audio and digit labels (N,) int64 of one split."""
    items = list_digit_folder(folder, split, test_speakers)
    waves = np.empty((len(items), cfg.signal_length), dtype=np.float32)
    with warnings.catch_warnings():
        # clips longer than 1 s are cut to the first second, as everywhere in the project
        warnings.filterwarnings("ignore", message=r".*cut to the first")
        for i, (path, _) in enumerate(tqdm(items, desc=f"load {split}", disable=not progress)):
            waves[i] = load_audio(path, cfg)
    labels = np.array([d for _, d in items], dtype=np.int64)
    return waves, labels
