"""Linear interpolation in the latent space (paper section V, Fig. 4), as spectrograms, audio and numbers.

GGAN: between ze_a = E(z_a, c_a) and ze_b = E(z_b, c_b) (same class, different classes, or for a gender
model male -> female: c_a, c_b = the two gender classes). Unsupervised BigGAN: between two z.
"Smooth" is measured: the mean absolute change between successive spectrograms (steps), the largest step
over the mean step (jump ratio: 1 = evenly spread change, large = one abrupt jump), on the generated
spectrograms and on the spectrograms re-analysed from the PGHI audio (the paper's point: the
unsupervised BigGAN's path is smooth as spectrograms but not as audio).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ggan_lib.audio import AudioConfig, audio_to_spectrogram
from ggan_lib.audio.pghi import spectrogram_to_audio
from ggan_lib.metrics.accuracy import eval_mode, module_device
from ggan_lib.model import latent


@dataclass
class Interpolation:
    """One interpolation path: t (N,), latents (N, z_dim), specs (N, 1, H, W), audio (N, L) or None, smoothness."""

    t: torch.Tensor                      # interpolation weights 0 .. 1
    latents: torch.Tensor                # the ze (or z) path; latents[0], latents[-1] are the two codes
    specs: torch.Tensor                  # generated log-magnitude spectrograms in [-1, 1]
    audio: torch.Tensor | None           # PGHI audio of each spectrogram (L = AudioConfig.signal_length)
    spec_smoothness: dict[str, float]    # path_smoothness of specs
    audio_smoothness: dict[str, float] | None  # path_smoothness of the audio's re-analysed spectrograms
    ends: tuple[str, str] = ("a", "b")   # names of the two ends (for plots)


def lerp_path(a: torch.Tensor, b: torch.Tensor, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """t (n,) = linspace(0, 1) and (1 - t) a + t b (n, d); the ends equal a and b exactly."""
    if n_steps < 2:
        raise ValueError(f"n_steps must be >= 2, got {n_steps}")
    t = torch.linspace(0, 1, n_steps, device=a.device, dtype=a.dtype)
    return t, (1 - t)[:, None] * a[None] + t[:, None] * b[None]


def path_smoothness(specs) -> dict[str, float]:
    """Steps s_i = mean |x_{i+1} - x_i| along a path (N, ..., H, W): mean, max, jump ratio, end-to-end."""
    x = torch.as_tensor(np.asarray(specs) if not torch.is_tensor(specs) else specs).float().flatten(1)
    steps = (x[1:] - x[:-1]).abs().mean(1)
    mean, end = float(steps.mean()), float((x[-1] - x[0]).abs().mean())
    return {"mean_step": mean, "max_step": float(steps.max()),
            "jump_ratio": float(steps.max()) / mean if mean > 0 else 1.0,
            "end_to_end": end, "straightness": end / float(steps.sum()) if mean > 0 else 1.0}


def path_audio(specs: torch.Tensor, audio_cfg: AudioConfig, n_gla: int = 0) -> torch.Tensor:
    """PGHI audio (N, L) of spectrograms (N, 1, H, W) (ggan_lib.audio.pghi.spectrogram_to_audio)."""
    return spectrogram_to_audio(specs[:, 0].detach().float().cpu(), audio_cfg, n_gla)


@torch.no_grad()
def interpolate_latent(G: nn.Module, code_a: torch.Tensor, code_b: torch.Tensor, n_steps: int = 8, *,
                       audio: bool = True, n_gla: int = 0, ends: tuple[str, str] = ("a", "b"),
                       device: torch.device | str | None = None) -> Interpolation:
    """Generate along (1 - t) code_a + t code_b with G in eval mode; audio via PGHI, smoothness of both."""
    dev = module_device(G, device)
    t, path = lerp_path(code_a.to(dev).float(), code_b.to(dev).float(), n_steps)
    with eval_mode(G.to(dev)):
        specs = G(path).float().cpu()
    wave, a_smooth = None, None
    if audio:
        cfg = AudioConfig(spec_shape=tuple(specs.shape[-2:]))
        wave = path_audio(specs, cfg, n_gla)
        a_smooth = path_smoothness(audio_to_spectrogram(wave, cfg, silent="floor"))
    return Interpolation(t.cpu(), path.cpu(), specs, wave, path_smoothness(specs), a_smooth, ends)


def _draw_z(cfg, n: int, seed: int) -> torch.Tensor:
    """n latents z from cfg.z_dist with a seeded CPU generator (ggan_lib.model.latent)."""
    return latent.sample_z(cfg, n, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def interpolate_ze(model: Any, c_a: int, c_b: int, n_steps: int = 8, seed: int = 0, z_same: bool = True, *,
                   G: nn.Module | None = None, audio: bool = True, n_gla: int = 0,
                   class_names: Sequence[str] | None = None,
                   device: torch.device | str | None = None) -> Interpolation:
    """GGAN: interpolate between ze_a = E(z_a, c_a) and ze_b = E(z_b, c_b) (z_b = z_a when z_same).

    model: a GGAN, a Trainer (its .model; pass G=trainer.sampling_g() for the EMA generator with standing BN
    statistics) or a loaded Pretrained (its G with standing statistics, as its sample() uses). Same class:
    c_a == c_b with z_same=False; different classes (or genders): c_a != c_b, z_same=True isolates
    the effect of the condition.
    """
    if G is None and hasattr(model, "standing_stats"):  # a loaded model (zoo.Pretrained): G as its sample() has it
        model.standing_stats()
    net = model.model if hasattr(model, "model") and not isinstance(model, nn.Module) else model
    G = net.G if G is None else G
    dev = module_device(net.E, device)
    z = _draw_z(net.cfg, 2, seed).to(dev)
    z_b = z[0] if z_same else z[1]
    c = torch.tensor([c_a, c_b], device=dev)
    with eval_mode(net.E.to(dev)):
        ze = net.E(torch.stack([z[0], z_b]), c)
    names = tuple(class_names[i] if class_names is not None else f"c={i}" for i in (c_a, c_b))
    return interpolate_latent(G, ze[0], ze[1], n_steps, audio=audio, n_gla=n_gla, ends=names, device=dev)


@torch.no_grad()
def interpolate_z(G: nn.Module, cfg, n_steps: int = 8, seed: int = 0, *, audio: bool = True, n_gla: int = 0,
                  device: torch.device | str | None = None) -> Interpolation:
    """Unsupervised BigGAN: interpolate between two seeded z (cfg: its ModelConfig)."""
    z = _draw_z(cfg, 2, seed)
    return interpolate_latent(G, z[0], z[1], n_steps, audio=audio, n_gla=n_gla, ends=("z_a", "z_b"),
                              device=device)
