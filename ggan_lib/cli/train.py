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
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from ggan_lib.io import paths
from ggan_lib.config import ModelConfig
from ggan_lib.train.ggan import RUNTIME_FIELDS, TrainConfig, Trainer, resolve_device

DEFAULT_CLASSIFIER = paths.SHIPPED_CLASSIFIER
EVAL_EVERY = {"paper": 2000, "small": 200, "tiny": 0}  # default --eval-every per preset


def synthetic_data(model_cfg: ModelConfig, n: int = 64, n_labelled: int = 16, seed: int = 0):
    """Random spectrogram-shaped data in [-1, 1] with labels, for smoke tests only."""
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, *model_cfg.spec_shape, generator=g) * 2 - 1
    y = torch.randint(model_cfg.n_classes, (n,), generator=g)
    return X, X[:n_labelled], y[:n_labelled]


def fsdd_data(model_cfg: ModelConfig, fraction: float, label_seed: int, root: str | None, progress: bool):
    """FSDD training split as spectrograms of the preset's shape; a stratified labelled fraction."""
    from ggan_lib.audio import AudioConfig
    from ggan_lib.data import DigitFolder, labelled_subset
    ds = DigitFolder(root, split="train", cfg=AudioConfig(spec_shape=tuple(model_cfg.spec_shape)),
                     progress=progress)
    X, y = ds.as_tensors()
    idx = torch.from_numpy(labelled_subset(y, fraction, label_seed))
    # Pldata is a subset of Pdata here (section III-B): X keeps the labelled clips too
    return X, X[idx], y[idx]


def fsdd_validation(model_cfg: ModelConfig, fraction: float, label_seed: int, root: str | None, n_val: int):
    """A held-out labelled set for monitoring: n_val training-split clips outside the labelled subset, stratified.

    Their audio stays in the unlabelled pool X (as every training clip does); their labels are used only to
    measure Cx(F(D(x))) during training, never in a loss.
    """
    from ggan_lib.audio import AudioConfig
    from ggan_lib.data import DigitFolder, labelled_subset
    ds = DigitFolder(root, split="train", cfg=AudioConfig(spec_shape=tuple(model_cfg.spec_shape)), progress=False)
    X, y = ds.as_tensors()
    _, rest = labelled_subset(y, fraction, label_seed, rest=True)
    pick = rest[labelled_subset(y[rest], min(1.0, n_val / len(rest)), label_seed + 1000)]
    return X[pick], y[pick]


def build_monitor(a: argparse.Namespace, model_cfg: ModelConfig, device, out: Path):
    """The Monitor of the --eval-* options (None when --eval-every is 0): classifier, real statistics, held-out set."""
    from ggan_lib.audio import AudioConfig
    from ggan_lib.metrics.monitor import Monitor, MonitorConfig
    every = a.eval_every if a.eval_every is not None else EVAL_EVERY[a.preset]
    if not every:
        return None
    clf, stats, X_val, y_val = None, None, None, None
    if Path(a.metric_classifier).exists():
        from ggan_lib.metrics import load_classifier
        clf = load_classifier(a.metric_classifier, device=device)
    else:
        print(f"[train] no metric classifier at {a.metric_classifier}: no IS / FID during training", file=sys.stderr)
    if a.data == "fsdd":
        X_val, y_val = fsdd_validation(model_cfg, a.label_fraction, a.label_seed, a.fsdd_dir, a.val_size)
        if clf is not None:
            stats = _real_train_stats(a, clf, device, tuple(model_cfg.spec_shape))
    best_by = a.best_by or ("fid" if stats is not None else "is" if clf is not None else
                            "acc" if X_val is not None else "none")
    cfg = MonitorConfig(every=every, n_clips=a.eval_clips, feature_kind=a.eval_feature, best_by=best_by,
                        patience=a.stop_after_no_improvement)
    return Monitor(cfg, clf, stats, X_val, y_val, audio_cfg=AudioConfig(spec_shape=tuple(model_cfg.spec_shape)),
                   out_dir=out, device=device)


def _real_train_stats(a: argparse.Namespace, clf, device, spec_shape: tuple[int, int]):
    """Classifier statistics of n_real real training-split clips, cached under .cache/monitor.

    --fid-reference raw: the recordings themselves (the paper's reference); round-trip: the same clips sent
    through the model's spectrogram resolution and PGHI, i.e. the best audio this front end can give, so the
    FID measures what the generator controls (at 64 x 32 the front end alone costs a large FID).
    """
    import hashlib

    from ggan_lib.audio import AudioConfig
    from ggan_lib.data import default_fsdd_dir, repo_root
    from ggan_lib.metrics.train_classifier import load_digit_folder
    from ggan_lib.metrics.monitor import real_audio_statistics
    from ggan_lib.audio.pghi import spectrogram_to_audio
    folder = Path(a.fsdd_dir) if a.fsdd_dir else default_fsdd_dir()
    st = Path(a.metric_classifier).stat()
    kind = a.fid_reference if a.fid_reference != "auto" else \
        ("raw" if tuple(spec_shape) == AudioConfig().spec_shape else "round-trip")
    ref = kind if kind == "raw" else f"round-trip{spec_shape}"
    key = hashlib.sha1(f"{folder.resolve()}|{a.n_real}|{a.eval_feature}|{st.st_size}|{st.st_mtime_ns}|{ref}".encode())
    cache = repo_root() / ".cache" / "monitor" / f"real_train_{key.hexdigest()[:12]}.npz"
    waves = None
    if not cache.exists():
        waves, _ = load_digit_folder(folder, "train", progress=False)
        waves = waves[np.random.default_rng(0).permutation(len(waves))[:a.n_real]]
        if kind == "round-trip":
            acfg = AudioConfig(spec_shape=spec_shape)
            from ggan_lib.audio import audio_to_spectrogram
            waves = spectrogram_to_audio(audio_to_spectrogram(waves, acfg), acfg)
    return real_audio_statistics(clf, waves, a.eval_feature, cache=cache, device=device)


def _bool(s: str) -> bool:
    return s.lower() in ("1", "true", "yes", "on")


def parse_args(argv=None) -> argparse.Namespace:
    """CLI arguments: preset, data, iterations, and any TrainConfig field as --field value."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small", choices=["paper", "small", "tiny"])
    p.add_argument("--iters", type=int, default=100, help="iterations to run (in addition to a resumed run's)")
    p.add_argument("--data", default="fsdd", choices=["fsdd", "synthetic"])
    p.add_argument("--fsdd-dir", default=None, help="FSDD recordings folder (default: the project's)")
    p.add_argument("--label-fraction", type=float, default=0.05, help="labelled fraction xl (paper: 0.01-0.05)")
    p.add_argument("--label-seed", type=int, default=0)
    p.add_argument("--out", default=None, help="run folder for log.jsonl, tb/ and checkpoint.pt (default runs/<preset>)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from ('auto': <out>/checkpoint.pt if present)")
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
    m = p.add_argument_group("monitoring (ggan_lib.metrics.monitor)")
    m.add_argument("--eval-every", type=int, default=None,
                   help=f"evaluate every N iterations, 0 = never (preset default: {EVAL_EVERY})")
    m.add_argument("--eval-clips", type=int, default=200, help="fixed latent codes scored for IS / FID")
    m.add_argument("--eval-feature", default="spatial_mean", choices=["spatial_mean", "penultimate", "logits"],
                   help="classifier features for the FID during training")
    m.add_argument("--best-by", default=None, choices=["fid", "is", "acc", "none"],
                   help="criterion of best.pt (default: fid, else is, else acc, whichever can be measured)")
    m.add_argument("--stop-after-no-improvement", type=int, default=0, metavar="K",
                   help="stop after K evaluations without a better best-by value (0: never)")
    m.add_argument("--metric-classifier", default=str(DEFAULT_CLASSIFIER), help="IS / FID classifier checkpoint")
    m.add_argument("--val-size", type=int, default=300, help="held-out labelled training clips for eval/acc")
    m.add_argument("--n-real", type=int, default=1000, help="real training clips for the FID statistics")
    m.add_argument("--fid-reference", default="auto", choices=["auto", "raw", "round-trip"],
                   help="FID against the recordings (raw) or against them sent through the model's "
                        "spectrogram resolution + PGHI (round-trip: what the generator can reach); "
                        "auto: raw at 256 x 128, round-trip below (measured at 64 x 32: the front end "
                        "alone costs ~160 FID against raw audio, more than the generator's own error)")
    return p.parse_args(argv)


def _init_distributed() -> None:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK: join the group (NCCL on GPUs, gloo on CPU)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")


def main(argv=None) -> int:
    """Train (or resume) and save a final checkpoint; returns the exit code."""
    a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    _init_distributed()
    overrides = {f.name: getattr(a, f.name) for f in dataclasses.fields(TrainConfig)
                 if getattr(a, f.name, None) is not None}
    if "betas" in overrides:
        overrides["betas"] = tuple(overrides["betas"])
    if dist.is_initialized() and torch.cuda.is_available() and "device" not in overrides:
        overrides["device"] = f"cuda:{torch.cuda.current_device()}"
    mcfg = ModelConfig.preset(a.preset)
    out = Path(a.out or f"runs/{a.preset}")
    if a.data == "synthetic":
        X, Xl, yl = synthetic_data(mcfg)
    else:
        X, Xl, yl = fsdd_data(mcfg, a.label_fraction, a.label_seed, a.fsdd_dir, progress=True)
    device = resolve_device(overrides.get("device", TrainConfig.preset(a.preset).device))
    monitor = build_monitor(a, mcfg, device, out)  # on every rank: all apply the same best / stopping rule
    resume = a.resume
    if resume == "auto":
        resume = str(out / "checkpoint.pt") if (out / "checkpoint.pt").exists() else None
    if resume:
        fixed = sorted(set(overrides) - RUNTIME_FIELDS)
        if fixed:  # a resumed run continues the checkpoint's run; these would make it another one
            raise SystemExit(f"--resume keeps the checkpoint's TrainConfig; cannot change {fixed} "
                             f"(only {sorted(RUNTIME_FIELDS)})")
        runtime = dict(overrides)
        trainer = Trainer.resume(resume, X, Xl, yl, train_overrides=runtime, out_dir=out, monitor=monitor)
    else:
        trainer = Trainer(mcfg, TrainConfig.preset(a.preset, **overrides), X, Xl, yl, out_dir=out, monitor=monitor)
    if trainer.rank == 0:
        print(f"[train] preset={a.preset} data={a.data} X={tuple(X.shape)} labelled={len(Xl)} "
              f"device={trainer.device} amp={trainer.amp} world={trainer.world} from iteration {trainer.iteration}",
              file=sys.stderr)
    try:
        last = trainer.train(a.iters)
        path = trainer.save()
    finally:
        trainer.close()
    if trainer.rank == 0:
        print(f"[train] iteration {trainer.iteration}: " + " ".join(f"{k}={last[k]:.4f}" for k in
              ("d1", "d2", "df", "ecg", "fc") if k in last) + f"; checkpoint {path}", file=sys.stderr)
        if monitor is not None and monitor.best_iter is not None:
            print(f"[train] best.pt: eval/{monitor.cfg.best_by}={monitor.best:.4f} at iteration {monitor.best_iter}",
                  file=sys.stderr)
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
