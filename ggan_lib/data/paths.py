"""Where the datasets live (each overridable by an environment variable), how to get them, and the data errors."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from ggan_lib.io import paths as _io_paths

FSDD_HOWTO = ("get the Free Spoken Digit Dataset with `git clone "
              "https://github.com/Jakobovski/free-spoken-digit-dataset` and set "
              "GGAN_FSDD_DIR=<clone>/recordings (or pass root=...)")
SC09_HOWTO = "run `python data_scripts/prepare_sc09.py --out data/sc09` (or set GGAN_SC09_DIR)"
VOICES_HOWTO = ("run `python data_scripts/make_synthetic_voices.py --out data/synthetic_voices` "
                "(needs espeak-ng; or set GGAN_VOICES_DIR)")
LIBRI_HOWTO = ("run `python data_scripts/prepare_librispeech_gender.py --out "
               "data/librispeech_gender` (or set GGAN_LIBRISPEECH_DIR)")


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
    return _io_paths.REPO_ROOT


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
        why = "no such folder"
        if root.is_symlink():
            try:
                os.stat(root)
            except OSError as err:  # ELOOP or a dangling link
                why = f"a symlink that cannot be followed: {err.strerror}"
        raise DatasetNotFoundError(f"{what} not found: looked in {os.path.abspath(root)} "
                                   f"({why}). To get it, {howto}.")
    return root


