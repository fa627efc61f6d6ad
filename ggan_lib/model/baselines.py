"""Baseline networks (networks only; their training loops live elsewhere): supervised and unsupervised BigGAN,
the post-hoc ALI-style encoder with its joint (x, z) discriminator, and the CNN classifier."""
from __future__ import annotations

import torch
from torch import nn

from ggan_lib.config import ModelConfig
from ggan_lib.model.layers import embedding, linear, mlp
from ggan_lib.model.networks import (
    Classifier,
    DTrunk,
    FeatureDiscriminator,
    FeatureExtractor,
    Generator,
    TrunkDiscriminator,
)


class ConditionalGenerator(Generator):
    """Supervised BigGAN G (Table VI, ResBlock Table IV): Table X's G with class-conditional BN."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration (n_classes sets the cBN embeddings)
        super().__init__(cfg=cfg, n_classes=cfg.n_classes)


class ProjectionDiscriminator(nn.Module):
    """Supervised BigGAN D (Table VII): trunk, then dense(h) + sum(embed(y) * h) (projection discriminator)."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__()
        kw = dict(sn_eps=cfg.sn_eps, sn_iters=cfg.sn_iters, init=cfg.init)
        self.trunk = DTrunk(cfg=cfg, sn=True)
        self.out = linear(cfg.feat_dim, 1, sn=True, **kw)
        self.embed = embedding(cfg.n_classes, cfg.feat_dim, sn=True, **kw)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W), y (B,) long -> score (B,)."""
        h = self.trunk(x)                                   # (B, feat_dim)
        assert y.shape == (h.shape[0],), y.shape
        return self.out(h).squeeze(1) + (self.embed(y) * h).sum(1)


class UnconditionalGenerator(Generator):
    """Unsupervised BigGAN G (Table X): z -> spectrogram (the same network as GGAN's G)."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__(cfg=cfg, n_classes=0)


class UnconditionalDiscriminator(TrunkDiscriminator):
    """Unsupervised BigGAN D (Table XI): trunk + SN dense -> 1 (the same network as GGAN's D2)."""


class ALIEncoder(nn.Module):
    """Post-hoc ALI-style encoder x -> z for the unsupervised BigGAN: a D-style trunk (no SN) + Table XVI's MLP."""

    def __init__(self, *, cfg: ModelConfig,    # Model configuration
                 sn: bool = False):            # Spectral norm in the trunk (an encoder is not a critic: off)
        super().__init__()
        self.trunk = DTrunk(cfg=cfg, sn=sn)
        self.head = mlp([cfg.feat_dim, cfg.f_hidden, cfg.f_hidden, cfg.z_dim], sn=False, init=cfg.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> z (B, z_dim)."""
        return self.head(self.trunk(x))


class ALIJointDiscriminator(FeatureDiscriminator):
    """ALI's joint (x, z) discriminator: its own SN trunk on x, concat with z, 128 -> ReLU -> 1 (Table XVII's head)."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__(cfg=cfg, own_trunk=True)

    def forward(self, latent: torch.Tensor, d: torch.Tensor | None = None,
                x: torch.Tensor | None = None) -> torch.Tensor:
        """latent (B, z_dim), x (B, 1, H, W) -> score (B,); d is unused (kept for Df's signature)."""
        return super().forward(latent, None, x)


class LatentClassifier(Classifier):
    """The classifier trained on top of the ALI encoder's z with the labelled subset (Table XIII's MLP)."""


class CNNBaseline(nn.Module):
    """Supervised CNN with the feature path's architecture: D trunk + F + classifier Cx, labels only."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration (trunk_sn_cnn: SN in the trunk as in D)
        super().__init__()
        self.trunk = DTrunk(cfg=cfg, sn=cfg.trunk_sn_cnn)
        self.F = FeatureExtractor(cfg=cfg)
        self.Cx = Classifier(cfg=cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> logits (B, n_classes)."""
        return self.Cx(self.F(self.trunk(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> f (B, z_dim), the representation before the classifier."""
        return self.F(self.trunk(x))
