"""The one latent sampler: z from the prior of ``ModelConfig.z_dist`` and class codes c.

Every place that draws a latent code (training batches, evaluation's fixed codes, sampling a trained
or shipped model, interpolation, the baselines) calls these, so changing the prior is a change of
``ModelConfig.z_dist`` alone.
"""
from __future__ import annotations

import torch

from ggan_lib.config import ModelConfig


def sample_z(cfg: ModelConfig, n: int, *, generator: torch.Generator | None = None,
             device: torch.device | str = "cpu") -> torch.Tensor:
    """z (n, z_dim): N(0, I) when cfg.z_dist is 'normal', U(-1, 1) when 'uniform'."""
    if cfg.z_dist == "normal":
        return torch.randn(n, cfg.z_dim, generator=generator, device=device)
    return torch.rand(n, cfg.z_dim, generator=generator, device=device) * 2 - 1


def sample_classes(cfg: ModelConfig, n: int, *, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """c (n,) uniform over the cfg.n_classes categories (Cat(c) of the paper)."""
    return torch.randint(cfg.n_classes, (n,), generator=generator, device=device)


def cyclic_classes(cfg: ModelConfig, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """c = 0, 1, ..., n_classes - 1, 0, 1, ... (n,): every class equally often, in a fixed order."""
    return torch.arange(n, device=device) % cfg.n_classes


def sample_latent(cfg: ModelConfig, batch: int, device: torch.device | str = "cpu",
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """z (batch, z_dim) from the prior and c (batch,) uniform over n_classes."""
    z = sample_z(cfg, batch, generator=generator, device=device)
    return z, sample_classes(cfg, batch, generator=generator, device=device)


def fixed_codes(cfg: ModelConfig, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The n fixed (z, c) of a seed, on the CPU (the same on every device): z from the prior, c cyclic."""
    return sample_z(cfg, n, generator=torch.Generator().manual_seed(seed)), cyclic_classes(cfg, n)


def sampling_codes(cfg: ModelConfig, n: int, seed: int = 0, z: torch.Tensor | None = None, c=None, *,
                   device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The (z, c) every sample() uses: z given or the fixed codes of ``seed``; c given or 0, 1, ... cyclic.

    With ``device``: z as float32 and c moved there (the trainers); without: as given or drawn (on the CPU)."""
    fz, fc = fixed_codes(cfg, n, seed) if z is None else (z, cyclic_classes(cfg, n))
    c = fc if c is None else torch.as_tensor(c)
    return (fz, c) if device is None else (fz.to(device, torch.float32), c.to(device))
