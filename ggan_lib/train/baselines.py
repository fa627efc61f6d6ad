"""Training loops of the baselines (paper section IV-C, Appendix A/B): supervised and unsupervised
BigGAN, the post-hoc ALI encoder of the unsupervised BigGAN with its latent classifier, and the CNN.

Same habits as ggan_lib.train.ggan: a frozen config with presets, phases ``(name, modules, optimiser,
loss)``, a loop that only knows phases, seeded init and data/noise generator, a JSONL log, atomic
complete checkpoints (ggan_lib.io.checkpoint) and a NaN check before any optimiser step. During a phase
only the modules it owns build gradients and change state: borrowed networks run with
``requires_grad`` off, spectral-norm power iteration off (eval) and BatchNorm on batch statistics
without updating running statistics (as in trainer.Trainer).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as Fn
from torch import nn

from ggan_lib.io import checkpoint as ckpt
from ggan_lib.model.baselines import (ALIEncoder, ALIJointDiscriminator, CNNBaseline, ConditionalGenerator,
                                LatentClassifier, ProjectionDiscriminator, UnconditionalDiscriminator,
                                UnconditionalGenerator)
from ggan_lib.config import PRESETS, ModelConfig, PresetConfig
from ggan_lib.io.logs import MetricLogger
from ggan_lib.train.ggan import NonFiniteLossError, Phase, configure_cuda_backends, resolve_device
from ggan_lib.config import BASELINE_PRESETS, BaselineConfig  # noqa: F401  (re-exported)

# Fields that may differ when loading a checkpoint (they change how, not what, is computed).
RUNTIME_FIELDS = frozenset({"device", "log_every", "ckpt_every", "progress", "tensorboard", "cudnn_benchmark", "tf32"})
# BaselineConfig fields a GAN trainer never reads: a GAN checkpoint stays valid when only these change
NOT_GAN_FIELDS = frozenset({"lr_enc", "enc_k_disc", "enc_latent_recon", "lr_clf", "clf_betas",
                            "clf_weight_decay", "gan_iters", "enc_iters", "cnn_iters", "clf_iters"})




def _check_data(name: str, X: torch.Tensor, cfg: ModelConfig) -> None:
    """X must be (N, 1, H, W) with the model's spectrogram shape."""
    shape = (1, *cfg.spec_shape)
    if X.dim() != 4 or tuple(X.shape[1:]) != shape:
        raise ValueError(f"{name} must be (N, {', '.join(map(str, shape))}), got {tuple(X.shape)}")


def _check_labels(y: torch.Tensor, n: int, n_classes: int) -> None:
    """y must hold n labels in [0, n_classes)."""
    if len(y) != n or int(y.min()) < 0 or int(y.max()) >= n_classes:
        raise ValueError(f"labels must be {n} values in [0, {n_classes}), got {y.tolist()[:10]}...")


def _preset_name(cfg: ModelConfig) -> str:
    """"preset 'name'" of the ModelConfig preset equal to cfg, or "a custom ModelConfig"."""
    names = [n for n, p in PRESETS.items() if p == cfg]
    return f"preset {names[0]!r}" if names else "a custom ModelConfig"


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """BigGAN discriminator hinge loss relu(1 - D(x)) + relu(1 + D(x_hat)), minimised (as eq. 12)."""
    return Fn.relu(1 - real.float()).mean() + Fn.relu(1 + fake.float()).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """BigGAN generator hinge loss -D(x_hat) (as eq. 3)."""
    return -fake.float().mean()


class BaselineTrainer:
    """Shared loop of the baseline trainers: phases, modes, NaN check, log, checkpoints; subclasses add step()."""

    kind = "baseline"  # names the trainer in checkpoints (a CNN checkpoint never loads into a GAN trainer)
    unused_fields: frozenset[str] = frozenset()  # BaselineConfig fields this trainer ignores (not checked on load)

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, nets: dict[str, Callable[[], nn.Module]],
                 *, out_dir: str | os.PathLike | None = None):
        """nets: name -> constructor, called in order after seeding so the init is reproducible."""
        self.mcfg, self.cfg = model_cfg, cfg
        self.device = resolve_device(cfg.device)
        configure_cuda_backends(cfg, self.device)
        torch.manual_seed(cfg.seed)
        self.nets = {n: make().to(self.device) for n, make in nets.items()}
        self._bns = {n: [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
                     for n, net in self.nets.items()}
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1000 + 1)
        self.iteration = 0
        self.phases: dict[str, Phase] = {}
        self.last_checkpoint: Path | None = None
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.logger = MetricLogger(self.out_dir / "log.jsonl", cfg.tensorboard) if self.out_dir else None
        for net in self.nets.values():
            net.requires_grad_(False)

    def add_phase(self, name: str, owned: list[str], lr: float, betas: tuple[float, float],
                  loss: Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]],
                  weight_decay: float = 0.0) -> None:
        """Register a phase: the networks it owns, their Adam optimiser and its loss function."""
        mods = [self.nets[n] for n in owned]
        params = [p for m in mods for p in m.parameters()]
        opt = torch.optim.Adam(params, lr=lr, betas=betas, eps=self.cfg.adam_eps, weight_decay=weight_decay)
        self.phases[name] = Phase(name, mods, opt, loss)

    def _set_modes(self, owned: list[nn.Module]) -> None:
        """Owned modules train; borrowed ones: eval (no SN power step), BN on batch stats without tracking."""
        for name, net in self.nets.items():
            mine = any(net is o for o in owned)
            net.train(mine)
            net.requires_grad_(mine)
            for bn in self._bns[name]:
                bn.train(True)
                bn.track_running_stats = mine

    def _run(self, phase: Phase, *args) -> dict[str, float]:
        """zero_grad; owned modules on; loss; finite check; backward; step."""
        self._set_modes(phase.modules)
        phase.opt.zero_grad(set_to_none=True)
        loss, logs = phase.loss(*args)
        vals = self._check_finite(phase.name, logs)
        loss.backward()
        phase.opt.step()
        return vals

    def _check_finite(self, phase: str, logs: dict[str, torch.Tensor]) -> dict[str, float]:
        """Logged values as floats; NonFiniteLossError (before any step) if one is NaN / inf."""
        vals = torch.stack([v.detach().float() for v in logs.values()]).tolist()
        for name, v in zip(logs, vals):
            if not math.isfinite(v):
                where = f" (last good checkpoint: {self.last_checkpoint})" if self.last_checkpoint else ""
                raise NonFiniteLossError(f"{self.kind}: loss {name!r} is {v} at iteration {self.iteration} in "
                                         f"phase {phase}; no optimiser step was taken{where}")
        return dict(zip(logs, vals))

    def _normal(self, n: int) -> torch.Tensor:
        """n latents from cfg.z_dist with the trainer's generator."""
        if self.mcfg.z_dist == "normal":
            return torch.randn(n, self.mcfg.z_dim, generator=self.gen, device=self.device)
        return torch.rand(n, self.mcfg.z_dim, generator=self.gen, device=self.device) * 2 - 1

    def _rows(self, n_rows: int, n: int) -> torch.Tensor:
        """n random row indices (with replacement) from the trainer's generator."""
        return torch.randint(n_rows, (n,), generator=self.gen, device=self.device)

    def _eval(self) -> None:
        """All networks in eval mode with BN running statistics (sampling / inference)."""
        for name, net in self.nets.items():
            net.eval()
            for bn in self._bns[name]:
                bn.track_running_stats = True

    def step(self) -> dict[str, float]:
        """One iteration (subclasses)."""
        raise NotImplementedError

    def _adversarial_step(self, d_phase: str, g_phase: str, k: int) -> dict[str, float]:
        """k steps of the discriminator phase (their losses averaged), then one of the other phase."""
        t0 = time.perf_counter()
        ds = [self._run(self.phases[d_phase]) for _ in range(k)]
        out = {name: sum(d[name] for d in ds) / k for name in ds[0]}
        out.update(self._run(self.phases[g_phase]))
        return self._finish_step(out, t0)

    def _finish_step(self, out: dict[str, float], t0: float) -> dict[str, float]:
        """Count, log, checkpoint."""
        self.iteration += 1
        out["sec"] = time.perf_counter() - t0
        if self.logger is not None and self.iteration % self.cfg.log_every == 0:
            self.logger.log(self.iteration, out)
        if self.cfg.ckpt_every and self.out_dir is not None and self.iteration % self.cfg.ckpt_every == 0:
            self.save()  # only trainers with a run folder checkpoint periodically (protocol fits have none)
        return out

    def train(self, n_iters: int) -> dict[str, float]:
        """Run n_iters iterations with a tqdm bar; returns the last step's losses."""
        from tqdm.auto import tqdm
        out: dict[str, float] = {}
        bar = tqdm(range(n_iters), desc=self.kind, disable=not self.cfg.progress)
        for _ in bar:
            out = self.step()
            bar.set_postfix({k: f"{v:.3f}" for k, v in out.items() if k != "sec"}, refresh=False)
        self._eval()  # leave the networks ready for inference
        return out

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: kind, configs, networks, optimisers, RNGs, iteration."""
        return {"kind": self.kind, "iteration": self.iteration, "model_cfg": self.mcfg.to_json(),
                "train_cfg": json.dumps(self.cfg.to_dict()),
                "nets": {n: {k: v.detach().cpu() for k, v in net.state_dict().items()}
                         for n, net in self.nets.items()},
                "opts": {n: p.opt.state_dict() for n, p in self.phases.items()},
                "rng": ckpt.rng_state(), "data_rng": self.gen.get_state().cpu()}

    def load_state_dict(self, state: dict[str, Any], path: Any = "<state>") -> None:
        """Restore a state_dict(); kind, configs and shapes must match (a clear error naming both otherwise)."""
        if state.get("kind") != self.kind:
            raise ckpt.CheckpointMismatchError(f"{path}: checkpoint of a {state.get('kind')!r} trainer, "
                                               f"current trainer is {self.kind!r}")
        saved_cfg = ModelConfig.from_json(state["model_cfg"])
        try:
            ckpt.check_config("ModelConfig", saved_cfg.to_dict(), self.mcfg.to_dict(), path)
        except ckpt.CheckpointMismatchError as e:
            raise ckpt.CheckpointMismatchError(f"{e}\n(checkpoint: {_preset_name(saved_cfg)}, current: "
                                               f"{_preset_name(self.mcfg)})") from None
        ckpt.check_config("BaselineConfig", json.loads(state["train_cfg"]), self.cfg.to_dict(), path,
                          RUNTIME_FIELDS | self.unused_fields)
        saved = {f"{n}.{k}": v for n, sd in state["nets"].items() for k, v in sd.items()}
        current = {f"{n}.{k}": v for n, net in self.nets.items() for k, v in net.state_dict().items()}
        ckpt.check_shapes(saved, current, path)
        for n, net in self.nets.items():
            net.load_state_dict(state["nets"][n])
        for n, p in self.phases.items():
            p.opt.load_state_dict(state["opts"][n])
        ckpt.set_rng_state(state["rng"])
        self.gen.set_state(state["data_rng"])
        self.iteration = int(state["iteration"])
        if self.logger is not None:
            self.logger.truncate_after(self.iteration)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Atomic checkpoint (default out_dir/<kind>.pt)."""
        if path is None:
            if self.out_dir is None:
                raise ValueError("save() needs a path when the trainer has no out_dir")
            path = self.out_dir / f"{self.kind}.pt"
        self.last_checkpoint = ckpt.save_checkpoint(path, self.state_dict())
        return self.last_checkpoint

    def load(self, path: str | os.PathLike) -> None:
        """Load a checkpoint written by save() (same kind and configs)."""
        self.load_state_dict(ckpt.load_checkpoint(path), path)
        self.last_checkpoint = Path(path)

    def close(self) -> None:
        """Close the metric logger."""
        if self.logger is not None:
            self.logger.close()


class SupervisedGANTrainer(BaselineTrainer):
    """Supervised BigGAN (Appendix A): ConditionalGenerator + ProjectionDiscriminator, hinge, k D steps per G step."""

    kind = "supervised_biggan"
    unused_fields = NOT_GAN_FIELDS

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, X: torch.Tensor, y: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """X (N, 1, H, W) in [-1, 1] with labels y (N,): the labelled training data."""
        _check_data("X", X, model_cfg)
        _check_labels(y, len(X), model_cfg.n_classes)
        super().__init__(model_cfg, cfg, {"G": lambda: ConditionalGenerator(cfg=model_cfg),
                                          "D": lambda: ProjectionDiscriminator(cfg=model_cfg)}, out_dir=out_dir)
        self.X, self.y = X.to(self.device, torch.float32), y.to(self.device, torch.long)
        self.add_phase("D", ["D"], cfg.lr_d, cfg.betas, self.loss_d)
        self.add_phase("G", ["G"], cfg.lr_g, cfg.betas, self.loss_g)

    def _classes(self, n: int) -> torch.Tensor:
        """Generated classes: uniform over n_classes."""
        return torch.randint(self.mcfg.n_classes, (n,), generator=self.gen, device=self.device)

    def loss_d(self):
        """Hinge on D(x, y) vs D(G(z, c), c) (fakes without gradient)."""
        m = self.cfg.batch_size
        i, c = self._rows(len(self.X), m), self._classes(m)
        with torch.no_grad():
            xh = self.nets["G"](self._normal(m), c)
        real, fake = self.nets["D"](torch.cat([self.X[i], xh]), torch.cat([self.y[i], c])).split(m)
        loss = hinge_d_loss(real, fake)
        return loss, {"d": loss, "d_real": real.mean(), "d_fake": fake.mean()}

    def loss_g(self):
        """-D(G(z, c), c)."""
        m = self.cfg.batch_size
        c = self._classes(m)
        loss = hinge_g_loss(self.nets["D"](self.nets["G"](self._normal(m), c), c))
        return loss, {"g": loss}

    def step(self) -> dict[str, float]:
        """k D steps, then one G step."""
        return self._adversarial_step("D", "G", self.cfg.k_disc)

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
        """n spectrograms G(z, c) in eval mode for classes c (default 0..n-1 mod n_classes)."""
        g = torch.Generator(device=self.device).manual_seed(seed)
        z = torch.randn(n, self.mcfg.z_dim, generator=g, device=self.device)
        c = torch.arange(n, device=self.device) % self.mcfg.n_classes if c is None else c.to(self.device)
        self._eval()
        return self.nets["G"](z, c)


class UnsupervisedGANTrainer(SupervisedGANTrainer):
    """Unsupervised BigGAN (Appendix B): UnconditionalGenerator + UnconditionalDiscriminator, hinge, same lrs."""

    kind = "unsupervised_biggan"

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, X: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """X (N, 1, H, W) in [-1, 1]: all the (unlabelled) training data."""
        _check_data("X", X, model_cfg)
        BaselineTrainer.__init__(self, model_cfg, cfg, {"G": lambda: UnconditionalGenerator(cfg=model_cfg),
                                                        "D": lambda: UnconditionalDiscriminator(cfg=model_cfg)},
                                 out_dir=out_dir)
        self.X = X.to(self.device, torch.float32)
        self.add_phase("D", ["D"], cfg.lr_d, cfg.betas, self.loss_d)
        self.add_phase("G", ["G"], cfg.lr_g, cfg.betas, self.loss_g)

    def loss_d(self):
        """Hinge on D(x) vs D(G(z)) (fakes without gradient)."""
        m = self.cfg.batch_size
        x = self.X[self._rows(len(self.X), m)]
        with torch.no_grad():
            xh = self.nets["G"](self._normal(m))
        real, fake = self.nets["D"](torch.cat([x, xh])).split(m)
        loss = hinge_d_loss(real, fake)
        return loss, {"d": loss, "d_real": real.mean(), "d_fake": fake.mean()}

    def loss_g(self):
        """-D(G(z))."""
        loss = hinge_g_loss(self.nets["D"](self.nets["G"](self._normal(self.cfg.batch_size))))
        return loss, {"g": loss}

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n spectrograms G(z) in eval mode."""
        g = torch.Generator(device=self.device).manual_seed(seed)
        self._eval()
        return self.nets["G"](torch.randn(n, self.mcfg.z_dim, generator=g, device=self.device))


class ALIEncoderTrainer(BaselineTrainer):
    """Post-hoc ALI / BiGAN encoder x -> z for a trained, frozen unsupervised G (paper section IV-C, ref [4]).

    The joint discriminator sees (G(z), z) as "real" and (x, E(x)) as "fake" (the convention of the GGAN's
    Df, eq. 13); the encoder makes (x, E(x)) pass for a generated pair. G runs in eval mode (BN running
    statistics: the sampler a user of the trained GAN gets) and is never updated.
    """

    kind = "ali_encoder"

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, G: nn.Module, X: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """G: a trained UnconditionalGenerator (its weights are copied into the trainer); X: all training data."""
        _check_data("X", X, model_cfg)
        g_state = {k: v.detach().clone() for k, v in G.state_dict().items()}

        def frozen_g() -> nn.Module:
            g = UnconditionalGenerator(cfg=model_cfg)
            g.load_state_dict(g_state)
            return g

        super().__init__(model_cfg, cfg, {"E": lambda: ALIEncoder(cfg=model_cfg),
                                          "Dxz": lambda: ALIJointDiscriminator(cfg=model_cfg),
                                          "G": frozen_g}, out_dir=out_dir)
        self.X = X.to(self.device, torch.float32)
        self.add_phase("Dxz", ["Dxz"], cfg.lr_enc, cfg.betas, self.loss_dxz)
        self.add_phase("E", ["E"], cfg.lr_enc, cfg.betas, self.loss_e)

    def _set_modes(self, owned: list[nn.Module]) -> None:
        """As the base class, but G always in full eval mode (fixed sampler)."""
        super()._set_modes(owned)
        for bn in self._bns["G"]:
            bn.train(False)
            bn.track_running_stats = True

    @torch.no_grad()
    def _generated_pairs(self, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(G(z), z) for m fresh latents."""
        z = self._normal(m)
        return self.nets["G"](z), z

    def loss_dxz(self):
        """Hinge: relu(1 - Dxz(G(z), z)) + relu(1 + Dxz(x, E(x)))."""
        m = self.cfg.batch_size
        xh, z = self._generated_pairs(m)
        x = self.X[self._rows(len(self.X), m)]
        with torch.no_grad():
            ex = self.nets["E"](x)
        gen, enc = self.nets["Dxz"](torch.cat([z, ex]), x=torch.cat([xh, x])).split(m)
        loss = hinge_d_loss(gen, enc)
        return loss, {"dxz": loss, "dxz_gen": gen.mean(), "dxz_enc": enc.mean()}

    def loss_e(self):
        """-Dxz(x, E(x)) (+ enc_latent_recon * ||E(G(z)) - z||^2, an optional stabiliser; 0 = pure ALI)."""
        m = self.cfg.batch_size
        x = self.X[self._rows(len(self.X), m)]
        adv = hinge_g_loss(self.nets["Dxz"](self.nets["E"](x), x=x))
        logs = {"e_adv": adv}
        loss = adv
        if self.cfg.enc_latent_recon > 0:
            xh, z = self._generated_pairs(m)
            rec = (self.nets["E"](xh) - z).pow(2).sum(1).mean()
            loss = adv + self.cfg.enc_latent_recon * rec
            logs["e_rec"] = rec
        return loss, {"e": loss, **logs}

    def step(self) -> dict[str, float]:
        """enc_k_disc joint-D steps, then one encoder step."""
        return self._adversarial_step("Dxz", "E", self.cfg.enc_k_disc)

    @property
    def encoder(self) -> nn.Module:
        """The encoder E: x (B, 1, H, W) -> z (B, z_dim)."""
        return self.nets["E"]


class _ClassifierTrainer(BaselineTrainer):
    """Cross-entropy training of one network on (inputs, labels) mini-batches drawn with replacement."""

    def _setup(self, inputs: torch.Tensor, y: torch.Tensor) -> None:
        """Keep the data on the device and register the single phase."""
        _check_labels(y, len(inputs), self.mcfg.n_classes)
        self.inputs, self.y = inputs.to(self.device, torch.float32), y.to(self.device, torch.long)
        self.add_phase("C", ["net"], self.cfg.lr_clf, self.cfg.clf_betas, self.loss_c, self.cfg.clf_weight_decay)

    def loss_c(self):
        """Cross entropy on a mini-batch."""
        i = self._rows(len(self.inputs), self.cfg.batch_size)
        logits = self.nets["net"](self.inputs[i])
        loss = Fn.cross_entropy(logits.float(), self.y[i])
        acc = (logits.argmax(1) == self.y[i]).float().mean()
        return loss, {"ce": loss, "batch_acc": acc}

    def step(self) -> dict[str, float]:
        """One optimiser step."""
        t0 = time.perf_counter()
        return self._finish_step(self._run(self.phases["C"]), t0)

    @property
    def model(self) -> nn.Module:
        """The trained network."""
        return self.nets["net"]


class CNNTrainer(_ClassifierTrainer):
    """The CNN baseline (D trunk + F + Cx, section IV-C) trained with cross entropy on the labelled data only."""

    kind = "cnn_baseline"

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, Xl: torch.Tensor, yl: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """Xl (Nl, 1, H, W), yl (Nl,): the labelled fraction (or all of the training set for the 100 % row)."""
        _check_data("Xl", Xl, model_cfg)
        super().__init__(model_cfg, cfg, {"net": lambda: CNNBaseline(cfg=model_cfg)}, out_dir=out_dir)
        self._setup(Xl, yl)


class LatentClassifierTrainer(_ClassifierTrainer):
    """The classifier on top of the ALI encoder: Table XIII's MLP on E(x_labelled) (features precomputed)."""

    kind = "latent_classifier"

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, Zl: torch.Tensor, yl: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """Zl (Nl, z_dim) = E(xl), yl (Nl,)."""
        if Zl.dim() != 2 or Zl.shape[1] != model_cfg.z_dim:
            raise ValueError(f"Zl must be (N, {model_cfg.z_dim}), got {tuple(Zl.shape)}")
        super().__init__(model_cfg, cfg, {"net": lambda: LatentClassifier(cfg=model_cfg)}, out_dir=out_dir)
        self._setup(Zl, yl)


class EncoderClassifier(nn.Module):
    """x -> logits = classifier(encoder(x)): the unsupervised-BigGAN representation baseline as one module."""

    def __init__(self, encoder: nn.Module, classifier: nn.Module):
        super().__init__()
        self.encoder, self.classifier = encoder, classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> logits (B, n_classes)."""
        return self.classifier(self.encoder(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> z = E(x) (B, z_dim)."""
        return self.encoder(x)


@torch.no_grad()
def encode(encoder: nn.Module, X: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """E(X) in eval mode, batched on the encoder's device; returns (N, z_dim) on that device."""
    dev = next(encoder.parameters()).device
    was = encoder.training
    encoder.eval()
    out = torch.cat([encoder(X[i:i + batch_size].to(dev, torch.float32)) for i in range(0, len(X), batch_size)])
    encoder.train(was)
    return out


def train_cnn(model_cfg: ModelConfig, cfg: BaselineConfig, Xl: torch.Tensor, yl: torch.Tensor,
              n_iters: int | None = None) -> CNNBaseline:
    """Train the CNN baseline on (Xl, yl) for n_iters (default cfg.cnn_iters); returns it in eval mode."""
    tr = CNNTrainer(model_cfg, cfg, Xl, yl)
    tr.train(cfg.cnn_iters if n_iters is None else n_iters)
    return tr.model


def train_latent_classifier(model_cfg: ModelConfig, cfg: BaselineConfig, encoder: nn.Module, Xl: torch.Tensor,
                            yl: torch.Tensor, n_iters: int | None = None) -> EncoderClassifier:
    """Classifier on the frozen encoder's E(Xl) (default cfg.clf_iters steps); returns encoder + classifier."""
    tr = LatentClassifierTrainer(model_cfg, cfg, encode(encoder, Xl), yl)
    tr.train(cfg.clf_iters if n_iters is None else n_iters)
    return EncoderClassifier(encoder, tr.model.to(next(encoder.parameters()).device)).eval()


def train_stage(trainer: BaselineTrainer, n_iters: int, log=print) -> BaselineTrainer:
    """Train to n_iters in total, first resuming from trainer.out_dir/<kind>.pt when it holds <= n_iters
    iterations of the same configuration (a killed or finished earlier run of this folder); else from scratch."""
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
    trainer.train(max(0, n_iters - trainer.iteration))
    return trainer


def train_unsupervised_baseline(model_cfg: ModelConfig, cfg: BaselineConfig, X: torch.Tensor,
                                gan_iters: int | None = None, enc_iters: int | None = None,
                                out_dir: str | os.PathLike | None = None) -> tuple[nn.Module, nn.Module]:
    """Unsupervised BigGAN on X, then its ALI encoder with G frozen; returns (G, encoder) in eval mode.

    With out_dir, each stage resumes from its checkpoint there (train_stage), so a rerun after a
    change of the encoder's settings reuses the finished GAN."""
    sub = (lambda name: Path(out_dir) / name) if out_dir is not None else (lambda name: None)
    gan = train_stage(UnsupervisedGANTrainer(model_cfg, cfg, X, out_dir=sub("gan")),
                      cfg.gan_iters if gan_iters is None else gan_iters)
    if out_dir is not None:
        gan.save()
    ali = train_stage(ALIEncoderTrainer(model_cfg, cfg, gan.nets["G"], X, out_dir=sub("encoder")),
                      cfg.enc_iters if enc_iters is None else enc_iters)
    if out_dir is not None:
        ali.save()
    gan.close()
    ali.close()
    return gan.nets["G"].eval(), ali.encoder.eval()
