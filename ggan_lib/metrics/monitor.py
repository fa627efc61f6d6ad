"""Training you can watch: periodic IS / FID / accuracy on fixed latent codes, snapshots, the best checkpoint.

Audio GANs on spoken digits can drift into silence or noise while every loss looks fine (WaveGAN
stopped its runs on the Inception Score). Every ``MonitorConfig.every`` iterations a :class:`Monitor`

* generates ``n_clips`` spectrograms from *fixed* latent codes (z from ``seed``, c = 0, 1, ..., n-1
  cyclically) with the EMA generator, turns them into audio with PGHI and scores the audio with
  the project's metric classifier (ggan_lib.metrics): IS, FID against real statistics, and the
  fraction of clips the classifier hears as the digit c they were generated for;
* measures representation accuracy Cx(F(D(x))) on a held-out labelled set (never used in a loss);
* saves a spectrogram grid (PNG) and one audio clip per class (WAV) under ``snapshots/``;
* logs everything as ``eval/...`` scalars (JSONL, TensorBoard) and keeps ``best.pt`` beside
  ``checkpoint.pt`` (both written atomically) by the chosen criterion, counting evaluations
  without improvement for early stopping.

Evaluation never touches the training state: the codes come from their own generator, networks
run in eval mode (no spectral-norm power iteration, BatchNorm on running statistics), so a run
with evaluation computes the same networks as one without.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ggan_lib.audio import AudioConfig
from ggan_lib.audio.pghi import spectrogram_to_audio
from ggan_lib.config import CRITERIA, EvalConfig, MonitorConfig  # noqa: F401  (re-exported)
from ggan_lib.io import atomic
from ggan_lib.metrics.accuracy import ggan_accuracy
from ggan_lib.metrics.scores import (
    classifier_outputs,
    feature_statistics,
    frechet_distance,
    inception_score,
)
from ggan_lib.metrics.snapshots import SNAPSHOT_SAMPLE_RATE, read_snapshot_media, write_spectrogram_grid, write_wav
from ggan_lib.model import latent

EVAL_KEYS = ("is", "is_std", "fid", "acc", "class_agree", "spec_mean", "diversity", "nonfinite", "sec")


def is_improvement(value: float, best: float | None, best_by: str, min_delta: float = 0.0) -> bool:
    """True when ``value`` beats ``best`` (None: nothing yet) by more than min_delta in the criterion's direction."""
    sign = CRITERIA[best_by]
    if sign == 0 or value is None or not math.isfinite(value):
        return False
    return best is None or sign * (value - best) > min_delta


class Monitor:
    """Periodic evaluation of a Trainer: scores on fixed codes, held-out accuracy, snapshots, best checkpoint."""

    def __init__(self, cfg: MonitorConfig, classifier=None, real_stats=None, X_val: torch.Tensor | None = None,
                 y_val: torch.Tensor | None = None, *, audio_cfg=None, out_dir: str | os.PathLike | None = None,
                 device: str | torch.device = "cpu", write_grid: Callable | None = None):
        """classifier: ggan_lib.metrics DigitClassifier (None: no IS / FID); real_stats: FeatureStats of real
        audio with cfg.eval_cfg.feature_kind (ggan_lib.metrics.reference; None: FID is NaN); X_val (N, 1, H, W),
        y_val (N,): held-out labelled set (None: no accuracy); audio_cfg: AudioConfig whose spec_shape is the
        model's; out_dir: snapshots and best.pt go there (None: nothing is written); write_grid(specs, path,
        titles=, suptitle=): the grid.png writer (default ggan_lib.metrics.snapshots.write_spectrogram_grid)."""
        if cfg.best_by == "acc" and X_val is None:
            raise ValueError("best_by='acc' needs a held-out labelled set (X_val, y_val)")
        if cfg.best_by in ("fid", "is") and classifier is None:
            raise ValueError(f"best_by={cfg.best_by!r} needs the metric classifier")
        if cfg.best_by == "fid" and real_stats is None:
            raise ValueError("best_by='fid' needs real statistics")
        self.cfg, self.classifier, self.real_stats = cfg, classifier, real_stats
        self.X_val, self.y_val = X_val, y_val
        self.audio_cfg, self.device = audio_cfg, torch.device(device)
        self.write_grid = write_grid or write_spectrogram_grid
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.best: float | None = None           # best criterion value so far
        self.best_iter: int | None = None        # iteration of best.pt
        self.bad_evals = 0                       # evaluations since the last improvement
        self.last: dict[str, float] = {}         # the latest evaluation's scalars
        self.history: list[dict[str, float]] = []

    # ------------------------------------------------------------------ schedule
    def due(self, iteration: int) -> bool:
        """True when an evaluation is scheduled after this iteration."""
        return self.cfg.every > 0 and iteration > 0 and iteration % self.cfg.every == 0

    @property
    def should_stop(self) -> bool:
        """Early stopping: ``patience`` evaluations in a row without improvement."""
        return self.cfg.patience > 0 and self.bad_evals >= self.cfg.patience

    def fixed_codes(self, model_cfg) -> tuple[torch.Tensor, torch.Tensor]:
        """The n_clips fixed (z, c) pairs of the model (ggan_lib.model.latent): z from ``seed`` on the CPU, c cyclic."""
        return latent.fixed_codes(model_cfg, self.cfg.n_clips, self.cfg.seed)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, trainer) -> dict[str, float]:
        """Score the trainer's current networks; returns ``{"eval/is": ..., ...}`` (NaN where not measured)."""
        t0 = time.perf_counter()
        z, c = self.fixed_codes(trainer.mcfg)
        specs = torch.cat([trainer.sample(len(zb), c=cb, use_ema=self.cfg.use_ema, z=zb).cpu()
                           for zb, cb in zip(z.split(self.cfg.batch_size), c.split(self.cfg.batch_size))])
        rec = {k: float("nan") for k in EVAL_KEYS}
        finite = torch.isfinite(specs.flatten(1)).all(1)
        rec["nonfinite"] = float((~finite).sum())
        good = specs[finite]
        if len(good):
            rec["spec_mean"] = float(good.mean())             # drifting to -1 means drifting into silence
            rec["diversity"] = float(good.std(0).mean()) if len(good) > 1 else 0.0  # ~0: mode collapse
        audio = self._audio(specs, finite)
        if self.classifier is not None and int(finite.sum()) >= self.cfg.eval_cfg.n_splits:
            rec.update(self._scores(audio[finite.numpy()], c[finite]))
        if self.X_val is not None:
            rec["acc"] = self._accuracy(trainer)
        rec["sec"] = time.perf_counter() - t0
        self._snapshot(trainer.iteration, specs, audio, c)
        return {f"eval/{k}": v for k, v in rec.items()}

    def _audio(self, specs: torch.Tensor, finite: torch.Tensor) -> np.ndarray:
        """PGHI audio (N, L) of the finite spectrograms; zeros where a spectrogram is NaN / inf."""
        cfg, ev = self.audio_cfg or AudioConfig(spec_shape=tuple(specs.shape[-2:])), self.cfg.eval_cfg
        audio = np.zeros((len(specs), cfg.signal_length), np.float32)
        if finite.any():
            audio[finite.numpy()] = spectrogram_to_audio(specs[finite, 0].double().numpy(), cfg, n_gla=ev.n_gla,
                                                         tol=ev.pghi_tol)
        return audio

    def _scores(self, audio: np.ndarray, c: torch.Tensor) -> dict[str, float]:
        """IS, FID (vs real_stats) and class agreement of audio with its codes, from one classifier pass."""
        ev = self.cfg.eval_cfg
        probs, feats = classifier_outputs(audio, self.classifier, batch_size=self.cfg.batch_size,
                                          device=self.device, feature_kind=ev.feature_kind, progress=False)
        out = dict(zip(("is", "is_std"), inception_score(probs, ev.n_splits)))
        out["class_agree"] = float((probs.argmax(1) == c.numpy()).mean())
        if self.real_stats is not None:
            gen = feature_statistics(feats)
            out["fid"] = frechet_distance(gen.mu, gen.sigma, self.real_stats.mu, self.real_stats.sigma)
        return out

    @torch.no_grad()
    def _accuracy(self, trainer) -> float:
        """Cx(F(D(x_val))) accuracy in eval mode (train flags restored; no state changes)."""
        return ggan_accuracy(trainer, self.X_val, self.y_val, batch_size=256, device=trainer.device)  # scored path

    # ------------------------------------------------------------------ snapshots
    def snapshot_dir(self, iteration: int) -> Path | None:
        """out_dir/snapshots/it{iteration:06d} (None without an out_dir)."""
        return None if self.out_dir is None else self.out_dir / "snapshots" / f"it{iteration:06d}"

    def _snapshot(self, iteration: int, specs: torch.Tensor, audio: np.ndarray, c: torch.Tensor) -> None:
        """Spectrogram grid PNG + one WAV per code for the first n_audio codes (+ specs.npy for replotting)."""
        d = self.snapshot_dir(iteration)
        if d is None:
            return
        d.mkdir(parents=True, exist_ok=True)
        n = min(self.cfg.n_grid, len(specs))
        np.save(d / "specs.npy", specs[:n, 0].numpy().astype(np.float32))
        self.write_grid(specs[:n], d / "grid.png", titles=[f"c={int(k)}" for k in c[:n]],
                        suptitle=f"iteration {iteration}")
        sr = self.audio_cfg.sample_rate if self.audio_cfg else SNAPSHOT_SAMPLE_RATE
        for i in range(min(self.cfg.n_audio, len(audio))):
            write_wav(d / f"{i:02d}_c{int(c[i])}.wav", audio[i], sr)

    def snapshot_media(self, iteration: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
        """({"snapshot/grid": (H, W, C) image}, {"snapshot/<wav name>": (L,) audio}, sample rate) for TensorBoard."""
        d = self.snapshot_dir(iteration)
        return ({}, {}, SNAPSHOT_SAMPLE_RATE) if d is None else read_snapshot_media(d)

    # ------------------------------------------------------------------ best rule
    def update(self, iteration: int, rec: dict[str, float]) -> bool:
        """Record an evaluation; True when it is a new best by cfg.best_by (then the caller saves best.pt)."""
        self.last = dict(rec)
        self.history.append({"iter": iteration, **rec})
        if self.cfg.best_by == "none":
            return False
        value = rec.get(f"eval/{self.cfg.best_by}")
        if is_improvement(value, self.best, self.cfg.best_by, self.cfg.min_delta):
            self.best, self.best_iter, self.bad_evals = float(value), iteration, 0
            return True
        self.bad_evals += 1
        return False

    def write_best_record(self, iteration: int, rec: dict[str, float], path: Path) -> None:
        """best.json beside best.pt: criterion, iteration, checkpoint path and the evaluation's scalars."""
        info = {"best_by": self.cfg.best_by, "iteration": iteration, "value": self.best, "checkpoint": path.name,
                "metrics": {k: (v if math.isfinite(v) else None) for k, v in rec.items()}}
        atomic.write_text(path.with_suffix(".json"), json.dumps(info, indent=1) + "\n")

    def state_dict(self) -> dict[str, Any]:
        """Best value, its iteration and the count of evaluations without improvement (for exact resume)."""
        return {"best": self.best, "best_iter": self.best_iter, "bad_evals": self.bad_evals,
                "best_by": self.cfg.best_by, "history": json.dumps(self.history)}

    def postfix(self, rec: dict[str, float]) -> dict[str, str]:
        """Short progress-bar entries for the latest evaluation (IS, FID, acc)."""
        return postfix(rec)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of state_dict; a checkpoint kept by another criterion restarts the best rule."""
        if state.get("best_by") != self.cfg.best_by:
            return
        self.best, self.best_iter, self.bad_evals = state["best"], state["best_iter"], int(state["bad_evals"])
        self.history = json.loads(state.get("history", "[]"))
        self.last = {k: v for k, v in self.history[-1].items() if k != "iter"} if self.history else {}


def postfix(rec: dict[str, float]) -> dict[str, str]:
    """Short progress-bar entries for an evaluation record (IS, FID, acc); also :meth:`Monitor.postfix`."""
    out = {}
    for key, short, fmt in (("eval/is", "IS", "{:.2f}"), ("eval/fid", "FID", "{:.1f}"), ("eval/acc", "acc", "{:.3f}")):
        v = rec.get(key)
        if v is not None and math.isfinite(v):
            out[short] = fmt.format(v)
    return out


# ---------------------------------------------------------------------- run folders
def read_evals(path: str | os.PathLike) -> dict[str, list]:
    """The ``eval/...`` records of a JSONL training log as {name: [values...]}, with "iter" (for plotting)."""
    recs = [json.loads(ln) for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    recs = [r for r in recs if any(k.startswith("eval/") for k in r)]
    keys = ["iter"] + sorted({k for r in recs for k in r if k.startswith("eval/")})
    return {k: [r.get(k) for r in recs] for k in keys}


def list_snapshots(run_dir: str | os.PathLike) -> list[Path]:
    """Snapshot folders of a run, oldest first."""
    root = Path(run_dir) / "snapshots"
    return sorted(p for p in root.glob("it*") if p.is_dir()) if root.exists() else []


def copy_run_summary(run_dir: str | os.PathLike, dest: str | os.PathLike, n_snapshots: int = 4,
                     n_audio: int = 5) -> Path:
    """Copy what plot_training / show_snapshots need (log.jsonl, best.json, a few grids and clips) to a small folder.

    Snapshots kept: first, last, the best one and evenly spaced ones between (up to n_snapshots), each with
    its grid and the first n_audio clips. No checkpoints: the folder is a few hundred kB, fit to ship.
    """
    run, dest = Path(run_dir), Path(dest)
    snaps = list_snapshots(run)
    keep = {round(i * (len(snaps) - 1) / max(1, n_snapshots - 1)) for i in range(n_snapshots)} if snaps else set()
    if (run / "best.json").exists():
        best = f"it{json.loads((run / 'best.json').read_text())['iteration']:06d}"
        keep |= {i for i, s in enumerate(snaps) if s.name == best}
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("log.jsonl", "best.json"):
        if (run / name).exists():
            shutil.copy2(run / name, dest / name)
    for i in sorted(keep):
        d = dest / "snapshots" / snaps[i].name
        d.mkdir(parents=True, exist_ok=True)
        for f in [snaps[i] / "grid.png", *sorted(snaps[i].glob("*.wav"))[:n_audio]]:
            if f.exists():
                shutil.copy2(f, d / f.name)
    return dest
