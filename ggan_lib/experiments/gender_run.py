"""The one-command gender experiment, step by step: split voices, train (resumable), export, measure, card.

``python -m ggan_lib.cli.gender`` parses its flags into a :class:`GenderRun` and calls
:func:`run_experiment`, then writes the report (:func:`ggan_lib.book.gender_report.write_results`) and
:func:`update_card`. A rerun after a finished training only exports (if needed) and measures.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ggan_lib.audio import AudioConfig
from ggan_lib.config import ModelConfig, MonitorConfig, TrainConfig
from ggan_lib.experiments.gender import (
    CLASS_NAMES,
    DATA_LICENCE,
    DEFAULT_EXPORT,
    guidance_speakers,
    guided_trainer,
    load_guidance,
    load_unlabelled,
    voice_split,
)
from ggan_lib.experiments.gender_measure import MeasureOptions, measure
from ggan_lib.experiments.pretrained import Pretrained, export_checkpoint, load_pretrained, read_card, write_card
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.metrics.classifier import load_classifier
from ggan_lib.metrics.interpolation import Interpolation, interpolate_ze
from ggan_lib.metrics.monitor import Monitor, read_evals
from ggan_lib.train.engine import resolve_device

MONITOR_EVERY = {"paper": 2000, "small": 250, "tiny": 0}  # default --eval-every per preset


@dataclass
class GenderRun:
    """Everything one run of the experiment needs (the command's flags, typed)."""

    preset: str = "small"
    iters: int = 1400                         # total training iterations (a rerun resumes up to this)
    unlabelled: str = "fsdd"
    guidance: str = "voices"
    test_voices_per_class: int | None = None  # default: 2 for 'voices', else 5
    # voices per gender moved from the guidance set into the unlabelled set as their synthetic *digits*,
    # gender withheld (issue 13: FSDD is all male, so without them no discriminator sees a female digit)
    unlabelled_voices_per_class: int = 0
    # 'corpus': repeat those synthetic digits until they are as many as the unlabelled corpus's clips, so half
    # of what the discriminators see comes from each corpus (gender still withheld); 'none': as they come
    unlabelled_balance: str = "none"
    out: Path = Path("results/gender-small")
    run_dir: Path | None = None               # default runs/gender-<preset>
    export: Path | None = None                # default DEFAULT_EXPORT for 'small', else <run_dir>/model.pt
    seed: int = 0
    device: str = "auto"
    batch_size: int | None = None
    ckpt_every: int = 100
    eval_every: int | None = None             # default MONITOR_EVERY[preset]
    eval_clips: int = 100
    progress: bool = True
    workers: int = 1
    measure: MeasureOptions = field(default_factory=MeasureOptions)

    @property
    def run_path(self) -> Path:
        """Checkpoints, log, snapshots."""
        return Path(self.run_dir or f"runs/gender-{self.preset}")

    @property
    def export_path(self) -> Path:
        """The exported model .pt (its card beside it)."""
        if self.export:
            return Path(self.export)
        return DEFAULT_EXPORT if self.preset == "small" else self.run_path / "model.pt"

    @property
    def checkpoint(self) -> Path:
        """The run's training checkpoint."""
        return self.run_path / "checkpoint.pt"

    @property
    def n_test(self) -> int:
        """Guidance speakers per gender held out for the gender classifier's test."""
        return self.test_voices_per_class or (2 if self.guidance == "voices" else 5)


def split_voices(run: GenderRun) -> tuple[list, list]:
    """(train speakers, held-out test speakers) of the guidance set."""
    speakers, genders = guidance_speakers(run.guidance)
    return voice_split(speakers, genders, run.n_test, seed=run.seed)


def unlabelled_voices(run: GenderRun, train_spk: list) -> list:
    """The guidance voices whose synthetic digits join the unlabelled set (none unless asked for)."""
    if not run.unlabelled_voices_per_class:
        return []
    if run.guidance != "voices":
        raise ValueError("unlabelled_voices_per_class needs guidance 'voices' (the synthetic corpus)")
    speakers, genders = guidance_speakers(run.guidance)
    gender_of = dict(zip(speakers, np.asarray(genders).tolist()))
    _, picked = voice_split(train_spk, [gender_of[s] for s in train_spk], run.unlabelled_voices_per_class,
                            seed=run.seed + 1)
    return picked


UNLABELLED_BALANCES = ("none", "corpus")


def balance_corpora(X: torch.Tensor, V: torch.Tensor, balance: str) -> torch.Tensor:
    """The unlabelled set of corpus X and added clips V: X then V ('none'), or X then V repeated
    round(len(X) / len(V)) times ('corpus': each corpus about half of a uniformly drawn batch)."""
    if balance not in UNLABELLED_BALANCES:
        raise ValueError(f"unlabelled balance must be one of {UNLABELLED_BALANCES}, got {balance!r}")
    reps = max(1, round(len(X) / len(V))) if balance == "corpus" and len(V) else 1
    return torch.cat([X, V.repeat(reps, 1, 1, 1)])


def unlabelled_set(run: GenderRun, spec_shape, voices: list) -> torch.Tensor:
    """X (N, 1, H, W): the unlabelled corpus, plus the synthetic digits of ``voices`` (their labels dropped),
    balanced by ``run.unlabelled_balance`` (:func:`balance_corpora`)."""
    X, _ = load_unlabelled(run.unlabelled, spec_shape, progress=run.progress, workers=run.workers).as_tensors()
    if not voices:
        return X
    V, _ = load_guidance("voices-digits", spec_shape, split="test", test_speakers=voices, progress=run.progress,
                         workers=run.workers).as_tensors()
    return balance_corpora(X, V, run.unlabelled_balance)


def make_monitor(run: GenderRun, mcfg, X_val, y_val, device) -> Monitor | None:
    """The training monitor (every eval_every iterations; None when 0)."""
    every = run.eval_every if run.eval_every is not None else MONITOR_EVERY[run.preset]
    if not every:
        return None
    mc = run.measure.metric_classifier
    clf = load_classifier(mc, device=device) if mc and Path(mc).exists() else None
    cfg = MonitorConfig(every=every, n_clips=max(run.eval_clips, 10), best_by="none", n_audio=4)
    return Monitor(cfg, clf, None, X_val, y_val, audio_cfg=AudioConfig(spec_shape=tuple(mcfg.spec_shape)),
                   out_dir=run.run_path, device=device)


def _trainer(run: GenderRun, mcfg, train_spk: list, test_spk: list, log: Callable):
    """A new or resumed Trainer of the run (data loaded at the model's spectrogram shape)."""
    spec_shape = tuple(mcfg.spec_shape)
    unl_spk = unlabelled_voices(run, train_spk)
    X = unlabelled_set(run, spec_shape, unl_spk)
    guide = load_guidance(run.guidance, spec_shape, split="train", test_speakers=test_spk + unl_spk,
                          progress=run.progress, workers=run.workers)
    X_val, y_val = load_guidance(run.guidance, spec_shape, split="test", test_speakers=test_spk,
                                 workers=run.workers).as_tensors()
    device = resolve_device(run.device)
    runtime = {"device": run.device, "progress": run.progress, "ckpt_every": run.ckpt_every}
    monitor = make_monitor(run, mcfg, X_val, y_val, device)
    if run.checkpoint.exists():
        tr = guided_trainer(X, guide, resume=run.checkpoint, out_dir=run.run_path, monitor=monitor, **runtime)
    else:
        overrides = {"seed": run.seed, **({"batch_size": run.batch_size} if run.batch_size else {})}
        tcfg = TrainConfig.preset(run.preset, **overrides, **runtime)
        tr = guided_trainer(X, guide, model_cfg=mcfg, train_cfg=tcfg, out_dir=run.run_path, monitor=monitor)
    log(f"[gender] unlabelled {run.unlabelled} + digits of {unl_spk} {tuple(X.shape)}, guidance {run.guidance} "
        f"{len(guide)} clips ({len(train_spk) - len(unl_spk)} speakers; held out {test_spk}); "
        f"iteration {tr.iteration} -> {run.iters}")
    return tr


def train(run: GenderRun, train_spk: list, test_spk: list, log: Callable = print) -> tuple[int, float]:
    """Train (or resume) up to run.iters; returns (iteration reached, seconds spent training in this call)."""
    ck = run.checkpoint
    done = int(ckpt.load_checkpoint(ck)["iteration"]) if ck.exists() else 0
    if done >= run.iters:
        log(f"[gender] {ck} is at iteration {done} >= {run.iters}: evaluating only")
        return done, 0.0
    tr = _trainer(run, ModelConfig.preset(run.preset, n_classes=2), train_spk, test_spk, log)
    t0 = time.perf_counter()
    try:
        tr.train(run.iters - tr.iteration)
        tr.save()
    finally:
        tr.close()
    return tr.iteration, time.perf_counter() - t0


def export_model(run: GenderRun, done: int, command: str, train_spk: list, test_spk: list) -> Pretrained:
    """Export the checkpoint (small, weights only, EMA G) with its card unless already exported; load it."""
    export, moved = run.export_path, unlabelled_voices(run, train_spk)
    card = {"command": command, "experiment": "gender guidance (paper IV-C / V)", "class_names": list(CLASS_NAMES),
            "unlabelled": run.unlabelled, "unlabelled_voices": moved, "unlabelled_balance": run.unlabelled_balance,
            "guidance": run.guidance, "guidance_train_speakers": [v for v in train_spk if v not in moved],
            "guidance_test_speakers": test_spk}
    if not export.exists() or read_card(export).get("iteration") != done:
        export_checkpoint(run.checkpoint, export, f"ggan-gender-{run.preset}", card)
    return load_pretrained(export)


def log_rows(path: Path) -> list[dict]:
    """The JSON records of a training log (unreadable lines skipped)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def training_record(run: GenderRun, done: int, t_train: float) -> dict[str, Any]:
    """The metrics' 'training' block: iteration, time, the monitor's history, where the run lives."""
    log_path, out = run.run_path / "log.jsonl", Path(run.out)
    evals = read_evals(log_path) if log_path.exists() else {}
    prev = json.loads((out / "metrics.json").read_text()).get("training", {}) if (out / "metrics.json").exists() else {}
    sec_per_iter = [r.get("sec") for r in log_rows(log_path) if "sec" in r]
    return {"iteration": done, "train_seconds_this_call": round(t_train, 1),
            "median_sec_per_iter": float(np.median(sec_per_iter)) if sec_per_iter else prev.get("median_sec_per_iter"),
            "eval_history": evals, "run_dir": str(run.run_path), "export": str(run.export_path)}


def interpolation(model) -> Interpolation:
    """male -> female for the same z (8 steps, seed 0): the path the report draws and its smoothness."""
    return interpolate_ze(model, 0, 1, n_steps=8, seed=0, class_names=CLASS_NAMES)


def run_experiment(run: GenderRun, command: str, log: Callable = print):
    """Split, train, export, measure: (metrics, media, the exported Pretrained, the male -> female path)."""
    train_spk, test_spk = split_voices(run)
    done, t_train = train(run, train_spk, test_spk, log)
    pm = export_model(run, done, command, train_spk, test_spk)
    log(f"[gender] measuring {run.export_path} (iteration {done})")
    opts = run.measure
    if opts.classifier_cache is None:
        opts = replace(opts, classifier_cache=run.run_path / "gender_classifier.pt")
    pm.standing_stats()  # G as every model is sampled (ggan_lib.train.ema): measure and the path use pm.model.G
    measured, media = measure(pm.model, test_spk, opts, log=log)
    metrics = {"preset": run.preset, "command": command, "unlabelled": run.unlabelled,
               "unlabelled_voices": unlabelled_voices(run, train_spk), "unlabelled_balance": run.unlabelled_balance,
               "guidance": run.guidance,
               "training": training_record(run, done, t_train), **measured}
    interp = interpolation(pm.model)
    metrics["interpolation"] = {"spec": interp.spec_smoothness, "audio": interp.audio_smoothness}
    return metrics, media, pm, interp


def card_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures a gender model's card records."""
    g, d = metrics["generated"], metrics["digits"]
    return {"gender_heard_female": g["fraction_heard_female"], "gender_accuracy": g["gender_accuracy"],
            "centroid_median_hz": {k: v["median"] for k, v in g["centroid_stats"].items()},
            "f0_median_hz": {k: v["median"] for k, v in g["f0_stats"].items()},
            "digit_is": d.get("all", {}).get("is"), "digit_fid": d.get("all", {}).get("fid"),
            "gender_classifier_heldout_acc": metrics["gender_classifier"]["acc_heldout_words"]}


def update_card(export: Path, metrics: dict[str, Any], out: Path) -> None:
    """Write the measured figures, the results folder and the data licence into the model's card."""
    card = read_card(export)
    card.update({"metrics": card_metrics(metrics), "results": str(out), "licence": DATA_LICENCE})
    write_card(export, card)
