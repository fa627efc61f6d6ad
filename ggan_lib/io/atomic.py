"""Atomic file writes: a temporary file in the target's folder, then os.replace onto the target.

Readers (and a run killed mid-write) only ever see the old file or the complete new one. Every
checkpoint, cache, result and record the project writes goes through :func:`atomic_write`.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, durable: bool = False) -> Iterator[Any]:
    """Yield a handle on a temporary file beside ``path``; on success it replaces ``path``.

    ``mode`` is 'wb' or 'w' (text, UTF-8). ``durable=True`` also fsyncs the file and its folder,
    for checkpoints that must survive a power cut. On any error the temporary file is removed
    and ``path`` is left as it was.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these files are shared and shipped
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every file system allows it)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write UTF-8 text; returns the path."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any, **dump_kwargs: Any) -> Path:
    """Atomically write ``obj`` as JSON (``json.dump`` keyword arguments pass through); returns the path."""
    with atomic_write(path, "w") as fh:
        json.dump(obj, fh, **dump_kwargs)
    return Path(path)


def torch_save(obj: Any, path: str | os.PathLike, *, durable: bool = False) -> Path:
    """Atomically ``torch.save`` ``obj``; returns the path."""
    with atomic_write(path, "wb", durable=durable) as fh:
        torch.save(obj, fh)
    return Path(path)


def write_csv(path: str | os.PathLike, rows: list[dict], fieldnames: list[str]) -> Path:
    """Atomically write dict rows as CSV with a header; returns the path."""
    with atomic_write(path, "w") as fh:
        w = csv.DictWriter(fh, fieldnames=fieldnames)
        w.writeheader()
        w.writerows(rows)
    return Path(path)
