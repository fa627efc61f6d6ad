"""Command line for Algorithm 1: ``python -m ggan_lib.train --preset small --iters 2000``.

Multi-GPU (the paper used 2): ``torchrun --nproc_per_node 2 -m ggan_lib.train --preset paper``;
each rank takes batch/world samples and gradients are averaged over ranks (see Trainer).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from ggan_lib.config import ModelConfig
from ggan_lib.trainer import RUNTIME_FIELDS, TrainConfig, Trainer


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
    resume = a.resume
    if resume == "auto":
        resume = str(out / "checkpoint.pt") if (out / "checkpoint.pt").exists() else None
    if resume:
        fixed = sorted(set(overrides) - RUNTIME_FIELDS)
        if fixed:  # a resumed run continues the checkpoint's run; these would make it another one
            raise SystemExit(f"--resume keeps the checkpoint's TrainConfig; cannot change {fixed} "
                             f"(only {sorted(RUNTIME_FIELDS)})")
        runtime = dict(overrides)
        trainer = Trainer.resume(resume, X, Xl, yl, train_overrides=runtime, out_dir=out)
    else:
        trainer = Trainer(mcfg, TrainConfig.preset(a.preset, **overrides), X, Xl, yl, out_dir=out)
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
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
