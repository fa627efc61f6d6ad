"""The generator's exponential moving average (EMA), used for sampling, and its BatchNorm statistics.

The EMA starts as a copy of G's random initialisation. With a constant decay d that start keeps the weight
d^t after t steps (0.999^1000 = 37 %), so early samples come from a blend of a trained and a random network.
:func:`ema_decay_at` ramps the decay up instead, ``min(d, (1 + t) / (warmup + t))`` (the ``num_updates``
rule of TensorFlow's ExponentialMovingAverage), which leaves the initialisation a vanishing weight.

The EMA's BatchNorm buffers are G's running statistics, i.e. statistics of *another* network's
activations. :func:`standing_bn_stats` re-estimates them for the EMA weights themselves, as BigGAN's
"standing statistics" do: a cumulative average over batches of fresh codes, nothing else changed.
"""
from __future__ import annotations

import torch
from torch import nn

from ggan_lib.config import ModelConfig
from ggan_lib.model.latent import sample_latent


def ema_decay_at(step: int, decay: float, warmup: int = 0, start: int = 0) -> float:
    """The EMA decay of the update after ``step`` completed steps: 0 (copy) before ``start``, then ramped."""
    if step < start:
        return 0.0
    if warmup <= 0:
        return decay
    t = step - start
    return min(decay, (1 + t) / (warmup + t))


@torch.no_grad()
def update_ema(ema: nn.Module, net: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * net for the parameters; buffers (BN stats, SN vectors) copied."""
    for pe, p in zip(ema.parameters(), net.parameters()):
        pe.lerp_(p, 1 - decay)
    for be, bf in zip(ema.buffers(), net.buffers()):
        be.copy_(bf)


def _batchnorms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def standing_bn_stats(G: nn.Module, E: nn.Module, cfg: ModelConfig, n_batches: int = 16, batch_size: int = 64,
                      seed: int = 0, device: torch.device | str = "cpu") -> None:
    """Re-estimate G's BatchNorm running statistics as the plain average over ``n_batches`` batches of G(E(z, c)).

    Only the BatchNorm layers run in training mode (spectral-norm vectors and every weight stay as they are);
    the latent codes come from their own generator, so no other random stream moves. G ends in eval mode.
    """
    bns = _batchnorms(G)
    G.eval()
    E.eval()
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: every batch weighs the same
        bn.track_running_stats = True
        bn.train()
    gen = torch.Generator(device=device).manual_seed(seed)
    try:
        for _ in range(n_batches):
            z, c = sample_latent(cfg, batch_size, device, gen)
            G(E(z, c))
    finally:
        for bn, m in zip(bns, momenta):
            bn.momentum = m
            bn.eval()
