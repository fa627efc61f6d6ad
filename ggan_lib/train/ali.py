"""The post-hoc ALI / BiGAN encoder x -> z of a trained, frozen unsupervised BigGAN (paper section IV-C, ref [4])."""
from __future__ import annotations

import os

import torch
from torch import nn

from ggan_lib import losses as L  # called as L.name so tests can monkeypatch a loss
from ggan_lib.config import BaselineConfig, ModelConfig
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.model.baselines import ALIEncoder, ALIJointDiscriminator, UnconditionalGenerator
from ggan_lib.train.baseline_trainer import BaselineTrainer, check_data


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
        check_data("X", X, model_cfg)
        g_state = {k: v.detach().clone() for k, v in G.state_dict().items()}

        def frozen_g() -> nn.Module:
            g = UnconditionalGenerator(cfg=model_cfg)
            g.load_state_dict(g_state)
            return g

        super().__init__(model_cfg, cfg, {"E": lambda: ALIEncoder(cfg=model_cfg),
                                          "Dxz": lambda: ALIJointDiscriminator(cfg=model_cfg),
                                          "G": frozen_g}, out_dir=out_dir)
        self.X = X.to(self.device, torch.float32)
        self.add_adam_phase("Dxz", ["Dxz"], cfg.lr_enc, cfg.betas, self.loss_dxz)
        self.add_adam_phase("E", ["E"], cfg.lr_enc, cfg.betas, self.loss_e)
        self.keep_path_average(["E"])  # E(x) is the representation the latent classifier is scored on

    def set_modes(self, owned: list[nn.Module]) -> None:
        """As the engine's, but G always in full eval mode (fixed sampler)."""
        super().set_modes(owned)
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
        loss = L.hinge_d_loss(gen, enc)
        return loss, {"dxz": loss, "dxz_gen": gen.mean(), "dxz_enc": enc.mean()}

    def loss_e(self):
        """-Dxz(x, E(x)) (+ enc_latent_recon * ||E(G(z)) - z||^2, an optional stabiliser; 0 = pure ALI)."""
        m = self.cfg.batch_size
        x = self.X[self._rows(len(self.X), m)]
        adv = L.hinge_g_loss(self.nets["Dxz"](self.nets["E"](x), x=x))
        logs = {"e_adv": adv}
        loss = adv
        if self.cfg.enc_latent_recon > 0:
            xh, z = self._generated_pairs(m)
            rec = (self.nets["E"](xh) - z).pow(2).sum(1).mean()
            loss = adv + self.cfg.enc_latent_recon * rec
            logs["e_rec"] = rec
        return loss, {"e": loss, **logs}

    def _check_compatible(self, state, path) -> None:
        """As BaselineTrainer's, and the checkpoint's frozen G must be this trainer's: an encoder trained
        against another G (the GAN trained on since, or retrained) is not resumed (train_stage starts afresh)."""
        super()._check_compatible(state, path)
        saved, current = state["nets"]["G"], self.nets["G"].state_dict()
        if any(not torch.equal(saved[k].cpu(), v.cpu()) for k, v in current.items()):
            raise ckpt.CheckpointMismatchError(f"{path}: this encoder was trained against another generator "
                                               "(the GAN has changed since)")

    def step(self) -> dict[str, float]:
        """enc_k_disc joint-D steps, then one encoder step."""
        return self._adversarial_step("Dxz", "E", self.cfg.enc_k_disc)

    @property
    def encoder(self) -> nn.Module:
        """The encoder E: x (B, 1, H, W) -> z (B, z_dim), as it is scored: its average
        (BaselineConfig.clf_ema_decay) or, without one, the live E."""
        return self.scored("E")
