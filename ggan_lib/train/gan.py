"""The BigGAN baselines' trainers: supervised (Appendix A) and unsupervised (Appendix B),
hinge loss (ggan_lib.losses), k D steps per G step."""
from __future__ import annotations

import os

import torch

from ggan_lib import losses as L  # called as L.name so tests can monkeypatch a loss
from ggan_lib.config import BaselineConfig, ModelConfig
from ggan_lib.model.baselines import (
    ConditionalGenerator,
    ProjectionDiscriminator,
    UnconditionalDiscriminator,
    UnconditionalGenerator,
)
from ggan_lib.model.latent import cyclic_classes, sample_classes, sample_z
from ggan_lib.train.baseline_trainer import NOT_GAN_FIELDS, BaselineTrainer, check_data, check_labels


class SupervisedGANTrainer(BaselineTrainer):
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
        """k D steps, then one G step."""
        return self._adversarial_step("D", "G", self.cfg.k_disc)

    def _sample_z(self, n: int, seed: int) -> torch.Tensor:
        """n latents from the prior with their own generator seeded ``seed``."""
        return sample_z(self.mcfg, n, generator=torch.Generator(device=self.device).manual_seed(seed),
                        device=self.device)

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
        """n spectrograms G(z, c) in eval mode for classes c (default 0..n-1 mod n_classes)."""
        z = self._sample_z(n, seed)
        c = cyclic_classes(self.mcfg, n, self.device) if c is None else c.to(self.device)
        self.eval_mode()
        return self.nets["G"](z, c)


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

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n spectrograms G(z) in eval mode."""
        z = self._sample_z(n, seed)
        self.eval_mode()
        return self.nets["G"](z)
