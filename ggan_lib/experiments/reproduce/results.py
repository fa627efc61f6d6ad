"""A run's result.json: what a notebook writes last (its parameters and metrics), and reading it back.

Paths inside the repository are stored as ``<repo>/...`` (:func:`portable_params`), so a clone at another
path (CI, a reader's Colab) sees the shipped runs as finished.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ggan_lib.data import repo_root
from ggan_lib.io import atomic, paths

NOTEBOOKS_DIR = paths.NOTEBOOKS_DIR
RESULT = "result.json"

# Every notebook's `parameters` cell, name by name (tests check the notebooks against this).
NOTEBOOK_PARAMS: dict[str, tuple[str, ...]] = {
    "train_ggan": ("preset", "data", "fraction", "draw", "seed", "iters", "device", "threads", "progress",
                   "ckpt_every"),
    "train_gender": ("preset", "unlabelled", "guidance", "test_voices_per_class", "iters", "eval_every", "n_eval",
                     "metric_classifier", "seed", "device", "threads", "progress"),
    "train_baseline": ("method", "preset", "data", "fractions", "draws", "seed", "gan_iters", "enc_iters",
                       "cnn_iters", "clf_iters", "device", "threads", "progress"),
    "train_metric_classifier": ("data", "epochs", "batch_size", "lr", "channels", "limit", "seed", "device",
                                "threads", "progress"),
    "evaluate": ("checkpoint", "kind", "preset", "data", "metric_classifier", "n_clips", "n_real", "n_splits",
                 "feature_kind", "on_nonfinite", "seed", "device", "threads", "progress"),
}


def _json_default(o: Any) -> Any:
    """numpy / torch / Path values as plain JSON."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (np.ndarray, torch.Tensor)):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write JSON atomically (never half a file): result.json is what marks a run as finished."""
    return atomic.write_json(path, obj, indent=1, default=_json_default, allow_nan=True)


def normalise(params: dict[str, Any]) -> dict[str, Any]:
    """Params as JSON would return them (tuples -> lists), so a saved and a planned set compare equal."""
    return json.loads(json.dumps(params, default=_json_default))


# Absolute paths inside the repository are stored in result.json as "<repo>/<relative path>" (the repository
# itself as "<repo>"), so a clone at another path (CI, a reader's Colab) sees the shipped runs as finished.
REPO_MARKER = "<repo>"


def portable_params(obj: Any, root: str | os.PathLike | None = None) -> Any:
    """obj with every string that is an absolute path inside `root` (default: repo_root()) written as
    "<repo>/<path relative to root>", in nested dicts and lists too; other values, and absolute paths
    outside the root, are returned unchanged. Purely lexical: the file system is not consulted.

    >>> portable_params({"checkpoint": "/r/results/x.pt", "data": "fsdd", "clf": "/elsewhere/c.pt"}, "/r")
    {'checkpoint': '<repo>/results/x.pt', 'data': 'fsdd', 'clf': '/elsewhere/c.pt'}
    """
    root_s = os.path.normpath(os.fspath(repo_root() if root is None else root))
    return map_strings(obj, lambda s: _portable_path(s, root_s))


def resolve_params(obj: Any, root: str | os.PathLike | None = None) -> Any:
    """The inverse of portable_params: "<repo>/..." strings as absolute paths under `root` (default:
    repo_root()); everything else unchanged. Use it on params read back from a result.json as paths."""
    root_s = os.path.normpath(os.fspath(repo_root() if root is None else root))
    return map_strings(obj, lambda s: _resolved_path(s, root_s))


def _portable_path(s: str, root: str) -> str:
    """'<repo>/rel' for an absolute path s inside root, else s."""
    if not os.path.isabs(s):
        return s
    norm = os.path.normpath(s)
    if norm == root:
        return REPO_MARKER
    prefix = root if root.endswith(os.sep) else root + os.sep
    if not norm.startswith(prefix):
        return s
    return REPO_MARKER + "/" + Path(norm[len(prefix):]).as_posix()


def _resolved_path(s: str, root: str) -> str:
    """The absolute path of a '<repo>' or '<repo>/rel' string under root, else s."""
    if s == REPO_MARKER:
        return root
    if s.startswith(REPO_MARKER + "/"):
        return str(Path(root, *s[len(REPO_MARKER) + 1:].split("/")))
    return s


def map_strings(obj: Any, fn) -> Any:
    """obj with fn applied to every string in it (dict values, list / tuple items, recursively)."""
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: map_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [map_strings(v, fn) for v in obj]
    return obj


def params_from(namespace: dict[str, Any], notebook: str) -> dict[str, Any]:
    """A notebook's parameters, picked from its globals() by NOTEBOOK_PARAMS (what result.json records)."""
    return normalise({k: namespace[k] for k in NOTEBOOK_PARAMS[notebook]})


def write_result(out_dir: str | os.PathLike, notebook: str, params: dict[str, Any], metrics: dict[str, Any],
                 **extra: Any) -> Path:
    """out_dir/result.json: the notebook, its parameters, its metrics (atomically; written last in a notebook).

    Paths inside the repository in params and in the extra fields (checkpoint, encoder, ...) are stored
    in portable_params' "<repo>/..." form; resolve_params turns them back into absolute paths. ``cpu_s``
    (unless given) is the CPU time of the calling process so far: in a notebook, its kernel's, which runs
    that one notebook (a resumed training run counts only the invocation that finished it)."""
    extra.setdefault("cpu_s", round(time.process_time(), 1))
    rec = {"notebook": notebook, "params": portable_params(normalise(params)), "metrics": metrics,
           "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           **portable_params(normalise(extra))}
    return atomic_write_json(Path(out_dir) / RESULT, rec)


def read_result(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The run's result.json, or None when missing or unreadable (a run that never finished)."""
    p = Path(run_dir) / RESULT
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def resumed_from(res: dict[str, Any] | None) -> int | str | None:
    """Where a finished run's last invocation started: for GGAN, the iteration (0 for one that never stopped, and
    for results written before it was recorded); for a baseline that records it per stage (``train_baseline``'s
    {"gan": i, "encoder": j}), those stages as text, "gan 1500, encoder 0"; None for a run without a result and
    for notebooks that do not record it (the CNN, which does not resume; baselines written before it was recorded)."""
    if not res:
        return None
    if res.get("notebook") == "train_ggan":
        return int(res.get("resumed_from", 0))
    stages = res.get("resumed_from")
    if isinstance(stages, dict) and stages:
        return ", ".join(f"{k} {int(v)}" for k, v in stages.items())
    return None


def set_threads(threads: int) -> None:
    """torch CPU threads (0: torch's default); on a shared machine fewer threads can be faster."""
    if threads:
        torch.set_num_threads(int(threads))
