"""Listing a labelled folder's files safely: audio files with their broken links reported, and labels CSVs.

* :func:`audio_files`: the audio files directly in a folder; dangling symlinks and symlink loops are
  returned as bad files (with their reason), not silently skipped.
* :func:`member`: a path from a label source, checked to stay inside the folder (no absolute path, no '..'
  out of it) and to be a readable file.
* :func:`read_labels_csv`: the rows of a labels CSV; a binary file is a DataError, empty labels and
  duplicate rows with conflicting labels are bad files, identical duplicates are kept once.
"""
from __future__ import annotations

import csv
import errno
import os
from pathlib import Path, PurePosixPath

from ggan_lib.data.paths import DataError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")


def link_problem(path: Path) -> str | None:
    """'symlink loop' / 'dangling symlink' for a broken link, 'missing' for nothing there, None for a file."""
    if path.is_file():
        return None
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as err:
            return "symlink loop" if err.errno == errno.ELOOP else f"dangling symlink (to {os.readlink(path)})"
    return "missing" if not os.path.lexists(path) else "not a regular file"


def audio_files(root: Path) -> tuple[list[Path], dict[str, str]]:
    """(audio files directly in ``root`` (hidden ones skipped), sorted by name; {bad name: reason} of broken links)."""
    files, bad = [], {}
    for p in sorted(root.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        why = link_problem(p)
        if why is None:
            files.append(p)
        elif p.is_symlink():
            bad[p.name] = f"{why}: the file cannot be read"
    return files, bad


def member(root: Path, rel: str) -> tuple[Path | None, str | None]:
    """(root / rel, None) for a file inside root, else (None, reason): absolute, outside root, missing or broken."""
    text = str(rel).strip()
    if not text:
        return None, "empty path"
    if os.path.isabs(text) or PurePosixPath(text.replace("\\", "/")).is_absolute() or (len(text) > 1 and text[1] == ":"):
        return None, "absolute path: paths in the labels are relative to the folder"
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if ".." in parts:
        return None, f"outside the folder: {text!r} climbs out of {root} with '..'"
    path = root / text
    why = link_problem(path)
    if why is not None:
        return None, ("missing: listed in the labels but not on disk" if why == "missing"
                      else f"{why}: listed in the labels but cannot be read")
    return path, None


def _rows(csv_path: Path, cols: tuple[str, str, str]) -> list[dict]:
    """The CSV's rows as dicts (DataError for a binary file or missing columns)."""
    pcol, lcol, _ = cols
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {pcol, lcol} - set(reader.fieldnames or ())
            if missing:
                raise DataError(f"{csv_path}: missing column(s) {sorted(missing)}; has {reader.fieldnames}")
            return list(reader)
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{csv_path}: not a UTF-8 text CSV ({type(err).__name__}: {err})") from None


def read_labels_csv(csv_path: Path, cols: tuple[str, str, str]) -> tuple[list[tuple], dict[str, str]]:
    """([(relative path, label, speaker, -1)], {bad path: reason}) of a labels CSV.

    A row with an empty label is bad; a path listed twice with different labels is bad (both rows
    dropped), listed twice with the same label kept once.
    """
    pcol, lcol, scol = cols
    seen: dict[str, tuple] = {}
    bad: dict[str, str] = {}
    for r in _rows(csv_path, cols):
        rel, label = (r.get(pcol) or "").strip(), (r.get(lcol) or "").strip()
        if not label:
            bad[rel or "<empty path>"] = f"empty label in {csv_path.name}"
            continue
        row = (rel, label, (r.get(scol) or "").strip(), -1)
        if rel in bad:
            continue
        if rel in seen and seen[rel][1] != label:
            bad[rel] = f"listed twice in {csv_path.name} with labels {seen.pop(rel)[1]!r} and {label!r}"
            continue
        seen[rel] = row
    return list(seen.values()), bad
