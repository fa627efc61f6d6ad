"""Algorithm 1's five phases, wired: which batch each uses, which networks it calls, which loss (eq. 6-13).

Batches (Algorithm 1 step 3, drawn with replacement from in-memory tensors by one torch.Generator,
latents through ggan_lib.model.latent): 2m z, m c, 2m x, m (xl, yl). The D steps use z[:m] and x[:m]
against m fakes, generated once per k-step and shared by D1, D2 and Df; ECG uses all 2m (z1, z2 with
the same c for eq. 5's x_hat1, x_hat2, and x1, x2 for its real pairs); FC uses m of each on fresh fakes.

:class:`Algorithm1Phases` is the half of ggan_lib.train.ggan.Trainer that says what each phase computes;
the loop (k D steps, ECG, FC), checkpoints and evaluation are in ggan_lib.train.ggan. Losses are called
as ``L.name`` so tests can monkeypatch one.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ggan_lib import losses as L
from ggan_lib.model.latent import sample_classes, sample_z
from ggan_lib.train.engine import PhaseEngine

PHASES = ("D1", "D2", "Df", "ECG", "FC")


class Batch(NamedTuple):
    """One Algorithm-1 step-3 sample (m per rank): z (2m, z_dim), c (m,), x (2m, 1, H, W), xl (m, 1, H, W), yl (m,)."""

    z: torch.Tensor
    c: torch.Tensor
    x: torch.Tensor
    xl: torch.Tensor
    yl: torch.Tensor


class Algorithm1Phases(PhaseEngine):
    """The GGAN's phases on the engine: batches, the shared fakes, and the five loss functions.

    Expects (set by the Trainer): mcfg, cfg, m (per-rank batch), gen, X, Xl, yl, mem_format,
    g_forward_calls and the dict _shared (tensors one phase hands to a later one).
    """

    def sample_batch(self) -> Batch:
        """Algorithm 1 step 3 (per rank): 2m z, m c, 2m x, m labelled (xl, yl), all from self.gen."""
        m, g, dev = self.m, self.gen, self.device
        z = sample_z(self.mcfg, 2 * m, generator=g, device=dev)
        c = sample_classes(self.mcfg, m, generator=g, device=dev)
        x = self.X[torch.randint(len(self.X), (2 * m,), generator=g, device=dev)]
        il = torch.randint(len(self.Xl), (m,), generator=g, device=dev)
        fmt = self.mem_format
        return Batch(z, c, x.contiguous(memory_format=fmt), self.Xl[il].contiguous(memory_format=fmt), self.yl[il])

    def build_phases(self, owned: dict[str, list]) -> None:
        """One Adam per phase over the modules it owns (GGAN.phase_modules()); ECG, FC at lr_g unless equal_lrs."""
        c = self.cfg
        lrs = {"D1": c.lr_d, "D2": c.lr_d, "Df": c.lr_d,
               "ECG": c.lr_d if c.equal_lrs else c.lr_g, "FC": c.lr_d if c.equal_lrs else c.lr_g}
        fns = {"D1": self.loss_d1, "D2": self.loss_d2, "Df": self.loss_df, "ECG": self.loss_ecg, "FC": self.loss_fc}
        for name in PHASES:
            # fused Adam on CUDA: one kernel for all parameters of the phase
            self.add_phase(name, list(owned[name]), fns[name], lr=lrs[name], betas=c.betas, eps=c.adam_eps,
                           fused=True if self.device.type == "cuda" else None)

    def _generate(self, z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ze = E(z, c), x_hat = G(ze); counts generator forward passes."""
        self.g_forward_calls += 1
        ze = self.nets["E"](z, c)
        return ze, self.nets["G"](ze)

    def _fakes(self, b: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """One G forward (m samples, no grad) shared by the D1, D2 and Df steps of one k-step."""
        self.set_modes([])
        with torch.no_grad(), self.autocast():
            return self._generate(b.z[: self.m], b.c)

    def loss_d1(self, b: Batch, ze, xh):
        """Eq. 11 on D, D': hinge on x vs x_hat plus Cl on (xl, yl) through frozen F, Cx."""
        n = self.m
        D, Dp, F_, Cx = (self.nets[k] for k in ("D", "Dp", "F", "Cx"))
        # one trunk call for all three batches: D has no BatchNorm, so this equals three calls
        dx, dxh, dxl = D(torch.cat([b.x[:n], xh, b.xl])).split(n)
        real, fake = Dp(dx), Dp(dxh)
        cl_in = dxl if self.mcfg.cl_grad_through_f_cx else dxl.detach()
        cl = L.cl_loss(Cx(F_(cl_in)), b.yl)
        self._shared.update(dx=dx.detach(), dxh=dxh.detach())  # for df_fresh_features=False
        loss = L.d1_loss(real, fake, cl)
        return loss, {"d1": loss, "d1_cl": cl, "d1_real": real.float().mean(), "d1_fake": fake.float().mean()}

    def loss_d2(self, b: Batch, ze, xh):
        """Eq. 12 on D2."""
        n = self.m
        real, fake = self.nets["D2"](torch.cat([b.x[:n], xh])).split(n)
        loss = L.d2_loss(real, fake)
        return loss, {"d2": loss, "d2_real": real.float().mean(), "d2_fake": fake.float().mean()}

    def loss_df(self, b: Batch, ze, xh):
        """Eq. 13 on Df with detached features: (fx, dx) "fake", (ze, dx_hat) "real"."""
        n, x = self.m, b.x[: self.m]
        with torch.no_grad():  # Df owns none of D, F, E: their outputs are inputs here
            if self.cfg.df_fresh_features or "dx" not in self._shared:
                dx, dxh = self.nets["D"](torch.cat([x, xh])).split(n)
            else:
                dx, dxh = self._shared["dx"], self._shared["dxh"]
            fx = self.nets["F"](dx)
        xs = torch.cat([x, xh]) if self.mcfg.df_own_trunk else None  # images only for Df's own trunk
        s_fx, s_ze = self.nets["Df"](torch.cat([fx, ze]), torch.cat([dx, dxh]), xs).split(n)
        loss = L.df_loss(s_fx, s_ze)
        return loss, {"df": loss, "df_fx": s_fx.float().mean(), "df_ze": s_ze.float().mean()}

    def loss_ecg(self, b: Batch):
        """Eq. 6 on E, Ce, G: 2m fakes from z1, z2 sharing c, one G forward."""
        n = self.m
        D, Dp, D2, F_, Cx = (self.nets[k] for k in ("D", "Dp", "D2", "F", "Cx"))
        cc = torch.cat([b.c, b.c])
        ze, xh = self._generate(b.z, cc)
        dxh = D(xh)
        with torch.no_grad():
            dx = D(b.x)  # real features for eq. 5: no gradient by definition
        ec = L.ec_loss(self.nets["Ce"](ze), cc)
        g1, g2 = L.g1_loss(Dp(dxh)), L.g2_loss(D2(xh))
        gc = L.gc_loss(Cx(F_(dxh)), cc)
        mg = L.mg_loss(dx[:n], dx[n:], dxh[:n], dxh[n:], self.mcfg.mg_alpha, self.mcfg.mg_reduction)
        loss = L.ecg_loss(g1, g2, mg, ec, gc)
        if self.cfg.fc_reuse_fakes:
            self._shared["ecg_fakes"] = (xh[:n].detach(), b.c)
        return loss, {"ecg": loss, "ec": ec, "g1": g1, "g2": g2, "gc": gc, "mg": mg}

    def loss_fc(self, b: Batch):
        """Eq. 10 on F, Cx: Cl on labelled x, Cg on fresh fakes, FG through frozen Df."""
        n = self.m
        x = b.x[:n]
        with torch.no_grad():  # F, Cx own nothing upstream of D's features
            if self.cfg.fc_reuse_fakes and "ecg_fakes" in self._shared:
                # saves one G forward (~1/9 of G's work per iteration) but departs from Algorithm 1
                # step 10 (fresh sample) and uses the fakes of G before its last update
                xh, c = self._shared.pop("ecg_fakes")
            else:
                (_, xh), c = self._generate(b.z[:n], b.c), b.c
            dx, dxh, dxl = self.nets["D"](torch.cat([x, xh, b.xl])).split(n)
        fx, fxh, fxl = self.nets["F"](torch.cat([dx, dxh, dxl])).split(n)
        lg_h, lg_l = self.nets["Cx"](torch.cat([fxh, fxl])).split(n)
        cl, cg = L.cl_loss(lg_l, b.yl), L.cg_loss(lg_h, c)
        fg = L.fg_loss(self.nets["Df"](fx, dx, x))
        loss = L.fc_loss(cl, cg, fg)
        return loss, {"fc": loss, "cl": cl, "cg": cg, "fg": fg}
