"""The BigGAN baselines' trainers: supervised (Appendix A) and unsupervised (Appendix B),
hinge loss (ggan_lib.losses), k D steps per G step.

Both keep an EMA of G exactly as the GGAN trainer does (ggan_lib.train.ema.GeneratorEMA: the same decay,
warm-up and start, updated after each G step, in their checkpoints) and ``sample()`` uses it with standing
BatchNorm statistics by default, so Table I samples every GAN the same way. The EMA is a copy outside every
phase and optimiser: training (G, D, their optimisers and random streams) is the same with or without it.
"""
from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from ggan_lib import losses as L  # called as L.name so tests can monkeypatch a loss
from ggan_lib.config import BaselineConfig, ModelConfig
from ggan_lib.model.baselines import (
    ConditionalGenerator,
    ProjectionDiscriminator,
    UnconditionalDiscriminator,
    UnconditionalGenerator,
)
from ggan_lib.model.latent import sample_classes, sampling_codes
from ggan_lib.train.baseline_trainer import NOT_GAN_FIELDS, BaselineTrainer, check_data, check_labels
from ggan_lib.train.ema import GeneratorEMA


class SupervisedGANTrainer(GeneratorEMA, BaselineTrainer):
    """Supervised BigGAN (Appendix A): ConditionalGenerator + ProjectionDiscriminator, hinge, k D steps per G step."""

    kind = "supervised_biggan"
    unused_fields = NOT_GAN_FIELDS

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, X: torch.Tensor, y: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """X (N, 1, H, W) in [-1, 1] with labels y (N,): the labelled training data."""
        check_data("X", X, model_cfg)
        check_labels(y, len(X), model_cfg.n_classes)
        super().__init__(model_cfg, cfg, {"G": lambda: ConditionalGenerator(cfg=model_cfg),
                                          "D": lambda: ProjectionDiscriminator(cfg=model_cfg)}, out_dir=out_dir)
        self.X, self.y = X.to(self.device, torch.float32), y.to(self.device, torch.long)
        self.add_adam_phase("D", ["D"], cfg.lr_d, cfg.betas, self.loss_d)
        self.add_adam_phase("G", ["G"], cfg.lr_g, cfg.betas, self.loss_g)
        self.init_ema()

    def _classes(self, n: int) -> torch.Tensor:
        """Generated classes: uniform over n_classes."""
        return sample_classes(self.mcfg, n, generator=self.gen, device=self.device)

    def loss_d(self):
        """Hinge on D(x, y) vs D(G(z, c), c) (fakes without gradient)."""
        m = self.cfg.batch_size
        i, c = self._rows(len(self.X), m), self._classes(m)
        with torch.no_grad():
            xh = self.nets["G"](self._normal(m), c)
        real, fake = self.nets["D"](torch.cat([self.X[i], xh]), torch.cat([self.y[i], c])).split(m)
        loss = L.hinge_d_loss(real, fake)
        return loss, {"d": loss, "d_real": real.mean(), "d_fake": fake.mean()}

    def loss_g(self):
        """-D(G(z, c), c)."""
        m = self.cfg.batch_size
        c = self._classes(m)
        loss = L.hinge_g_loss(self.nets["D"](self.nets["G"](self._normal(m), c), c))
        return loss, {"g": loss}

    def step(self) -> dict[str, float]:
        """k D steps, then one G step, then the EMA update."""
        return self._adversarial_step("D", "G", self.cfg.k_disc, after=self._update_ema)

    def forward_g(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """G(z, c)."""
        return G(z, c)

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, seed: int = 0, *, use_ema: bool = True,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """n spectrograms G(z, c) in eval mode for classes c (default 0..n-1 mod n_classes); z (n, z_dim) given, or
        the fixed codes of ``seed`` (ggan_lib.model.latent.fixed_codes). use_ema: the EMA G with standing BN
        statistics (ggan_lib.train.ema, as every model is sampled); False: the raw G."""
        z, c = sampling_codes(self.mcfg, n, seed, z, c, device=self.device)
        self.eval_mode()
        return self.forward_g(self.sampling_g(use_ema), z, c).float()

    # ---------------------------------------------------------------- checkpoints (with the EMA)
    def state_dict(self) -> dict[str, Any]:
        """The baseline checkpoint plus ``ema_G`` ({} without an EMA)."""
        return {**super().state_dict(), "ema_G": self.ema_state()}

    def load_state_dict(self, state: dict[str, Any], path: Any = "<state>") -> None:
        """Restore a state_dict(); a file written before the EMA reads back as a run without one (ema=False)."""
        super().load_state_dict(state, path)
        self.load_ema(state)


class UnsupervisedGANTrainer(SupervisedGANTrainer):
    """Unsupervised BigGAN (Appendix B): UnconditionalGenerator + UnconditionalDiscriminator, hinge, same lrs."""

    kind = "unsupervised_biggan"

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, X: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """X (N, 1, H, W) in [-1, 1]: all the (unlabelled) training data."""
        check_data("X", X, model_cfg)
        BaselineTrainer.__init__(self, model_cfg, cfg, {"G": lambda: UnconditionalGenerator(cfg=model_cfg),
                                                        "D": lambda: UnconditionalDiscriminator(cfg=model_cfg)},
                                 out_dir=out_dir)
        self.X = X.to(self.device, torch.float32)
        self.add_adam_phase("D", ["D"], cfg.lr_d, cfg.betas, self.loss_d)
        self.add_adam_phase("G", ["G"], cfg.lr_g, cfg.betas, self.loss_g)
        self.init_ema()

    def loss_d(self):
        """Hinge on D(x) vs D(G(z)) (fakes without gradient)."""
        m = self.cfg.batch_size
        x = self.X[self._rows(len(self.X), m)]
        with torch.no_grad():
            xh = self.nets["G"](self._normal(m))
        real, fake = self.nets["D"](torch.cat([x, xh])).split(m)
        loss = L.hinge_d_loss(real, fake)
        return loss, {"d": loss, "d_real": real.mean(), "d_fake": fake.mean()}

    def loss_g(self):
        """-D(G(z))."""
        loss = L.hinge_g_loss(self.nets["D"](self.nets["G"](self._normal(self.cfg.batch_size))))
        return loss, {"g": loss}

    def forward_g(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """G(z) (c plays no part)."""
        return G(z)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, *, use_ema: bool = True, z: torch.Tensor | None = None) -> torch.Tensor:
        """n spectrograms G(z) in eval mode; z given or the fixed codes of ``seed``; use_ema as the supervised one's."""
        return super().sample(n, None, seed, use_ema=use_ema, z=z)
