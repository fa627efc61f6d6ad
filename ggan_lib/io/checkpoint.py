"""Atomic, complete, checksummed training checkpoints loaded with ``torch.load(weights_only=True)``.

Each checkpoint carries ``checksum``, a sha256 of its payload (every key, number and tensor byte; see
:func:`payload_digest`), verified on load when present (checkpoints written before it still load). A file that
does not load or does not verify raises :class:`CheckpointCorruptError`, naming the file and the last good
checkpoint beside it. ``save_checkpoint(..., keep_previous=True)`` keeps the file it replaces as
``<name>.prev.pt``.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ggan_lib.io import atomic

FORMAT = 1  # bump when the layout below changes


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the current configuration or networks."""


class CheckpointCorruptError(CheckpointMismatchError):
    """A checkpoint file is damaged: it does not load, or its payload does not match its checksum."""


def _update(h, obj: Any) -> None:
    """Feed ``obj`` (dicts, lists, tuples, tensors, numbers, strings, None) into the hash ``h``, canonically."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for k in sorted(obj, key=repr):
            h.update(f"K{k!r}".encode())
            _update(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)}".encode())
        for v in obj:
            _update(h, v)
    else:
        h.update(f"V{obj!r}".encode())


def payload_digest(state: dict[str, Any]) -> str:
    """Hex sha256 of a checkpoint's payload: every entry except ``checksum`` itself."""
    h = hashlib.sha256()
    _update(h, {k: v for k, v in state.items() if k != "checksum"})
    return h.hexdigest()


def _keep_previous(path: Path) -> None:
    """The file at ``path`` (if any) also as ``<stem>.prev.pt``, via a hard link (no moment without ``path``)."""
    if not path.is_file():
        return
    prev, tmp = previous_path(path), path.with_name(f".{path.name}.prev.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(path, tmp)
    except OSError:  # no hard links here: copy
        shutil.copyfile(path, tmp)
    os.replace(tmp, prev)


def previous_path(path: str | os.PathLike) -> Path:
    """Where ``save_checkpoint(path, ..., keep_previous=True)`` keeps the checkpoint it replaced."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any], *, keep_previous: bool = False) -> Path:
    """Write ``state`` with its checksum atomically and durably (temporary file, fsync, os.replace, folder fsync).

    ``keep_previous``: the checkpoint being replaced stays as ``<stem>.prev.pt`` (see previous_path)."""
    payload = {"format": FORMAT, **{k: v for k, v in state.items() if k != "checksum"}}
    payload["checksum"] = payload_digest(payload)
    if keep_previous:
        _keep_previous(Path(path))
    return atomic.torch_save(payload, path, durable=True)


def _read(path: Path, map_location: Any) -> dict[str, Any]:
    """torch.load(weights_only=True) and the checksum check; CheckpointCorruptError for a damaged file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated, zeroed, foreign: all "this file is damaged"
        why = "an empty file" if path.stat().st_size == 0 else f"{type(err).__name__}: {str(err).splitlines()[0]}"
        raise CheckpointCorruptError(f"{path}: damaged checkpoint, it does not load ({why})") from None
    if not isinstance(state, dict):
        raise CheckpointCorruptError(f"{path}: not a checkpoint (a {type(state).__name__})")
    if "checksum" in state and payload_digest(state) != state["checksum"]:
        raise CheckpointCorruptError(f"{path}: damaged checkpoint, its payload does not match its checksum")
    return state


def last_good(path: str | os.PathLike) -> Path | None:
    """The newest checkpoint beside ``path`` that loads and verifies: its .prev.pt, or a run folder's best.pt."""
    path = Path(path)
    found = []
    for other in (previous_path(path), path.with_name("best.pt")):
        if other == path or not other.is_file():
            continue
        try:
            found.append((int(_read(other, "cpu").get("iteration", -1)), other.stat().st_mtime, other))
        except Exception:  # noqa: BLE001 - anything that does not load is not a candidate
            continue
    return max(found)[2] if found else None


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` (tensors and plain containers only, no code), checksum verified.

    CheckpointCorruptError (naming the last good checkpoint beside it, if any) for a damaged file.
    """
    path = Path(path)
    try:
        state = _read(path, map_location)
    except CheckpointCorruptError as err:
        good = last_good(path)
        hint = f"; the last good checkpoint beside it is {good}" if good else "; no good checkpoint is beside it"
        raise CheckpointCorruptError(f"{err}{hint}") from None
    if state.get("format") != FORMAT:
        raise CheckpointMismatchError(f"{path}: checkpoint format {state.get('format')} != supported {FORMAT}")
    return state


def config_diff(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable 'field: checkpoint=... current=...' lines for fields that differ."""
    keys = sorted(set(saved) | set(current))

    def norm(v):
        return json.loads(json.dumps(v))  # tuples vs lists compare equal

    return [f"{k}: checkpoint={saved.get(k, '<absent>')!r} current={current.get(k, '<absent>')!r}"
            for k in keys if norm(saved.get(k)) != norm(current.get(k))]


def check_config(what: str, saved: dict[str, Any], current: dict[str, Any], path: Any,
                 ignore: frozenset[str] = frozenset()) -> None:
    """Raise CheckpointMismatchError naming both values of every differing field (except ``ignore``)."""
    diff = [d for d in config_diff(saved, current) if d.split(":")[0] not in ignore]
    if diff:
        raise CheckpointMismatchError(f"{path}: {what} of the checkpoint differs from the current one:\n  "
                                      + "\n  ".join(diff))


def check_shapes(saved: dict[str, torch.Tensor], current: dict[str, torch.Tensor], path: Any) -> None:
    """Raise CheckpointMismatchError naming each missing/unexpected key and each (checkpoint, current) shape pair."""
    errs = [f"{k}: checkpoint {tuple(v.shape)} vs current {tuple(current[k].shape)}"
            for k, v in saved.items() if k in current and v.shape != current[k].shape]
    errs += [f"{k}: only in the checkpoint" for k in saved if k not in current]
    errs += [f"{k}: only in the current networks" for k in current if k not in saved]
    if errs:
        raise CheckpointMismatchError(f"{path}: tensors do not match the current networks:\n  " + "\n  ".join(errs))


def rng_state() -> dict[str, Any]:
    """Global RNG states (torch, CUDA, numpy, python) as tensors and plain containers."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    py = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": [py[0], list(py[1]), py[2]],
    }


def set_rng_state(s: dict[str, Any]) -> None:
    """Inverse of rng_state()."""
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    n = s["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    py = s["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
