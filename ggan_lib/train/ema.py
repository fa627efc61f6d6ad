"""The generator's exponential moving average (EMA), used for sampling, and its BatchNorm statistics.

**How every model of the project is sampled** (the one statement of it; ARCHITECTURE.md points here):
from the EMA of G, with standing BatchNorm statistics, on the fixed codes of a seed. That holds for GGAN
(``Trainer.sample``, and so the training monitor), both BigGAN baselines (``SupervisedGANTrainer.sample``,
``UnsupervisedGANTrainer.sample``) and every model loaded from a file (``ggan_lib.experiments.zoo``:
``Pretrained.sample`` / ``generate``, which Table I, the model cards, ``listen`` / ``generate`` and the
gender measurement use), and a trainer's snapshot (``zoo.from_trainer``, with which chapter 11 samples
a model it trains):

* the EMA: :class:`GeneratorEMA` (a trainer mixin) updates it after every G step with the decay
  :func:`ema_decay_at` (``ema_decay``, ``ema_warmup``, ``ema_start`` of TrainConfig / BaselineConfig,
  the same defaults); a file's ``ema_G`` replaces G when it has one (files written before a trainer
  kept one hold only the raw G, which is then what is sampled);
* standing statistics: :func:`standing_bn_stats` on ``STANDING_BATCHES`` batches of
  ``STANDING_BATCH_SIZE`` codes drawn from seed 0 on the CPU (``ema_standing_batches`` in a trainer,
  re-estimated at most once per iteration; ``Pretrained.standing_batches`` for a file, once);
* codes: ``ggan_lib.model.latent.fixed_codes(cfg, n, seed)`` (z from the prior on the CPU, c = 0, 1, ...
  cyclic) unless z / c are given, so a seed means the same codes on every device and for every model.

The EMA starts as a copy of G's random initialisation. With a constant decay d that start keeps the weight
d^t after t steps (0.999^1000 = 37 %), so early samples come from a blend of a trained and a random network.
:func:`ema_decay_at` ramps the decay up instead, ``min(d, (1 + t) / (warmup + t))`` (the ``num_updates``
rule of TensorFlow's ExponentialMovingAverage), which leaves the initialisation a vanishing weight.

The EMA's BatchNorm buffers are G's running statistics, i.e. statistics of *another* network's
activations. :func:`standing_bn_stats` re-estimates them for the EMA weights themselves, as BigGAN's
"standing statistics" do: a cumulative average over batches of fresh codes, nothing else changed.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch
from torch import nn

from ggan_lib.config import ModelConfig
from ggan_lib.config.training import STANDING_BATCH_SIZE, STANDING_BATCHES
from ggan_lib.model.latent import sample_latent

# forward(z, c) -> G's output for a batch of codes: GGAN G(E(z, c)), supervised BigGAN G(z, c), unsupervised G(z)
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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
def standing_bn_stats(G: nn.Module, forward: Forward, cfg: ModelConfig, n_batches: int = STANDING_BATCHES,
                      batch_size: int = STANDING_BATCH_SIZE, seed: int = 0) -> None:
    """Re-estimate G's BatchNorm running statistics as the plain average over ``n_batches`` batches of
    ``forward(z, c)`` (a function that runs G on a batch of codes, see :data:`Forward`).

    The codes (z from the prior, c uniform) come from their own CPU generator seeded ``seed`` and are moved
    to G's device, so no other random stream moves and every device sees the same codes. Only G's BatchNorm
    layers run in training mode (spectral-norm vectors and every weight stay as they are; other networks the
    forward calls keep their modes); G ends in eval mode.
    """
    bns = _batchnorms(G)
    G.eval()
    device = next(G.parameters()).device
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: every batch weighs the same
        bn.track_running_stats = True
        bn.train()
    gen = torch.Generator().manual_seed(seed)
    try:
        for _ in range(n_batches):
            z, c = sample_latent(cfg, batch_size, "cpu", gen)
            forward(z.to(device), c.to(device))
    finally:
        for bn, m in zip(bns, momenta):
            bn.momentum = m
            bn.eval()


class GeneratorEMA:
    """A GAN trainer's EMA of G: kept, updated after each G step, checkpointed, and sampled with standing stats.

    Mixed into the GGAN Trainer and the BigGAN trainers, which provide ``cfg`` (ema, ema_decay, ema_warmup,
    ema_start, ema_standing_batches), ``mcfg``, ``nets["G"]``, ``iteration`` and :meth:`forward_g`. The EMA
    is in no optimiser and no phase: only :meth:`_update_ema` (and a checkpoint load) changes it.
    """

    ema_G: nn.Module | None

    def init_ema(self) -> None:
        """The EMA: a copy of the current G (eval mode, no gradients), or None when cfg.ema is off."""
        self.ema_G = copy.deepcopy(self.nets["G"]).eval().requires_grad_(False) if self.cfg.ema else None
        self._standing_at: int | None = None  # iteration whose standing BN statistics the EMA G holds

    def forward_g(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """G's output for codes (z, c) (a trainer's own wiring: G(E(z, c)), G(z, c) or G(z))."""
        raise NotImplementedError

    @torch.no_grad()
    def _update_ema(self) -> None:
        """One EMA update after a G step; ``iteration`` is still the number of steps completed before it."""
        if self.ema_G is None:
            return
        c = self.cfg
        update_ema(self.ema_G, self.nets["G"], ema_decay_at(self.iteration, c.ema_decay, c.ema_warmup, c.ema_start))

    def sampling_g(self, use_ema: bool = True) -> nn.Module:
        """The G to sample: the EMA with its standing BN statistics (re-estimated at most once per iteration;
        the next update copies G's again) when ``use_ema`` and there is one, else the raw G (left as it is)."""
        if not use_ema or self.ema_G is None:
            return self.nets["G"]
        n = self.cfg.ema_standing_batches
        if n and self._standing_at != self.iteration:
            standing_bn_stats(self.ema_G, lambda z, c: self.forward_g(self.ema_G, z, c), self.mcfg, n)
            self._standing_at = self.iteration
        return self.ema_G

    def ema_state(self) -> dict[str, Any]:
        """The checkpoint entry ``ema_G`` ({} without an EMA)."""
        return self.ema_G.state_dict() if self.ema_G is not None else {}

    def load_ema(self, state: dict[str, Any]) -> None:
        """Restore ``state["ema_G"]`` (the configs were checked: an EMA run's file holds one)."""
        if self.ema_G is not None:
            self.ema_G.load_state_dict(state["ema_G"])
            self._standing_at = None


class PathEMA:
    """A Polyak average (EMA) of the networks a method is scored with, when ``clf_ema_decay`` > 0.

    GGAN averages D, F and Cx (x -> Cx(F(D(x))), Table II's measure), the CNN its whole network, the
    unsupervised baseline its ALI encoder E and the latent classifier on E(x). The last iterate of a small-batch
    run swings by several points of held-out accuracy between evaluations; the average of the last few hundred
    steps much less. Tried for every method on a validation speaker (results/diag, issue 13): it narrowed
    GGAN's swings but did not raise its 5 % mean, so by the rule fixed in advance Table II scores the last
    iterate (clf_ema_decay = 0, the default). ``decay`` ramps up as G's EMA does
    (:func:`ema_decay_at`, with ``warmup``), so the random init carries no weight; buffers (spectral-norm
    vectors, BatchNorm statistics) are the live network's, copied at each update. Updated by the trainer
    after each of its steps, checkpointed, in no optimiser.
    """

    def __init__(self, nets: dict[str, nn.Module], decay: float, warmup: int):
        self.decay, self.warmup = float(decay), int(warmup)
        self.nets = {n: copy.deepcopy(m).eval().requires_grad_(False) for n, m in nets.items()}

    @torch.no_grad()
    def update(self, nets: dict[str, nn.Module], step: int) -> None:
        """Average in the live ``nets`` after ``step`` completed steps (0: the first update, decay ramped)."""
        d = ema_decay_at(step, self.decay, self.warmup)
        for n, avg in self.nets.items():
            update_ema(avg, nets[n], d)

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """{network name: its averaged state_dict} (on the CPU), for a checkpoint."""
        return {n: {k: v.detach().cpu() for k, v in m.state_dict().items()} for n, m in self.nets.items()}

    def load_state_dict(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        """Restore :meth:`state_dict`'s averages."""
        for n, m in self.nets.items():
            m.load_state_dict(state[n])


def path_ema(nets: dict[str, nn.Module], decay: float, warmup: int) -> PathEMA | None:
    """A :class:`PathEMA` of ``nets``, or None when ``decay`` is 0 (score the last iterate)."""
    return PathEMA(nets, decay, warmup) if decay > 0 else None
