"""The shared loop of the baselines' trainers (paper section IV-C, Appendix A/B) on the phase engine.

Same habits as ggan_lib.train.ggan: a frozen config with presets (ggan_lib.config.BaselineConfig),
phases ``(name, modules, optimiser, loss)`` run by ggan_lib.train.engine (owned networks train,
borrowed ones run with ``requires_grad`` off, eval for spectral norm, BatchNorm on batch statistics
without updating running statistics), seeded init and data/noise generator, a JSONL log, atomic
complete checkpoints tagged with the trainer's ``kind`` and a NaN check before any optimiser step.
The trainers: ggan_lib.train.gan (BigGANs), .ali (the ALI encoder), .classifiers (CNN, latent MLP).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

import torch
from torch import nn

from ggan_lib.config import PRESETS, BaselineConfig, ModelConfig
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.model.latent import sample_z
from ggan_lib.train.ema import PathEMA, path_ema
from ggan_lib.train.engine import PhaseEngine, configure_cuda_backends, resolve_device

# Fields that may differ when loading a checkpoint (they change how, not what, is computed).
RUNTIME_FIELDS = frozenset({"device", "log_every", "ckpt_every", "progress", "tensorboard", "cudnn_benchmark", "tf32",
                            "ema_standing_batches"})
# BaselineConfig fields of the BigGANs' EMA of G: the encoder and the classifiers never read them
EMA_FIELDS = frozenset({"ema", "ema_decay", "ema_start", "ema_warmup", "ema_standing_batches"})
# BaselineConfig fields a GAN trainer never reads: a GAN checkpoint stays valid when only these change
NOT_GAN_FIELDS = frozenset({"lr_enc", "enc_k_disc", "enc_latent_recon", "lr_clf", "clf_betas",
                            "clf_weight_decay", "gan_iters", "enc_iters", "cnn_iters", "clf_iters", "clf_ema_decay"})


def check_data(name: str, X: torch.Tensor, cfg: ModelConfig) -> None:
    """X must be (N, 1, H, W) with the model's spectrogram shape."""
    shape = (1, *cfg.spec_shape)
    if X.dim() != 4 or tuple(X.shape[1:]) != shape:
        raise ValueError(f"{name} must be (N, {', '.join(map(str, shape))}), got {tuple(X.shape)}")


def check_labels(y: torch.Tensor, n: int, n_classes: int) -> None:
    """y must hold n labels in [0, n_classes)."""
    if len(y) != n or int(y.min()) < 0 or int(y.max()) >= n_classes:
        raise ValueError(f"labels must be {n} values in [0, {n_classes}), got {y.tolist()[:10]}...")


def _preset_name(cfg: ModelConfig) -> str:
    """"preset 'name'" of the ModelConfig preset equal to cfg, or "a custom ModelConfig"."""
    names = [n for n, p in PRESETS.items() if p == cfg]
    return f"preset {names[0]!r}" if names else "a custom ModelConfig"


class BaselineTrainer(PhaseEngine):
    """Shared loop of the baseline trainers: networks, phases, log, checkpoints; subclasses add step()."""

    kind = "baseline"  # names the trainer in checkpoints (a CNN checkpoint never loads into a GAN trainer)
    clf_ema: PathEMA | None = None  # the scored networks' average (keep_path_average), checkpointed (as Trainer.clf_ema)
    unused_fields: frozenset[str] = EMA_FIELDS  # BaselineConfig fields this trainer ignores (not checked on load)

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, nets: dict[str, Callable[[], nn.Module]],
                 *, out_dir: str | os.PathLike | None = None):
        """nets: name -> constructor, called in order after seeding so the init is reproducible."""
        self.mcfg, self.cfg = model_cfg, cfg
        self.init_engine(resolve_device(cfg.device))  # one process: the baselines run without torchrun
        configure_cuda_backends(cfg, self.device)
        torch.manual_seed(cfg.seed)
        self.set_networks({n: make().to(self.device) for n, make in nets.items()})
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1000 + 1)
        self.open_log(out_dir, cfg.tensorboard)
        self.freeze_all()

    @property
    def ckpt_name(self) -> str:
        """save()'s default file in out_dir: <kind>.pt."""
        return f"{self.kind}.pt"

    def add_adam_phase(self, name: str, owned: list[str], lr: float, betas: tuple[float, float],
                       loss: Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]],
                       weight_decay: float = 0.0) -> None:
        """Register a phase: the networks it owns, their Adam optimiser (eps = cfg.adam_eps) and its loss."""
        self.add_phase(name, owned, loss, lr=lr, betas=betas, eps=self.cfg.adam_eps, weight_decay=weight_decay)

    def keep_path_average(self, names: list[str]) -> None:
        """Average the networks ``names`` after every step (cfg.clf_ema_decay, ggan_lib.train.ema.PathEMA;
        0: none) for :meth:`scored`; called by the trainers whose networks are scored (CNN, ALI, classifier)."""
        self.clf_ema = path_ema({n: self.nets[n] for n in names}, self.cfg.clf_ema_decay, self.cfg.ema_warmup)

    def scored(self, name: str) -> nn.Module:
        """Network ``name`` as it is scored: its average when the trainer keeps one, else the live network."""
        return self.clf_ema.nets[name] if self.clf_ema is not None else self.nets[name]

    def _normal(self, n: int) -> torch.Tensor:
        """n latents from the prior (ModelConfig.z_dist) with the trainer's generator."""
        return sample_z(self.mcfg, n, generator=self.gen, device=self.device)

    def _rows(self, n_rows: int, n: int) -> torch.Tensor:
        """n random row indices (with replacement) from the trainer's generator."""
        return torch.randint(n_rows, (n,), generator=self.gen, device=self.device)

    def step(self) -> dict[str, float]:
        """One iteration (subclasses)."""
        raise NotImplementedError

    def _adversarial_step(self, d_phase: str, g_phase: str, k: int,
                          after: Callable[[], None] | None = None) -> dict[str, float]:
        """k steps of the discriminator phase (their losses averaged), then one of the other phase, then
        ``after()`` (the BigGANs' EMA update) before the iteration is counted and checkpointed."""
        t0 = time.perf_counter()
        ds = [self.run_step(self.phases[d_phase]) for _ in range(k)]
        out = {name: sum(d[name] for d in ds) / k for name in ds[0]}
        out.update(self.run_step(self.phases[g_phase]))
        if after is not None:
            after()
        return self._finish_step(out, t0)

    def _finish_step(self, out: dict[str, float], t0: float) -> dict[str, float]:
        """Average the scored networks, count, log, checkpoint."""
        if self.clf_ema is not None:
            self.clf_ema.update(self.nets, self.iteration)
        self.iteration += 1
        out["sec"] = time.perf_counter() - t0
        self.log_step(out)
        if self.checkpoint_due() and self.out_dir is not None:
            self.save()  # only trainers with a run folder checkpoint periodically (protocol fits have none)
        return out

    def train(self, n_iters: int) -> dict[str, float]:
        """Run n_iters iterations with a tqdm bar; returns the last step's losses."""
        out: dict[str, float] = {}
        bar = self.progress(n_iters, self.kind)
        for _ in bar:
            out = self.step()
            bar.set_postfix({k: f"{v:.3f}" for k, v in out.items() if k != "sec"}, refresh=False)
        self.eval_mode()  # leave the networks ready for inference
        return out

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: kind, configs, networks, optimisers, RNGs, iteration."""
        return {"kind": self.kind, "iteration": self.iteration, "model_cfg": self.mcfg.to_json(),
                "train_cfg": json.dumps(self.cfg.to_dict()),
                "nets": {n: {k: v.detach().cpu() for k, v in net.state_dict().items()}
                         for n, net in self.nets.items()},
                "opts": self.opt_states(),
                "rng": ckpt.rng_state(), "data_rng": self.gen.get_state().cpu(),
                **({"ema_clf": self.clf_ema.state_dict()} if self.clf_ema is not None else {})}

    def _check_compatible(self, state: dict[str, Any], path: Any) -> None:
        """Kind, ModelConfig (naming both presets), BaselineConfig and tensor shapes of a checkpoint must match."""
        if state.get("kind") != self.kind:
            raise ckpt.CheckpointMismatchError(f"{path}: checkpoint of a {state.get('kind')!r} trainer, "
                                               f"current trainer is {self.kind!r}")
        saved_cfg = ModelConfig.from_json(state["model_cfg"])
        try:
            ckpt.check_config("ModelConfig", saved_cfg.to_dict(), self.mcfg.to_dict(), path)
        except ckpt.CheckpointMismatchError as e:
            raise ckpt.CheckpointMismatchError(f"{e}\n(checkpoint: {_preset_name(saved_cfg)}, current: "
                                               f"{_preset_name(self.mcfg)})") from None
        try:  # a field older files lack reads back as those runs had it (config.training.BASELINE_LEGACY_FIELDS)
            saved_train = BaselineConfig.from_dict(json.loads(state["train_cfg"])).to_dict()
        except (KeyError, TypeError, ValueError) as err:
            raise ckpt.CheckpointMismatchError(f"{path}: its BaselineConfig does not fit this version: {err}") from err
        ignore = RUNTIME_FIELDS | self.unused_fields
        if not saved_train["ema"] and not self.cfg.ema:  # no EMA on either side: its settings mean nothing
            ignore |= EMA_FIELDS
        if self.clf_ema is not None:  # the scored networks' average ramps up with ema_warmup
            ignore -= {"ema_warmup"}
        ckpt.check_config("BaselineConfig", saved_train, self.cfg.to_dict(), path, ignore)
        saved = {f"{n}.{k}": v for n, sd in state["nets"].items() for k, v in sd.items()}
        current = {f"{n}.{k}": v for n, net in self.nets.items() for k, v in net.state_dict().items()}
        ckpt.check_shapes(saved, current, path)

    def load_state_dict(self, state: dict[str, Any], path: Any = "<state>") -> None:
        """Restore a state_dict(); kind, configs and shapes must match (a clear error naming both otherwise)."""
        self._check_compatible(state, path)
        for n, net in self.nets.items():
            net.load_state_dict(state["nets"][n])
        if self.clf_ema is not None:
            self.clf_ema.load_state_dict(state["ema_clf"])
        self.gen.set_state(state["data_rng"])
        self.load_common(state)  # optimisers, RNGs, iteration; the log cut back to it
