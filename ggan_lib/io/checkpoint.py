"""Atomic, complete training checkpoints loaded with ``torch.load(weights_only=True)``."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ggan_lib.io import atomic

FORMAT = 1  # bump when the layout below changes


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the current configuration or networks."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically and durably (temporary file, fsync, os.replace, folder fsync)."""
    return atomic.torch_save({"format": FORMAT, **state}, path, durable=True)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` (tensors and plain containers only, no code)."""
    state = torch.load(Path(path), map_location=map_location, weights_only=True)
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
