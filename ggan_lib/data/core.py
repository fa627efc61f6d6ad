"""Datasets of labelled audio folders as cached log-magnitude spectrograms, and label samplers.

* :class:`DigitFolder` reads any folder of ``{digit}_{speaker}_{index}.wav`` (FSDD, the SC09
  folders written by ``data_scripts/prepare_sc09.py``, the synthetic digits) with the usual
  split (take 0-4 test, 5+ train), a split by speaker, or everything.
* :class:`LabelledFolder` reads a folder whose labels come from a CSV, a mapping or a file-name
  pattern (the LibriSpeech / synthetic gender corpora), so guidance sets can come from any corpus.
* Spectrograms are computed once per folder and :class:`~ggan_lib.audio.AudioConfig` and cached
  on disk; bad files are reported by name (``on_error='raise'``) or left out with a warning
  (``on_error='skip'``), never silently cached.
* :func:`labelled_subset` draws the stratified labelled fraction xl of Algorithm 1.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ggan_lib.io import paths
from ggan_lib.io import atomic
from ggan_lib.data.splits import label_draws, labelled_subset  # noqa: F401  (re-exported)
from ggan_lib.audio import AudioConfig, AudioError, audio_to_spectrogram, load_audio

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
# {digit}_{speaker}_{index}: FSDD's naming; speakers may hold letters, digits and '-'
DIGIT_PATTERN = re.compile(r"^(?P<label>\d)_(?P<speaker>[A-Za-z0-9-]+)_(?P<index>\d+)$")
# {label}_{speaker}_{index} for any label text without '_' (e.g. the gender corpora: 0/1)
LABEL_PATTERN = re.compile(r"^(?P<label>[^_]+)_(?P<speaker>[^_]+)_(?P<index>\d+)$")
FSDD_HOWTO = ("get the Free Spoken Digit Dataset with `git clone "
              "https://github.com/Jakobovski/free-spoken-digit-dataset` and set "
              "GGAN_FSDD_DIR=<clone>/recordings (or pass root=...)")
SC09_HOWTO = "run `python data_scripts/prepare_sc09.py --out data/sc09` (or set GGAN_SC09_DIR)"
VOICES_HOWTO = ("run `python data_scripts/make_synthetic_voices.py --out data/synthetic_voices` "
                "(needs espeak-ng; or set GGAN_VOICES_DIR)")
LIBRI_HOWTO = ("run `python data_scripts/prepare_librispeech_gender.py --out "
               "data/librispeech_gender` (or set GGAN_LIBRISPEECH_DIR)")
_CACHE_VERSION = 1  # bump when the cache layout changes: old files are then rebuilt


class DataError(ValueError):
    """Base class of dataset errors."""


class BadFilesError(DataError):
    """Some files of a folder are unusable; ``.bad`` maps each file name to the reason."""

    def __init__(self, message: str, bad: Mapping[str, str]):
        super().__init__(message)
        self.bad = dict(bad)


class DatasetNotFoundError(DataError, FileNotFoundError):
    """The dataset folder is missing or holds no audio; the message says where and how to get it."""


# --------------------------------------------------------------------------- locations
def repo_root() -> Path:
    """The repository (or source tree) this package lives in."""
    return paths.REPO_ROOT


def default_fsdd_dir() -> Path:
    """FSDD recordings: $GGAN_FSDD_DIR, else <repo>/../shared/data/fsdd/recordings."""
    env = os.environ.get("GGAN_FSDD_DIR")
    return Path(env) if env else repo_root().parent / "shared" / "data" / "fsdd" / "recordings"


def default_sc09_dir() -> Path:
    """SC09 folders from prepare_sc09.py: $GGAN_SC09_DIR, else <repo>/data/sc09."""
    env = os.environ.get("GGAN_SC09_DIR")
    return Path(env) if env else repo_root() / "data" / "sc09"


def default_voices_dir() -> Path:
    """Synthetic voices from make_synthetic_voices.py: $GGAN_VOICES_DIR, else <repo>/data/synthetic_voices."""
    env = os.environ.get("GGAN_VOICES_DIR")
    return Path(env) if env else repo_root() / "data" / "synthetic_voices"


def default_librispeech_dir() -> Path:
    """Gender set from prepare_librispeech_gender.py: $GGAN_LIBRISPEECH_DIR, else <repo>/data/librispeech_gender."""
    env = os.environ.get("GGAN_LIBRISPEECH_DIR")
    return Path(env) if env else repo_root() / "data" / "librispeech_gender"


def default_cache_dir() -> Path:
    """Spectrogram cache: $GGAN_CACHE_DIR, else <repo>/.cache/spectrograms."""
    env = os.environ.get("GGAN_CACHE_DIR")
    return Path(env) if env else repo_root() / ".cache" / "spectrograms"


def _require_dir(root: Path, what: str, howto: str) -> Path:
    """Return ``root`` if it is a folder, else raise DatasetNotFoundError saying how to get it."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"{what} not found: looked in {root.resolve()} "
                                   f"(no such folder). To get it, {howto}.")
    return root


# --------------------------------------------------------------------------- computing
def _load_one(path: Path, cfg: AudioConfig):
    """(wave, None) or (None, reason) for one file; the reason names the error class."""
    try:
        wave = load_audio(path, cfg)
    except Exception as err:  # noqa: BLE001 - whatever stops a file from loading makes it bad
        return None, f"{type(err).__name__}: {str(err).replace(str(path) + ': ', '')}"
    if not np.any(wave):
        return None, "SilentClipError: all samples are zero"
    return wave, None


def _spectrograms(waves: list, cfg: AudioConfig) -> list:
    """Spectrograms of equal-length waves, batched; per clip (spec or reason) on failure."""
    try:
        specs = list(audio_to_spectrogram(np.stack(waves), cfg))
    except AudioError:  # find the offending clip(s) one by one
        specs = []
        for w in waves:
            try:
                specs.append(audio_to_spectrogram(w, cfg))
            except AudioError as err:
                specs.append(f"{type(err).__name__}: {err}")
    return [s if isinstance(s, str) or np.all(np.isfinite(s)) else "BadSpectrogramError: NaN/inf"
            for s in specs]


def compute_spectrograms(paths: Sequence, cfg: AudioConfig = AudioConfig(), *, workers: int = 1,
                         batch_size: int = 64, progress: bool = True, desc: str = "spectrograms"):
    """Spectrograms of audio files -> (specs (n_ok, H, W) float32, ok (N,) bool, reasons (N,) str).

    Loading runs on ``workers`` threads; the transform runs batched. A file that cannot be used
    gets ok=False and a reason (error class and message) instead of a spectrogram.
    """
    H, W = cfg.spec_shape
    ok, reasons, out = np.zeros(len(paths), bool), [""] * len(paths), []
    with warnings.catch_warnings(), ThreadPoolExecutor(max(1, workers)) as pool, \
            tqdm(total=len(paths), desc=desc, unit=" clips", disable=not progress) as bar:
        # cutting clips longer than 1 s is the front end's rule (design note 1), not news per file
        warnings.filterwarnings("ignore", message=r".*cut to the first")
        for start in range(0, len(paths), batch_size):
            idx = range(start, min(start + batch_size, len(paths)))
            loaded = list(pool.map(lambda i: _load_one(Path(paths[i]), cfg), idx))
            good = [i for i, (w, _) in zip(idx, loaded) if w is not None]
            for i, (_, why) in zip(idx, loaded):
                reasons[i] = why or ""
            specs = _spectrograms([loaded[i - start][0] for i in good], cfg) if good else []
            for i, s in zip(good, specs):
                if isinstance(s, str):
                    reasons[i] = s
                else:
                    ok[i] = True
                    out.append(s)
            bar.update(len(idx))
    specs = np.stack(out).astype(np.float32) if out else np.zeros((0, H, W), np.float32)
    return specs, ok, np.array(reasons, dtype=object)


# --------------------------------------------------------------------------- the cache
def listing_key(paths: Sequence, root: Path, cfg: AudioConfig) -> str:
    """Hash of cfg.key() and each file's name (relative to root), size and mtime."""
    h = hashlib.sha256(f"v{_CACHE_VERSION}|{cfg.key()}".encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"|{Path(p).relative_to(root).as_posix()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _crc(specs: np.ndarray) -> int:
    """CRC32 of the spectrogram bytes (detects a damaged cache cheaply)."""
    return zlib.crc32(np.ascontiguousarray(specs).data)


def _read_cache(path: Path, names: list, cfg: AudioConfig):
    """(specs, ok, reasons) from a cache file, or raise ValueError if it is not a valid one."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        specs, ok, reasons = z["specs"], z["ok"], z["reasons"].astype(object)
        cached_names = list(z["names"])
    if meta.get("version") != _CACHE_VERSION or meta.get("cfg") != cfg.key():
        raise ValueError("written for another version or AudioConfig")
    if cached_names != names or ok.shape != (len(names),) or reasons.shape != ok.shape:
        raise ValueError("file list does not match")
    if specs.shape != (int(ok.sum()), *cfg.spec_shape) or specs.dtype != np.float32:
        raise ValueError(f"spectrogram array has shape {specs.shape}")
    if _crc(specs) != meta.get("crc"):
        raise ValueError("checksum mismatch")
    return specs, ok, reasons


def _write_cache(path: Path, names: list, cfg: AudioConfig, specs, ok, reasons) -> None:
    """Write the cache atomically: a temporary file in the same folder, then os.replace."""
    meta = json.dumps({"version": _CACHE_VERSION, "cfg": cfg.key(), "crc": _crc(specs)})
    with atomic.atomic_write(path) as f:
        np.savez(f, specs=specs, ok=ok, reasons=reasons.astype(str), names=np.array(names),
                 meta=np.array(meta))


def cached_spectrograms(paths: Sequence, root, cfg: AudioConfig = AudioConfig(), *,
                        cache_dir=None, workers: int = 1, progress: bool = True):
    """:func:`compute_spectrograms` through the on-disk cache (``cache_dir=False`` disables it).

    The cache file is keyed by cfg.key() and the file list (names, sizes, mtimes), so editing,
    adding or removing a file builds a new one; a damaged file is detected and rebuilt.
    """
    root = Path(root)
    names = [Path(p).relative_to(root).as_posix() for p in paths]
    desc = f"spectrograms {root.name}"
    if cache_dir is False:
        return compute_spectrograms(paths, cfg, workers=workers, progress=progress, desc=desc)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", root.name)[:40] or "root"
    path = cache_dir / f"{slug}-{cfg.key()}-{listing_key(paths, root, cfg)}.npz"
    if path.exists():
        try:
            return _read_cache(path, names, cfg)
        except Exception as err:  # noqa: BLE001 - any unreadable cache is rebuilt, never trusted
            warnings.warn(f"spectrogram cache {path} is damaged ({type(err).__name__}: {err}); "
                          "rebuilding it", stacklevel=3)
    specs, ok, reasons = compute_spectrograms(paths, cfg, workers=workers, progress=progress,
                                              desc=desc)
    _write_cache(path, names, cfg, specs, ok, reasons)
    return specs, ok, reasons


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


def _audio_files(root: Path) -> list[Path]:
    """Audio files directly in ``root`` (hidden files skipped), sorted by name."""
    return sorted(p for p in root.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in AUDIO_SUFFIXES)


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
        files = _audio_files(self.root)
        if not files:
            raise DatasetNotFoundError(f"no audio files in {self.root.resolve()}. To get the "
                                       f"digit recordings, {FSDD_HOWTO}.")
        entries, bad = [], {}
        for p in files:
            m = DIGIT_PATTERN.match(p.stem)
            if m is None:
                bad[p.name] = "bad name: expected {digit}_{speaker}_{index}.wav, e.g. 7_jackson_32.wav"
                continue
            entries.append(Entry(p, int(m["label"]), m["speaker"], int(m["index"])))
        return entries, bad

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
        src, bad = self._labels_src, {}
        if src is None:
            rows = []
            for p in _audio_files(self.root):
                m = self._pattern.match(p.stem)
                if m is None:
                    bad[p.name] = f"bad name: does not match {self._pattern.pattern}"
                    continue
                g = m.groupdict()
                rows.append((p.name, g["label"], g.get("speaker") or "", int(g.get("index") or -1)))
            return rows, bad
        if isinstance(src, Mapping):
            return [(k, v, "", -1) for k, v in sorted(src.items())], bad
        return self._csv_rows(Path(src)), bad

    def _csv_rows(self, csv_path: Path) -> list:
        """Rows of a labels CSV (path relative to self.root)."""
        if not csv_path.is_absolute() and not csv_path.exists():
            csv_path = self.root / csv_path
        if not csv_path.is_file():
            raise DatasetNotFoundError(f"labels CSV not found: looked for {csv_path.resolve()}")
        pcol, lcol, scol = self._cols
        with open(csv_path, newline="") as f:
            reader = csv.DictReader(f)
            missing = {pcol, lcol} - set(reader.fieldnames or ())
            if missing:
                raise DataError(f"{csv_path}: missing column(s) {sorted(missing)}; "
                                f"has {reader.fieldnames}")
            return [(r[pcol], r[lcol], r.get(scol) or "", -1) for r in reader]

    def _scan(self):
        """Entries with integer labels; listed files that are missing are bad files."""
        rows, bad = self._label_rows()
        if not rows and not bad:
            raise DatasetNotFoundError(f"no labelled audio files in {self.root.resolve()}")
        to_int = self._label_map([r[1] for r in rows])
        entries = []
        for rel, raw, speaker, index in rows:
            path = self.root / rel
            if not path.is_file():
                bad[rel] = "missing: listed in the labels but not on disk"
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
