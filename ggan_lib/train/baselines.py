"""The baselines of the paper (section IV-C, Appendix A/B), trained: one import for all of them.

The trainers live by kind (all on ggan_lib.train.engine's phase engine, through
ggan_lib.train.baseline_trainer.BaselineTrainer):

* ggan_lib.train.gan: SupervisedGANTrainer, UnsupervisedGANTrainer (BigGAN, hinge loss);
* ggan_lib.train.ali: ALIEncoderTrainer (post-hoc encoder of the frozen unsupervised G);
* ggan_lib.train.classifiers: CNNTrainer, LatentClassifierTrainer, encode, train_cnn, train_latent_classifier.

This module re-exports them and adds the two-stage unsupervised pipeline (GAN, then its encoder),
whose stages resume from their checkpoints.
"""
from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ggan_lib.config import BASELINE_PRESETS, BaselineConfig, ModelConfig  # noqa: F401  (re-exported)
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.losses import hinge_d_loss, hinge_g_loss  # noqa: F401  (re-exported)
from ggan_lib.train.ali import ALIEncoderTrainer
from ggan_lib.train.baseline_trainer import NOT_GAN_FIELDS, RUNTIME_FIELDS, BaselineTrainer  # noqa: F401
from ggan_lib.train.classifiers import (  # noqa: F401
    CNNTrainer,
    EncoderClassifier,
    LatentClassifierTrainer,
    encode,
    train_cnn,
    train_latent_classifier,
)
from ggan_lib.train.engine import NonFiniteLossError, Phase  # noqa: F401  (re-exported)
from ggan_lib.train.gan import SupervisedGANTrainer, UnsupervisedGANTrainer  # noqa: F401  (re-exported)


def train_stage(trainer: BaselineTrainer, n_iters: int, log=print) -> BaselineTrainer:
    """Train to n_iters in total, first resuming from trainer.out_dir/<kind>.pt when it holds <= n_iters
    iterations of the same configuration (a killed or finished earlier run of this folder); else from scratch.
    ``trainer.resumed_from``: the iteration this call started training at (0: from scratch)."""
    path = trainer.out_dir / f"{trainer.kind}.pt" if trainer.out_dir is not None else None
    if path is not None and path.is_file():
        try:
            state = ckpt.load_checkpoint(path)
            if int(state.get("iteration", -1)) <= n_iters:
                trainer.load_state_dict(state, path)
                trainer.last_checkpoint = path
                log(f"{trainer.kind}: resumed from {path} at iteration {trainer.iteration}")
        except ckpt.CheckpointMismatchError as e:
            log(f"{trainer.kind}: not resuming, {e}")
    trainer.resumed_from = trainer.iteration
    trainer.train(max(0, n_iters - trainer.iteration))
    return trainer


def train_unsupervised_baseline(model_cfg: ModelConfig, cfg: BaselineConfig, X,
                                gan_iters: int | None = None, enc_iters: int | None = None,
                                out_dir: str | os.PathLike | None = None,
                                resumed: dict[str, int] | None = None) -> tuple[nn.Module, nn.Module]:
    """Unsupervised BigGAN on X, then its ALI encoder with G frozen; returns (G, encoder) in eval mode.

    With out_dir, each stage resumes from its checkpoint there (train_stage), so a rerun after a
    change of the encoder's settings reuses the finished GAN. ``resumed`` (a dict), if given, receives
    the iteration each stage started training at: {"gan": ..., "encoder": ...} (0: from scratch)."""
    sub = (lambda name: Path(out_dir) / name) if out_dir is not None else (lambda name: None)
    gan = train_stage(UnsupervisedGANTrainer(model_cfg, cfg, X, out_dir=sub("gan")),
                      cfg.gan_iters if gan_iters is None else gan_iters)
    if out_dir is not None:
        gan.save()
    ali = train_stage(ALIEncoderTrainer(model_cfg, cfg, gan.nets["G"], X, out_dir=sub("encoder")),
                      cfg.enc_iters if enc_iters is None else enc_iters)
    if out_dir is not None:
        ali.save()
    if resumed is not None:
        resumed.update(gan=gan.resumed_from, encoder=ali.resumed_from)
    gan.close()
    ali.close()
    return gan.nets["G"].eval(), ali.encoder.eval()
