"""Datasets of labelled audio folders as cached log-magnitude spectrograms, and a mini-batch sampler.

* :class:`DigitFolder` reads any folder of ``{digit}_{speaker}_{index}.wav`` (FSDD, the SC09
  folders written by ``data_scripts/prepare_sc09.py``, the synthetic digits) with the usual
  split (take 0-4 test, 5+ train), a split by speaker, or everything.
* :class:`LabelledFolder` reads a folder whose labels come from a CSV, a mapping or a file-name
  pattern (the LibriSpeech / synthetic gender corpora), so guidance sets can come from any corpus.
* Spectrograms come from :mod:`ggan_lib.data.cache`; bad files are reported by name
  (``on_error='raise'``) or left out with a warning (``on_error='skip'``).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ggan_lib.audio import AudioConfig
from ggan_lib.data.cache import cached_spectrograms
from ggan_lib.data.listing import AUDIO_SUFFIXES, audio_files, member, read_labels_csv  # noqa: F401
from ggan_lib.data.paths import (
    FSDD_HOWTO,
    LIBRI_HOWTO,
    SC09_HOWTO,
    VOICES_HOWTO,
    BadFilesError,
    DataError,
    DatasetNotFoundError,
    _require_dir,
    default_fsdd_dir,
    default_librispeech_dir,
    default_sc09_dir,
    default_voices_dir,
)

# {digit}_{speaker}_{index}: FSDD's naming; speakers may hold letters, digits and '-'
DIGIT_PATTERN = re.compile(r"^(?P<label>\d)_(?P<speaker>[A-Za-z0-9-]+)_(?P<index>\d+)$")
# {label}_{speaker}_{index} for any label text without '_' (e.g. the gender corpora: 0/1)
LABEL_PATTERN = re.compile(r"^(?P<label>[^_]+)_(?P<speaker>[^_]+)_(?P<index>\d+)$")


# --------------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class Entry:
    """One file of a dataset: its path, integer label, speaker and take index (-1 if none)."""

    path: Path
    label: int
    speaker: str = ""
    index: int = -1


class SpectrogramFolder(Dataset):
    """Base dataset: labelled audio files -> (spec (1, H, W) float32 tensor, label int) items.

    Subclasses list the files (``_scan``); this class computes / caches the spectrograms,
    applies the bad-file policy and the split. Per-item metadata: ``paths``, ``speakers``,
    ``indices``, ``meta(i)``.
    """

    def __init__(self, root, *, split: str = "all", test_speakers=None,
                 cfg: AudioConfig = AudioConfig(), cache_dir=None, on_error: str = "raise",
                 workers: int = 1, progress: bool = True):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if split not in ("train", "test", "all"):
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
        self.root, self.cfg, self.split = Path(root), cfg, split
        entries, bad = self._scan()
        specs, ok, reasons = cached_spectrograms([e.path for e in entries], self.root, cfg,
                                                 cache_dir=cache_dir, workers=workers,
                                                 progress=progress)
        bad.update({e.path.relative_to(self.root).as_posix(): r
                    for e, r, good in zip(entries, reasons, ok) if not good})
        self.bad = dict(sorted(bad.items()))
        self._report_bad(on_error)
        kept = [e for e, good in zip(entries, ok) if good]
        if not kept:
            raise BadFilesError(f"no usable audio files in {self.root}", self.bad)
        rows = np.flatnonzero(self._split_mask(kept, split, test_speakers))
        if not len(rows):
            raise DataError(f"the {split} split of {self.root} is empty: none of its {len(kept)} usable file(s) "
                            f"is in it ({self._split_rule(test_speakers)})")
        # keep only this split's spectrograms: a test split need not hold the whole folder
        self._specs = specs if len(rows) == len(specs) else specs[rows]  # (N, H, W)
        self.entries = [kept[i] for i in rows]
        self.labels = np.array([e.label for e in self.entries], dtype=np.int64)

    # -- subclasses
    def _scan(self) -> tuple[list, dict]:
        """(entries, {bad name: reason}) of the whole folder, in a stable order."""
        raise NotImplementedError

    def _default_test(self, entries: list) -> np.ndarray:
        """Test mask when no test speakers are given (subclasses define their usual split)."""
        raise DataError(f"{type(self).__name__}: split={self.split!r} needs test_speakers=[...]")

    def _split_rule(self, test_speakers) -> str:
        """How the split is made, in words (for the empty-split error)."""
        return f"test speakers {sorted(test_speakers)}" if test_speakers is not None else "the folder's usual split"

    # -- helpers
    def _report_bad(self, on_error: str) -> None:
        """Raise BadFilesError listing the bad files, or warn and leave them out."""
        if not self.bad:
            return
        lines = "\n".join(f"  - {name}: {why}" for name, why in self.bad.items())
        head = f"{len(self.bad)} bad file(s) in {self.root}"
        if on_error == "raise":
            raise BadFilesError(f"{head} (pass on_error='skip' to leave them out):\n{lines}",
                                self.bad)
        warnings.warn(f"{head}, left out (on_error='skip'):\n{lines}", stacklevel=3)

    def _split_mask(self, entries: list, split: str, test_speakers) -> np.ndarray:
        """Boolean mask of the entries in ``split``."""
        if split == "all":
            return np.ones(len(entries), bool)
        if test_speakers is not None:
            test_speakers = {test_speakers} if isinstance(test_speakers, str) else set(test_speakers)
            known = {e.speaker for e in entries}
            if not test_speakers <= known:
                raise DataError(f"unknown test speaker(s) {sorted(test_speakers - known)}; "
                                f"speakers in {self.root}: {sorted(known)}")
            test = np.array([e.speaker in test_speakers for e in entries], bool)
        else:
            test = self._default_test(entries)
        return test if split == "test" else ~test

    # -- Dataset API
    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i: int):
        """(spectrogram (1, H, W) float32 tensor, label int)."""
        spec = torch.tensor(self._specs[i])  # a copy: changing an item never changes the dataset
        return spec.unsqueeze(0), int(self.labels[i])

    def as_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All items in memory: X (N, 1, H, W) float32, y (N,) int64."""
        X = torch.from_numpy(self._specs.copy()).unsqueeze(1)  # a copy, as in __getitem__
        return X, torch.from_numpy(self.labels.copy())

    @property
    def paths(self) -> list[Path]:
        """File path of each item."""
        return [e.path for e in self.entries]

    @property
    def speakers(self) -> list[str]:
        """Speaker of each item."""
        return [e.speaker for e in self.entries]

    @property
    def indices(self) -> list[int]:
        """Take index of each item (-1 where the name has none)."""
        return [e.index for e in self.entries]

    def meta(self, i: int) -> dict:
        """Metadata of item i: path, label, speaker, index."""
        e = self.entries[i]
        return {"path": e.path, "label": e.label, "speaker": e.speaker, "index": e.index}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, "
                f"n={len(self)}, n_classes={self.n_classes}, spec_shape={self.cfg.spec_shape})")


class DigitFolder(SpectrogramFolder):
    """Spoken digits named ``{digit}_{speaker}_{index}.wav`` (FSDD by default), label = digit.

    split: 'train' / 'test' / 'all'. Without ``test_speakers`` the usual FSDD split holds:
    takes 0-4 of every digit and speaker are the test set, 5+ the training set. With
    ``test_speakers=[...]`` those speakers are the test set. A badly named audio file is a bad file.
    """

    n_classes = 10
    classes = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

    def __init__(self, root=None, split: str = "train", *, test_speakers=None,
                 n_test_takes: int = 5, cfg: AudioConfig = AudioConfig(), cache_dir=None,
                 on_error: str = "raise", workers: int = 1, progress: bool = True):
        root = Path(root) if root is not None else default_fsdd_dir()
        _require_dir(root, "digit recordings", FSDD_HOWTO)
        self.n_test_takes = n_test_takes  # FSDD's documented split: takes 0-4 are test
        super().__init__(root, split=split, test_speakers=test_speakers, cfg=cfg,
                         cache_dir=cache_dir, on_error=on_error, workers=workers,
                         progress=progress)

    def _scan(self):
        """Parse every audio file name; names that do not match are bad files."""
        files, bad = audio_files(self.root)
        if not files:
            raise DatasetNotFoundError(f"no audio files in {self.root.absolute()}. To get the "
                                       f"digit recordings, {FSDD_HOWTO}.")
        entries = []
        for p in files:
            m = DIGIT_PATTERN.match(p.stem)
            if m is None:
                bad[p.name] = "bad name: expected {digit}_{speaker}_{index}.wav, e.g. 7_jackson_32.wav"
                continue
            entries.append(Entry(p, int(m["label"]), m["speaker"], int(m["index"])))
        return entries, bad

    def _split_rule(self, test_speakers) -> str:
        if test_speakers is not None:
            return super()._split_rule(test_speakers)
        return f"takes 0-{self.n_test_takes - 1} are the test split, takes {self.n_test_takes} and above the train split"

    def _default_test(self, entries):
        """FSDD's usual split: take index < n_test_takes is test."""
        return np.array([e.index < self.n_test_takes for e in entries], bool)


def sc09(split: str = "train", root=None, *, cfg: AudioConfig = AudioConfig(), cache_dir=None,
         on_error: str = "raise", workers: int = 1, progress: bool = True) -> DigitFolder:
    """SC09 as prepared by data_scripts/prepare_sc09.py: the 'train' / 'valid' / 'test' folder."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"SC09 split must be 'train', 'valid' or 'test', got {split!r}")
    root = Path(root) if root is not None else default_sc09_dir()
    _require_dir(root / split, f"SC09 {split} split", SC09_HOWTO)
    return DigitFolder(root / split, split="all", cfg=cfg, cache_dir=cache_dir,
                       on_error=on_error, workers=workers, progress=progress)


class LabelledFolder(SpectrogramFolder):
    """Audio files with labels from a CSV, a mapping or the file names; ``n_classes`` classes.

    labels: None -> each file name stem matches ``pattern`` (groups ``label``, optional
    ``speaker`` / ``index``); a CSV path (relative to root or absolute) -> rows with
    ``path_column`` (relative to root), ``label_column`` and optional ``speaker_column``;
    a mapping -> {path relative to root: label}. Label values are class indices, or class
    names listed in ``classes`` (default: the sorted distinct names).
    """

    def __init__(self, root, labels=None, *, label_column: str = "label",
                 path_column: str = "path", speaker_column: str = "speaker",
                 pattern=LABEL_PATTERN, classes: Sequence[str] | None = None,
                 n_classes: int | None = None, split: str = "all", test_speakers=None,
                 cfg: AudioConfig = AudioConfig(), cache_dir=None, on_error: str = "raise",
                 workers: int = 1, progress: bool = True):
        root = Path(root)
        _require_dir(root, "labelled audio folder", "run the data script that writes it "
                     "(see data_scripts/README.md)")
        self._labels_src, self._pattern = labels, re.compile(pattern)
        self._cols = (path_column, label_column, speaker_column)
        self.classes = tuple(classes) if classes is not None else None
        self._n_classes_arg = n_classes
        super().__init__(root, split=split, test_speakers=test_speakers, cfg=cfg,
                         cache_dir=cache_dir, on_error=on_error, workers=workers,
                         progress=progress)

    def _label_rows(self) -> tuple[list, dict]:
        """[(relative path, raw label, speaker, index)] from the label source, and bad names."""
        src = self._labels_src
        if src is None:
            rows, (files, bad) = [], audio_files(self.root)
            for p in files:
                m = self._pattern.match(p.stem)
                if m is None:
                    bad[p.name] = f"bad name: does not match {self._pattern.pattern}"
                    continue
                g = m.groupdict()
                rows.append((p.name, g["label"], g.get("speaker") or "", int(g.get("index") or -1)))
            return rows, bad
        if isinstance(src, Mapping):
            rows = [(k, v, "", -1) for k, v in sorted(src.items()) if str(v).strip()]
            return rows, {k: "empty label" for k, v in src.items() if not str(v).strip()}
        return self._csv_rows(Path(src))

    def _csv_rows(self, csv_path: Path) -> tuple[list, dict]:
        """Rows of a labels CSV (path relative to self.root) and its bad rows (ggan_lib.data.listing)."""
        if not csv_path.is_absolute() and not csv_path.exists():
            csv_path = self.root / csv_path
        if not csv_path.is_file():
            raise DatasetNotFoundError(f"labels CSV not found: looked for {csv_path.absolute()}")
        return read_labels_csv(csv_path, self._cols)

    def _scan(self):
        """Entries with integer labels; listed files that are missing are bad files."""
        rows, bad = self._label_rows()
        if not rows and not bad:
            raise DatasetNotFoundError(f"no labelled audio files in {self.root.absolute()}")
        to_int = self._label_map([r[1] for r in rows])
        entries = []
        for rel, raw, speaker, index in rows:
            path, why = member(self.root, rel)  # inside the folder, a readable file
            if why is not None:
                bad[rel] = why
                continue
            entries.append(Entry(path, to_int(raw), str(speaker), index))
        entries.sort(key=lambda e: e.path.relative_to(self.root).as_posix())
        return entries, bad

    def _label_map(self, raw: list):
        """Function raw label -> int, and set self.n_classes / self.classes."""
        text = [str(v).strip() for v in raw]
        if self.classes is None and all(re.fullmatch(r"\d+", t) for t in text):
            ints = [int(t) for t in text]
            n = self._n_classes_arg if self._n_classes_arg is not None else max(ints, default=-1) + 1
            lookup = None
        else:
            names = self.classes or tuple(sorted(set(text)))
            self.classes = names
            lookup = {c: i for i, c in enumerate(names)}
            n = self._n_classes_arg if self._n_classes_arg is not None else len(names)
        self.n_classes = n

        def to_int(v) -> int:
            t = str(v).strip()
            if lookup is None or t not in lookup:
                if not re.fullmatch(r"\d+", t):
                    raise DataError(f"label {t!r} is not one of the classes {self.classes}")
                k = int(t)
            else:
                k = lookup[t]
            if not 0 <= k < n:
                raise DataError(f"label {t!r} outside [0, {n}) (n_classes={n})")
            return k

        return to_int


def synthetic_voices(kind: str = "words", root=None, *, split: str = "all", test_speakers=None,
                     cfg: AudioConfig = AudioConfig(), cache_dir=None, on_error: str = "raise",
                     workers: int = 1, progress: bool = True) -> SpectrogramFolder:
    """The espeak-ng corpus: 'words' -> gender-labelled LabelledFolder, 'digits' -> DigitFolder.

    Speakers are the voices (e.g. 'm1p45s160'); split by voice with test_speakers=[...].
    """
    if kind not in ("words", "digits"):
        raise ValueError(f"kind must be 'words' or 'digits', got {kind!r}")
    root = Path(root) if root is not None else default_voices_dir()
    folder = _require_dir(root / kind, f"synthetic voices ({kind})", VOICES_HOWTO)
    common = dict(split=split, test_speakers=test_speakers, cfg=cfg, cache_dir=cache_dir,
                  on_error=on_error, workers=workers, progress=progress)
    if kind == "digits":
        return DigitFolder(folder, **common)
    return LabelledFolder(folder, "labels.csv", label_column="gender", speaker_column="voice",
                          n_classes=2, **common)


def librispeech_gender(root=None, *, split: str = "all", test_speakers=None,
                       cfg: AudioConfig = AudioConfig(), cache_dir=None, on_error: str = "raise",
                       workers: int = 1, progress: bool = True) -> LabelledFolder:
    """The LibriSpeech gender guidance set (gender 0 = male, 1 = female); split by speaker."""
    root = Path(root) if root is not None else default_librispeech_dir()
    _require_dir(root, "LibriSpeech gender set", LIBRI_HOWTO)
    return LabelledFolder(root, "labels.csv", label_column="gender", n_classes=2, split=split,
                          test_speakers=test_speakers, cfg=cfg, cache_dir=cache_dir,
                          on_error=on_error, workers=workers, progress=progress)


def infinite_batches(*tensors: torch.Tensor, batch_size: int, seed: int = 0,
                     device=None) -> Iterator[tuple]:
    """Endless shuffled mini-batches of aligned tensors (reshuffled every epoch, no short batch)."""
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError("all tensors must have the same length")
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} > number of items {n}")
    gen = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n - batch_size + 1, batch_size):
            idx = perm[s:s + batch_size]
            yield tuple(t[idx].to(device) if device is not None else t[idx] for t in tensors)
