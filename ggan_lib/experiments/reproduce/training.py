"""A Table II GGAN run's Trainer, new or continued from the run folder's checkpoint (train_ggan notebook)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ggan_lib.config import ModelConfig
from ggan_lib.data.splits import draw_seed
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.train.ggan import TrainConfig, Trainer

CHECKPOINT = Trainer.ckpt_name  # the run folder's checkpoint, written every ckpt_every iterations


def ggan_trainer_for_run(out_dir: str | os.PathLike, iters: int, run_cfg: dict[str, Any], X, Xl, yl, *,
                         device: str = "cpu", progress: bool = True, ckpt_every: int = 0) -> Trainer:
    """The run's Trainer: continued from out_dir/checkpoint.pt when an earlier invocation of this run stopped
    part-way (bit-exact: networks, optimisers, EMA, RNGs, log), else new from ``run_cfg['preset']`` seeded by
    data.splits.draw_seed(seed, draw).

    ``run_cfg`` (preset, data, fraction, draw, seed) is stored in the checkpoint, and a checkpoint written for
    other data or labels is refused (CheckpointMismatchError names both); one already past ``iters`` belongs
    to a longer run and is started over, with a warning."""
    out_dir = Path(out_dir)
    runtime = {"device": device, "progress": progress, "ckpt_every": int(ckpt_every)}
    path = out_dir / CHECKPOINT
    if path.exists():
        state = ckpt.load_checkpoint(path)  # read once: its iteration here, its contents for the resume
        at = int(state["iteration"])
        if at <= iters:
            return Trainer.resume(path, X, Xl, yl, train_overrides=runtime, out_dir=out_dir, data_cfg=run_cfg,
                                  state=state)
        warnings.warn(f"{path} is at iteration {at} > iters={iters}: a longer run's; this run starts over")
    tcfg = TrainConfig.preset(run_cfg["preset"], seed=draw_seed(run_cfg["seed"], run_cfg["draw"]), **runtime)
    return Trainer(ModelConfig.preset(run_cfg["preset"]), tcfg, X, Xl, yl, out_dir=out_dir, data_cfg=run_cfg)
