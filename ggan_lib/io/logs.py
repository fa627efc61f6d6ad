"""Training metrics: one JSON object per line (JSONL), mirrored to TensorBoard when it is installed."""
from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from ggan_lib.io import atomic


class MetricLogger:
    """Appends ``{"iter": i, name: value, ...}`` lines to a JSONL file (and a TensorBoard run if available).

    A run continues from iteration ``start`` (0 for a fresh one; :meth:`truncate_after` sets it when a
    checkpoint is loaded). The first write of a session drops what an earlier, killed attempt logged after
    ``start`` (a fresh run: everything, its TensorBoard event files too), and TensorBoard purges those
    steps (``purge_step``): the log then holds each iteration of this run once.
    """

    def __init__(self, path: str | os.PathLike, tensorboard: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._want_tb, self._tb, self._begun, self.start = tensorboard, None, False, 0

    def _begin(self) -> None:
        """On the first write: cut the file back to ``start``, then open TensorBoard purging later steps."""
        self._begun = True
        self._cut(self.start)
        if not self._want_tb:
            return
        tb = self.path.parent / "tb"
        if self.start == 0 and tb.is_dir():  # a killed attempt's events: nothing of this run
            for old in tb.glob("events.out.tfevents.*"):
                old.unlink()
        try:  # optional dependency: the JSONL file is the record, TensorBoard a convenience
            from torch.utils.tensorboard import SummaryWriter
            self._tb = SummaryWriter(log_dir=str(tb), purge_step=self.start + 1 if self.start else None)
        except ImportError:
            self._tb = None

    def log(self, iteration: int, metrics: dict[str, float]) -> None:
        """Write one record; non-finite floats become null so the file stays valid JSON."""
        if not self._begun:
            self._begin()
        rec = {"iter": int(iteration)}
        rec.update({k: (float(v) if math.isfinite(float(v)) else None) for k, v in metrics.items()})
        # line-buffered append + flush: a crash loses at most the line being written
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        if self._tb is not None:
            for k, v in metrics.items():
                self._tb.add_scalar(k, float(v), int(iteration))

    def log_media(self, iteration: int, images: dict | None = None, audio: dict | None = None,
                  sample_rate: int = 16000) -> None:
        """Images {tag: (H, W, C) array} and audio {tag: (L,) array} to TensorBoard (no-op without it)."""
        if not self._begun:
            self._begin()
        if self._tb is None:
            return
        for tag, img in (images or {}).items():
            self._tb.add_image(tag, np.asarray(img), int(iteration), dataformats="HWC")
        for tag, wave in (audio or {}).items():
            w = np.asarray(wave, dtype=np.float32).reshape(1, -1)
            self._tb.add_audio(tag, w, int(iteration), sample_rate=sample_rate)
        self._tb.flush()

    def truncate_after(self, iteration: int) -> None:
        """The run continues from ``iteration``: drop records with iter > iteration (a resumed run rewrites
        what the lost run logged later)."""
        self.start = int(iteration)
        self._cut(self.start)
        if self._tb is not None:  # already writing: reopen so TensorBoard purges the later steps too
            self._tb.close()
            self._tb, self._begun = None, False

    def _cut(self, iteration: int) -> None:
        """Rewrite the file without records after ``iteration`` (nothing if there are none; a torn last line goes)."""
        if not self.path.exists():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()
        keep = [ln for ln in lines if _iter_of(ln) is not None and _iter_of(ln) <= iteration]
        if len(keep) != len(lines):
            atomic.write_text(self.path, "".join(ln + "\n" for ln in keep))

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _iter_of(line: str) -> int | None:
    """The "iter" of a JSONL record, None for a blank, torn or foreign line."""
    try:
        rec = json.loads(line)
        return int(rec["iter"])
    except (ValueError, KeyError, TypeError):
        return None


def read_records(path: str | os.PathLike) -> list[dict]:
    """The records of a JSONL log, one per iteration in order: records of the same iteration are merged (the
    later value wins: a rerun iteration, or an evaluation logged beside the step's losses); torn lines skipped."""
    merged: dict[int, dict] = {}
    for ln in Path(path).read_text(encoding="utf-8").splitlines():
        it = _iter_of(ln)
        if it is not None:
            merged.setdefault(it, {"iter": it}).update(json.loads(ln))
    return [merged[i] for i in sorted(merged)]


def read_log(path: str | os.PathLike) -> dict[str, list]:
    """A JSONL metrics log as {name: [values...]} (missing values as None), each iteration once, ready for plotting."""
    records = read_records(path)
    keys = list(dict.fromkeys(k for r in records for k in r))
    out: dict[str, list] = defaultdict(list)
    for r in records:
        for k in keys:
            out[k].append(r.get(k))
    return dict(out)
