"""Command line for Algorithm 1: ``python -m ggan_lib.cli.train --preset small --iters 2000``.

Monitoring (ggan_lib.metrics.monitor; on by default for small / paper): ``--eval-every 200 --eval-clips 200
--best-by fid --stop-after-no-improvement 10`` scores fixed latent codes (IS / FID with the project's
classifier through PGHI audio, accuracy on held-out labelled clips), writes snapshots/ and keeps
best.pt beside checkpoint.pt in --out.

Multi-GPU (the paper used 2): ``torchrun --nproc_per_node 2 -m ggan_lib.cli.train --preset paper``;
each rank takes batch/world samples and gradients are averaged over ranks (see Trainer).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from ggan_lib.audio import AudioConfig
from ggan_lib.config import EvalConfig, ModelConfig, MonitorConfig
from ggan_lib.data.paths import BadFilesError, DataError, default_fsdd_dir
from ggan_lib.data.sources import fsdd_data, fsdd_validation, synthetic_data
from ggan_lib.io import paths
from ggan_lib.io.checkpoint import CheckpointMismatchError
from ggan_lib.metrics import load_classifier
from ggan_lib.metrics.monitor import Monitor
from ggan_lib.metrics.reference import folder_reference
from ggan_lib.train.ggan import RUNTIME_FIELDS, TrainConfig, Trainer, resolve_device

DEFAULT_CLASSIFIER = paths.SHIPPED_CLASSIFIER
EVAL_EVERY = {"paper": 2000, "small": 200, "tiny": 0}  # default --eval-every per preset
FID_REFERENCES = {"auto": "auto", "raw": "raw", "round-trip": "roundtrip"}  # --fid-reference -> EvalConfig.reference


def eval_config(a: argparse.Namespace) -> EvalConfig:
    """The monitor's EvalConfig (EvalConfig.preset('monitor')) with --eval-feature / --n-real / --fid-reference."""
    overrides = {"feature_kind": a.eval_feature, "n_real": a.n_real, "reference": FID_REFERENCES.get(a.fid_reference)}
    return EvalConfig.preset("monitor", **{k: v for k, v in overrides.items() if v is not None})


def _classifier(a: argparse.Namespace, device):
    """The metric classifier of --metric-classifier, or None (with a note) when the file is missing."""
    if Path(a.metric_classifier).exists():
        return load_classifier(a.metric_classifier, device=device)
    print(f"[train] no metric classifier at {a.metric_classifier}: no IS / FID during training", file=sys.stderr)
    return None


def build_monitor(a: argparse.Namespace, model_cfg: ModelConfig, device, out: Path):
    """The Monitor of the --eval-* options (None when --eval-every is 0): classifier, real statistics, held-out set.

    The FID reference (ggan_lib.metrics.reference.folder_reference, cached under .cache/reference): n_real
    training-split clips, raw (--fid-reference raw: the paper's reference) or sent through the model's spectrogram
    resolution and PGHI (round-trip: the best audio this front end can give, so the FID measures what the
    generator controls; at 64 x 32 the front end alone costs a large FID).
    """
    every = a.eval_every if a.eval_every is not None else EVAL_EVERY[a.preset]
    if not every:
        return None
    ev, shape = eval_config(a), tuple(model_cfg.spec_shape)
    clf, stats, X_val, y_val = _classifier(a, device), None, None, None
    if a.data == "fsdd":
        X_val, y_val = fsdd_validation(model_cfg, a.label_fraction, a.label_seed, a.fsdd_dir, a.val_size,
                                       "skip" if a.skip_bad_files else "raise")
        if clf is not None:
            stats = folder_reference(clf, ev, shape, root=a.fsdd_dir, device=device)
    best_by = a.best_by or ("fid" if stats is not None else "is" if clf is not None else
                            "acc" if X_val is not None else "none")
    cfg = MonitorConfig(every=every, n_clips=a.eval_clips, eval_cfg=ev, best_by=best_by,
                        patience=a.stop_after_no_improvement)
    return Monitor(cfg, clf, stats, X_val, y_val, audio_cfg=AudioConfig(spec_shape=shape), out_dir=out, device=device)


def _bool(s: str) -> bool:
    return s.lower() in ("1", "true", "yes", "on")


def _add_run_args(p: argparse.ArgumentParser) -> None:
    """Preset, data, labels, run folder, resume, and every TrainConfig field as --field value."""
    p.add_argument("--preset", default="small", choices=["paper", "small", "tiny"])
    p.add_argument("--iters", type=int, default=100, help="iterations to run (in addition to a resumed run's)")
    p.add_argument("--data", default="fsdd", choices=["fsdd", "synthetic"])
    p.add_argument("--fsdd-dir", default=None, help="FSDD recordings folder (default: the project's)")
    p.add_argument("--label-fraction", type=float, default=0.05, help="labelled fraction xl (paper: 0.01-0.05)")
    p.add_argument("--label-seed", type=int, default=0)
    p.add_argument("--out", default=None, help="run folder for log.jsonl, tb/ and checkpoint.pt (default runs/<preset>)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from ('auto': <out>/checkpoint.pt if present)")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh in a non-empty --out: the old run is moved aside to <out>.old-<time>, not deleted")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="leave unreadable audio files of --fsdd-dir out (with a warning) instead of stopping")
    for f in dataclasses.fields(TrainConfig):
        if f.name == "betas":
            p.add_argument("--betas", type=float, nargs=2, default=None)
            continue
        kind = {bool: _bool, int: int, float: float}.get(type(f.default), str)
        p.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind, default=None,
                       help=f"TrainConfig.{f.name} (preset default: {f.default!r})")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (on a shared machine 1 can be ~10x faster than oversubscribed 2)")
    p.add_argument("--batch", dest="batch_size", type=int, default=None, help="alias of --batch-size")


def _add_monitor_args(p: argparse.ArgumentParser) -> None:
    """The --eval-* options of the training monitor (defaults: the preset's EvalConfig)."""
    m = p.add_argument_group("monitoring (ggan_lib.metrics.monitor)")
    m.add_argument("--eval-every", type=int, default=None,
                   help=f"evaluate every N iterations, 0 = never (preset default: {EVAL_EVERY})")
    m.add_argument("--eval-clips", type=int, default=200, help="fixed latent codes scored for IS / FID")
    m.add_argument("--eval-feature", default=None, choices=["spatial_mean", "penultimate", "logits"],
                   help="classifier features for the FID during training (default: EvalConfig.preset('monitor')'s, "
                        f"{EvalConfig.preset('monitor').feature_kind})")
    m.add_argument("--best-by", default=None, choices=["fid", "is", "acc", "none"],
                   help="criterion of best.pt (default: fid, else is, else acc, whichever can be measured)")
    m.add_argument("--stop-after-no-improvement", type=int, default=0, metavar="K",
                   help="stop after K evaluations without a better best-by value (0: never)")
    m.add_argument("--metric-classifier", default=str(DEFAULT_CLASSIFIER), help="IS / FID classifier checkpoint")
    m.add_argument("--val-size", type=int, default=300, help="held-out labelled training clips for eval/acc")
    m.add_argument("--n-real", type=int, default=None,
                   help="real training clips for the FID statistics (default: EvalConfig.preset('monitor').n_real)")
    m.add_argument("--fid-reference", default=None, choices=list(FID_REFERENCES),
                   help="FID against the recordings (raw) or against them sent through the model's "
                        "spectrogram resolution + PGHI (round-trip: what the generator can reach); "
                        "default: EvalConfig.preset('monitor')'s reference, auto: raw at 256 x 128, round-trip below "
                        "(measured at 64 x 32: the front end alone costs ~160 FID against raw audio, more than the generator's own error)")


def parse_args(argv=None) -> argparse.Namespace:
    """CLI arguments: preset, data, iterations, any TrainConfig field as --field value, and the --eval-* options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_run_args(p)
    _add_monitor_args(p)
    return p.parse_args(argv)


def _init_distributed() -> None:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK: join the group (NCCL on GPUs, gloo on CPU)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")


def _overrides(a: argparse.Namespace) -> dict:
    """TrainConfig fields given on the command line (and the rank's GPU under torchrun)."""
    overrides = {f.name: getattr(a, f.name) for f in dataclasses.fields(TrainConfig)
                 if getattr(a, f.name, None) is not None}
    if "betas" in overrides:
        overrides["betas"] = tuple(overrides["betas"])
    if dist.is_initialized() and torch.cuda.is_available() and "device" not in overrides:
        overrides["device"] = f"cuda:{torch.cuda.current_device()}"
    return overrides


def data_config(a: argparse.Namespace, data) -> dict:
    """Where the training data came from (kept in checkpoints, compared on resume): data set, folder, labels."""
    X, Xl, _ = data
    folder = os.path.abspath(a.fsdd_dir or default_fsdd_dir()) if a.data == "fsdd" else None
    return {"data": a.data, "fsdd_dir": folder, "label_fraction": a.label_fraction if a.data == "fsdd" else None,
            "label_seed": a.label_seed if a.data == "fsdd" else None, "n_clips": len(X), "n_labelled": len(Xl)}


def prepare_out(a: argparse.Namespace, out: Path) -> None:
    """A fresh run (no --resume) refuses a non-empty --out; --overwrite moves the old run aside first."""
    if a.resume or not out.is_dir() or not any(out.iterdir()):
        return
    if not a.overwrite:
        raise SystemExit(f"[train] {out} already holds a run; continue it with --resume auto, start afresh with "
                         "--overwrite (the old run is moved aside, not deleted), or choose another --out")
    aside = out.with_name(f"{out.name}.old-{dt.datetime.now():%Y%m%d-%H%M%S}")
    while aside.exists():
        aside = aside.with_name(aside.name + "x")
    out.rename(aside)
    print(f"[train] --overwrite: the old run in {out} was moved to {aside}", file=sys.stderr)


def load_data(a: argparse.Namespace, mcfg: ModelConfig):
    """(X, Xl, yl) of --data, or SystemExit with a message that names the bad files and the options."""
    if a.data == "synthetic":
        return synthetic_data(mcfg)
    try:
        return fsdd_data(mcfg, a.label_fraction, a.label_seed, a.fsdd_dir, True, "skip" if a.skip_bad_files else "raise")
    except BadFilesError as err:
        lines = "\n".join(f"  - {name}: {why}" for name, why in err.bad.items())
        raise SystemExit(f"[train] {len(err.bad)} bad file(s) in --fsdd-dir {a.fsdd_dir or default_fsdd_dir()}; "
                         f"fix or remove them, or pass --skip-bad-files to leave them out:\n{lines}") from None
    except DataError as err:
        raise SystemExit(f"[train] {err}") from None


def _make_trainer(a: argparse.Namespace, mcfg: ModelConfig, overrides: dict, data, out: Path, monitor) -> Trainer:
    """A fresh Trainer, or one resumed from --resume (which keeps the checkpoint's TrainConfig and data settings)."""
    X, Xl, yl = data
    resume, data_cfg = a.resume, data_config(a, data)
    if resume == "auto":
        resume = str(out / "checkpoint.pt") if (out / "checkpoint.pt").exists() else None
    if not resume:
        return Trainer(mcfg, TrainConfig.preset(a.preset, **overrides), X, Xl, yl, out_dir=out, monitor=monitor,
                       data_cfg=data_cfg)
    fixed = sorted(set(overrides) - RUNTIME_FIELDS)
    if fixed:  # a resumed run continues the checkpoint's run; these would make it another one
        raise SystemExit(f"--resume keeps the checkpoint's TrainConfig; cannot change {fixed} "
                         f"(only {sorted(RUNTIME_FIELDS)})")
    try:
        return Trainer.resume(resume, X, Xl, yl, train_overrides=dict(overrides), out_dir=out, monitor=monitor,
                              data_cfg=data_cfg)
    except CheckpointMismatchError as err:
        raise SystemExit(f"[train] cannot resume: {err}") from None


def _report(trainer: Trainer, last: dict, path, monitor) -> None:
    """The final iteration's losses, the checkpoint and the best checkpoint (rank 0 only)."""
    if trainer.rank != 0:
        return
    print(f"[train] iteration {trainer.iteration}: " + " ".join(f"{k}={last[k]:.4f}" for k in
          ("d1", "d2", "df", "ecg", "fc") if k in last) + f"; checkpoint {path}", file=sys.stderr)
    if monitor is not None and monitor.best_iter is not None:
        print(f"[train] best.pt: eval/{monitor.cfg.best_by}={monitor.best:.4f} at iteration {monitor.best_iter}",
              file=sys.stderr)


def main(argv=None) -> int:
    """Train (or resume) and save a final checkpoint; returns the exit code."""
    a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    _init_distributed()
    overrides = _overrides(a)
    mcfg = ModelConfig.preset(a.preset)
    out = Path(a.out or f"runs/{a.preset}")
    if int(os.environ.get("RANK", "0")) == 0:  # one rank decides about the folder (the others never write there)
        prepare_out(a, out)
    data = load_data(a, mcfg)
    device = resolve_device(overrides.get("device", TrainConfig.preset(a.preset).device))
    monitor = build_monitor(a, mcfg, device, out)  # on every rank: all apply the same best / stopping rule
    trainer = _make_trainer(a, mcfg, overrides, data, out, monitor)
    if trainer.rank == 0:
        print(f"[train] preset={a.preset} data={a.data} X={tuple(data[0].shape)} labelled={len(data[1])} "
              f"device={trainer.device} amp={trainer.amp} world={trainer.world} from iteration {trainer.iteration}",
              file=sys.stderr)
    try:
        last = trainer.train(a.iters)
        path = trainer.save()
    finally:
        trainer.close()
    _report(trainer, last, path, monitor)
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
