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
    """Appends ``{"iter": i, name: value, ...}`` lines to a JSONL file (and a TensorBoard run if available)."""

    def __init__(self, path: str | os.PathLike, tensorboard: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tb = None
        if tensorboard:
            try:  # optional dependency: the JSONL file is the record, TensorBoard a convenience
                from torch.utils.tensorboard import SummaryWriter
                self._tb = SummaryWriter(log_dir=str(self.path.parent / "tb"))
            except ImportError:
                self._tb = None

    def log(self, iteration: int, metrics: dict[str, float]) -> None:
        """Write one record; non-finite floats become null so the file stays valid JSON."""
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
        if self._tb is None:
            return
        for tag, img in (images or {}).items():
            self._tb.add_image(tag, np.asarray(img), int(iteration), dataformats="HWC")
        for tag, wave in (audio or {}).items():
            w = np.asarray(wave, dtype=np.float32).reshape(1, -1)
            self._tb.add_audio(tag, w, int(iteration), sample_rate=sample_rate)
        self._tb.flush()

    def truncate_after(self, iteration: int) -> None:
        """Drop records with iter > iteration (a resumed run rewrites what the lost run logged later)."""
        if not self.path.exists():
            return
        lines = [ln for ln in self.path.read_text(encoding="utf-8").splitlines()
                 if ln.strip() and json.loads(ln)["iter"] <= iteration]
        atomic.write_text(self.path, "".join(ln + "\n" for ln in lines))

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def read_log(path: str | os.PathLike) -> dict[str, list]:
    """A JSONL metrics log as {name: [values...]} (missing values as None), ready for plotting."""
    records = [json.loads(ln) for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    keys = list(dict.fromkeys(k for r in records for k in r))
    out: dict[str, list] = defaultdict(list)
    for r in records:
        for k in keys:
            out[k].append(r.get(k))
    return dict(out)
